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


def test_there_are_seven_tutorials():
    assert len(TUTORIALS) == 7


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
