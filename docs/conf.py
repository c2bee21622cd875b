"""Sphinx configuration of mini_bptt's documentation site.

Build: pip install ".[docs]" && sphinx-build -W -b html docs docs/_build/html
The tutorials live in ../tutorials (the test run executes them too); they are copied here
when the build starts, and executed by myst-nb (cached in docs/_build/.jupyter_cache).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from mini_bptt import __version__  # noqa: E402
from mini_bptt.cli import build_parser  # noqa: E402

project = "mini_bptt"
author = "the mini_bptt developers"
copyright = "2026, the mini_bptt developers"
release = version = __version__

# MathJax is served with the site (sphinx-mathjax-offline), so the maths renders offline too
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "cache"
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_merge_streams = True
exclude_patterns = ["_build", "README.md", "headline.md", "tutorials/notebooks"]
html_theme = "furo"
html_title = f"mini_bptt {release}"
html_static_path: list[str] = []
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
suppress_warnings = ["mystnb.unknown_mime_type"]


def _copy_tutorials() -> None:
    """The notebooks, as pages (generated, ignored by git), each opening with a link to
    download the notebook as it is in the repository (kept apart in ``notebooks/``)."""
    target = HERE / "tutorials"
    originals = target / "notebooks"
    originals.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "tutorials").glob("*.py")):  # the exercises' checkers
        shutil.copyfile(path, target / path.name)
        shutil.copyfile(path, originals / path.name)
    for path in sorted((ROOT / "tutorials").glob("*.ipynb")):
        shutil.copyfile(path, originals / path.name)
        notebook = json.loads(path.read_text(encoding="utf-8"))
        link = (
            f"{{download}}`Download this notebook <notebooks/{path.name}>`, with "
            "{download}`exercises.py <notebooks/exercises.py>` beside it (its exercises' "
            "checkers), to run it in Jupyter."
        )
        cell = {"cell_type": "markdown", "id": "download", "metadata": {}, "source": [link]}
        notebook["cells"].insert(0, cell)
        (target / path.name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _write_headline() -> None:
    """The home page's measured headline, from the last ``mini-bptt reproduce``: the LSTM
    run whose bytes are 95% below full BPTT's (the paper's claim), its time against full."""
    with open(ROOT / "paper_figures" / "output" / "lstm_experiment.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    point = max(
        (row for row in rows if float(row["bytes_over_full"]) <= 0.05),
        key=lambda row: float(row["bytes_over_full"]),
    )
    steps = round(int(point["forward_count"]) / float(point["forward_per_step"]))
    text = (
        f"**Measured here** (the last `mini-bptt reproduce`, an LSTM at T = {steps}): at a "
        f"budget of {point['budget']} of full BPTT's peak, BPTT-MSM held "
        f"{100 * (1 - float(point['bytes_over_full'])):.1f}% less memory than full BPTT "
        f"(tracemalloc's peak) and took {float(point['time_over_full']):.2f} times its time "
        f"per iteration ({float(point['time_over_full_freed_memory_kept']):.2f} times when "
        "the allocator keeps freed memory)."
    )
    (HERE / "headline.md").write_text(text + "\n", encoding="utf-8")


def _write_cli_reference() -> None:
    """Every subcommand's --help, as one page (generated, so it never goes stale)."""
    parser = build_parser()
    lines = [
        "# Command line",
        "",
        "`mini-bptt` (or `python -m mini_bptt`). A bad argument exits 2 with one line on",
        "stderr that names it; `check` exits 1 for an invalid trace.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
    ]
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, sub in subparsers.choices.items():
        lines += ["", f"## mini-bptt {name}", "", "```text", sub.format_help().rstrip(), "```"]
    (HERE / "cli.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


_copy_tutorials()
_write_headline()
_write_cli_reference()


def _write_api_reference() -> None:
    """One entry per public name of mini_bptt, and the pictures of mini_bptt.viz."""
    import mini_bptt as mb

    lines = [
        "# API reference",
        "",
        "Everything in `mini_bptt.__all__`, then `mini_bptt.viz` and the hooks that log a",
        "PyTorch or JAX loop (they import torch or jax only when used). Examples in the",
        "docstrings are run by the test suite.",
        "",
    ]
    for name in mb.__all__:
        thing = getattr(mb, name)
        if name == "__version__":
            lines += [f"## `{name}`", "", f"`{thing}`", ""]
        elif isinstance(thing, type):
            lines += [
                f"## `{name}`",
                "",
                f"```{{eval-rst}}\n.. autoclass:: mini_bptt.{name}\n   :members:\n```",
                "",
            ]
        elif callable(thing):
            lines += [
                f"## `{name}`",
                "",
                f"```{{eval-rst}}\n.. autofunction:: mini_bptt.{name}\n```",
                "",
            ]
        else:
            lines += [f"## `{name}`", "", f"`{thing!r}`", ""]
    lines += [
        "## `mini_bptt.viz`",
        "",
        "```{eval-rst}\n.. automodule:: mini_bptt.viz\n   :members:\n   :imported-members:\n```",
        "",
    ]
    for framework in ("torch", "jax"):
        lines += [
            f"## `mini_bptt.oracle.{framework}_hooks.CallLog`",
            "",
            f"```{{eval-rst}}\n.. autoclass:: mini_bptt.oracle.{framework}_hooks.CallLog\n"
            "   :members:\n   :inherited-members:\n```",
            "",
        ]
    (HERE / "api.md").write_text("\n".join(lines), encoding="utf-8")


_write_api_reference()
