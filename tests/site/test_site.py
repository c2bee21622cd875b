"""The built documentation site: executed tutorials, every public name, the animation.

Run after the docs build, with the site's folder in MINI_BPTT_SITE (``.ci/run`` does):

    sphinx-build -W -b html docs docs/_build/html
    MINI_BPTT_SITE=docs/_build/html python -m pytest tests/site -p no:nbmake -o addopts=
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import mini_bptt as mb

SITE = os.environ.get("MINI_BPTT_SITE")
pytestmark = pytest.mark.skipif(not SITE, reason="needs a built site: MINI_BPTT_SITE=<html dir>")
TUTORIALS = sorted(p.stem for p in (Path(__file__).parents[2] / "tutorials").glob("*.ipynb"))


def page(name: str) -> str:
    return (Path(SITE) / f"{name}.html").read_text(encoding="utf-8")


def test_there_are_eight_tutorials():
    assert len(TUTORIALS) == 8


@pytest.mark.parametrize("name", TUTORIALS)
def test_every_tutorial_page_shows_its_executed_figures(name):
    """Each cell that draws (plt.show() or viz.show_plan) left an image on the page."""
    source = Path(__file__).parents[2] / "tutorials" / f"{name}.ipynb"
    cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
    figures = sum(
        any(call in "".join(cell["source"]) for call in ("plt.show()", "viz.show_plan("))
        for cell in cells
        if cell["cell_type"] == "code"
    )
    html = page(f"tutorials/{name}")
    images = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert figures >= 1 and len(images) >= figures, (name, figures, images)
    for image in images:  # files next to the page, or data inline
        assert image.startswith("data:") or (Path(SITE) / "tutorials" / image).is_file()


def test_the_api_page_lists_every_public_name():
    html = page("api")
    headings = re.findall(r'<h2><code[^>]*><span class="pre">([^<]+)</span>', html)
    assert set(mb.__all__) <= set(headings)
    for name in mb.__all__:  # and the documentation of each class and function
        if callable(getattr(mb, name)):
            assert f'id="mini_bptt.{name}"' in html, name


def test_the_animation_page_holds_the_javascript_animation():
    html = page("animation")
    assert 'class="animation"' in html and "new Animation(" in html
    assert "font-awesome" not in html  # its player's buttons need no network
    frames = re.findall(r"frames\[\d+\] = \"data:image/png;base64", html)
    plan = mb.plan(12, 5, alpha=2, strategy="msm")
    assert len(frames) == len(plan.actions)


def test_the_site_has_the_pages_of_the_reference():
    for name in ("index", "install", "model", "figures", "testing", "cli", "api"):
        assert page(name)
    assert "mini-bptt run" in page("cli") and "--animate" in page("cli")
    assert "95% less" in page("figures")  # REPORT.md, included


def test_the_maths_renders_without_a_network():
    html = page("tutorials/03_dynamic_programming")
    sources = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', html, re.I)
    assert sources and not any(s.startswith(("http:", "https:", "//")) for s in sources)
    assert "$$" in json.dumps(html) or "\\[" in html  # display maths reached the page


def visible_text(html: str) -> str:
    """The prose of a page: no scripts or styles, no rendered maths, no code."""
    html = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<(span|div) class="math[^"]*">.*?</\1>', " MATH ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_no_page_leaves_maths_delimiters_in_its_prose():
    """A ``$`` or a raw ``\\(`` outside the maths the site renders is maths that did not
    render (display maths inside a list item came out as ``$MATH$``)."""
    left = {}
    for path in sorted(Path(SITE).rglob("*.html")):
        text = visible_text(path.read_text(encoding="utf-8"))
        found = re.search(r".{0,60}(\$|\\\(|\\\[).{0,60}", text, flags=re.S)
        if found:
            left[str(path.relative_to(SITE))] = found.group(0)
    assert not left, left


@pytest.mark.parametrize("name", TUTORIALS)
def test_every_tutorial_page_links_its_notebook_for_download(name):
    """The link downloads the notebook as it is in the repository, not the page's copy."""
    html = page(f"tutorials/{name}")
    links = re.findall(rf'href="(\.\./_downloads/[0-9a-f]+/{name}\.ipynb)"', html)
    assert links, name
    downloaded = (Path(SITE) / "tutorials" / links[0]).resolve()
    source = Path(__file__).parents[2] / "tutorials" / f"{name}.ipynb"
    assert downloaded.read_bytes() == source.read_bytes()


def test_the_home_page_states_the_measured_headline():
    """The numbers of the 95%-memory point of the last ``mini-bptt reproduce``."""
    output = Path(__file__).parents[2] / "paper_figures" / "output" / "lstm_experiment.csv"
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    point = max(
        (row for row in rows if float(row["bytes_over_full"]) <= 0.05),
        key=lambda row: float(row["bytes_over_full"]),
    )
    text = re.sub(r"<[^>]+>", "", page("index"))
    less = f"{100 * (1 - float(point['bytes_over_full'])):.1f}% less memory"
    slower = f"took {float(point['time_over_full']):.2f} times its time"
    assert less in text and slower in text and f"budget of {point['budget']}" in text


def rendered(url: str) -> str:
    """The page's DOM after its scripts ran, in headless Chromium."""
    done = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium (Debian's package)")
def test_the_budget_slider_moves_without_a_kernel():
    """Tutorial 03's slider, opened at its two ends (``#budget=M``, as a move sets it): the
    line and the picture change, and the line states the optimal plan at that budget."""
    url = (Path(SITE) / "tutorials" / "03_dynamic_programming.html").resolve().as_uri()
    seen = {}
    for memory in (1, 40):  # h[0] alone, and full BPTT's peak at T = 40
        dom = rendered(f"{url}#budget={memory}")
        line = re.search(r'class="budget-slider-text">([^<]*)<', dom).group(1)
        image = re.search(r'<img alt="the optimal plan at this budget" src="([^"]+)"', dom)
        seen[memory] = (line, image.group(1))
        plan = mb.plan(40, memory, strategy="hsm")
        counts = f"{plan.forward_count} forwards, peak {plan.peak_memory} units"
        assert line == f"{memory} units: {counts}"
    assert seen[1][1] != seen[40][1]  # another picture


# The glossary: every word of the site once, each term an anchor (``glossary.html#term-...``)
# that the other pages link to with MyST's {term} role.
GLOSSARY = "glossary.html"
LINKED_FROM = ("animation.html", "model.html")
# notebooks link the page with a plain Markdown link, which Jupyter shows as a link too (a
# {term} role would show as raw text there)
NOTEBOOK_LINKS_FROM = "tutorials/02_memory_vs_compute"


def glossary_links(site: Path) -> dict[str, list[str]]:
    """Every link on the site into the glossary with a fragment, by page (its path under
    the site): the fragments, ``term-cursor`` for ``../glossary.html#term-cursor``. A
    ``#term-...`` link on the glossary page itself counts too."""
    from html import unescape
    from urllib.parse import unquote, urlsplit

    links: dict[str, list[str]] = {}
    for path in sorted(site.rglob("*.html")):
        name = path.relative_to(site).as_posix()
        for href in re.findall(r'href="([^"]*)"', path.read_text(encoding="utf-8")):
            parts = urlsplit(unescape(href))
            if parts.scheme or parts.netloc or not parts.fragment:
                continue
            target = name
            if parts.path:
                target = os.path.normpath(os.path.join(os.path.dirname(name), parts.path))
            if target == GLOSSARY:
                links.setdefault(name, []).append(unquote(parts.fragment))
    return links


def broken_glossary_links(site: Path) -> list[tuple[str, str]]:
    """(page, fragment) of each link into the glossary whose fragment is no id there."""
    ids = set(re.findall(r'\bid="([^"]+)"', (site / GLOSSARY).read_text(encoding="utf-8")))
    return [
        (name, fragment)
        for name, fragments in glossary_links(site).items()
        for fragment in fragments
        if fragment not in ids
    ]


def defined_terms(site: Path) -> list[tuple[str, str, str]]:
    """(page, anchor, term) of every term of a glossary (``<dl class="glossary">``) on the
    site, in page order; the anchor is "" for a term without one."""
    found = []
    for path in sorted(site.rglob("*.html")):
        name = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r'<dl class="[^"]*\bglossary\b[^"]*">(.*?)</dl>', text, re.S):
            for attributes, inner in re.findall(r"<dt\b([^>]*)>(.*?)</dt>", block, re.S):
                anchor = re.search(r'\bid="([^"]*)"', attributes)
                inner = re.sub(r'<a class="headerlink".*?</a>', "", inner, flags=re.S)
                term = " ".join(re.sub(r"<[^>]+>", " ", inner).split())
                found.append((name, anchor.group(1) if anchor else "", term))
    return found


def terms_defined_twice(site: Path) -> list[str]:
    """Terms (or anchors) defined more than once, or on a page other than the glossary."""
    terms = defined_terms(site)
    twice = [t for name, _, t in terms if name != GLOSSARY]
    for key in (lambda t: t[1], lambda t: t[2].casefold()):
        keys = [key(t) for t in terms]
        twice += sorted({k for k in keys if keys.count(k) > 1})
    return twice


def test_every_link_into_the_glossary_resolves():
    site = Path(SITE)
    links = glossary_links(site)
    assert sum(len(fragments) for fragments in links.values()) >= 20  # the check is not idle
    assert not broken_glossary_links(site)


def test_the_glossary_is_linked_where_its_words_are_first_met():
    links = glossary_links(Path(SITE))
    for name in LINKED_FROM:
        assert any(f.startswith("term-") for f in links.get(name, [])), name
    assert "../glossary.html" in re.findall(r'href="([^"#]*)"', page(NOTEBOOK_LINKS_FROM))
    assert GLOSSARY in re.findall(r'href="([^"#]*)"', page("index"))  # in the table of contents


def test_no_term_is_defined_twice():
    terms = defined_terms(Path(SITE))
    words = {t.casefold() for _, _, t in terms}
    assert len(terms) >= 40 and {"cursor", "core", "grain", "departure", "anchor"} <= words
    assert not terms_defined_twice(Path(SITE))


def test_the_glossary_checks_fail_on_a_broken_site(tmp_path):
    """A copy of the built pages with one link broken, and one with a term defined twice:
    the checks above find each."""
    site = Path(SITE)
    shutil.copyfile(site / GLOSSARY, tmp_path / GLOSSARY)
    animation = page("animation")
    link = re.search(r'href="glossary\.html#(term-[^"]+)"', animation)
    broken = animation.replace(link.group(0), 'href="glossary.html#term-no-such-word"', 1)
    (tmp_path / "animation.html").write_text(broken, encoding="utf-8")
    assert broken_glossary_links(tmp_path) == [("animation.html", "term-no-such-word")]
    assert not terms_defined_twice(tmp_path)

    glossary = page("glossary")
    first = re.search(r'<dt\b[^>]*\bid="term-[^"]+"[^>]*>.*?</dt>', glossary, flags=re.S)
    again = re.sub(r'\bid="[^"]+"', 'id="term-0"', first.group(0), count=1)  # as Sphinx does
    twice = glossary.replace(first.group(0), first.group(0) + again, 1)
    (tmp_path / GLOSSARY).write_text(twice, encoding="utf-8")
    assert terms_defined_twice(tmp_path)
