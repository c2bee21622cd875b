"""The repository stands on its own: its rules are in docs/model.md, which covers every rule
the replay enforces, and nothing cites notes that a user cannot open."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import mini_bptt as mb

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "docs" / "model.md"
# built in pieces so that this file does not match itself
TEAM_NOTES = re.compile(
    r"\b"
    + "SP"
    + r"EC\b( section)? ?\d|"
    + r"\b"
    + "ST"
    + r"YLE\b( principle)? ?\d|"
    + "SP"
    + r"EC\.md|"
    + "ST"
    + r"YLE\.md|\.\./"
    + "shared"
)


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / n for n in names if not n.endswith((".png", ".gif", ".csv"))]


def test_nothing_cites_the_team_notes():
    cited = [
        str(path.relative_to(ROOT))
        for path in tracked_text_files()
        if path.is_file() and TEAM_NOTES.search(path.read_text(errors="replace"))
    ]
    assert cited == []


def test_the_model_page_has_a_row_for_every_op_and_every_other_rule():
    text = MODEL.read_text()
    for op in mb.OPS:
        assert re.search(rf"^\| `{op} i` \|", text, re.M), op
    for rule in ["the budget", "all `T` backward actions", "a step is an integer", "0..T"]:
        assert rule in text, rule


def test_the_package_cites_the_paper():
    assert "arXiv:1606.03401" in mb.__doc__
    assert "1606.03401" in (ROOT / "CITATION.cff").read_text()
