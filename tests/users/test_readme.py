"""Every Python block of the README runs as written, and prints what the README says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks may write files (trace.json)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), {})
    assert printed.getvalue()  # each block shows its result


def test_the_readme_has_the_two_walkthroughs():
    assert len(BLOCKS) >= 2
    assert any("mb.Recorder" in block and "compare_gradients" in block for block in BLOCKS)


def test_the_ten_lines_print_what_their_comment_says(tmp_path, monkeypatch):
    """'1.975 forwards/step, 5%': the plan's forwards per step and the share of memory."""
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(BLOCKS[0], "README.md block 0", "exec"), {})
    per_step, share = (float(word) for word in printed.getvalue().split())
    assert "# 1.975 forwards/step, 5%" in BLOCKS[0]
    assert per_step == 1.975 and 0.049 < share <= 0.05


def test_the_export_block_prints_its_comment_lines(tmp_path, monkeypatch):
    """The checkpoint-schedules block prints exactly the lines written under it."""
    monkeypatch.chdir(tmp_path)
    (block,) = [block for block in BLOCKS if "to_checkpoint_schedule(" in block]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, "README.md export block", "exec"), {})
    shown = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    assert printed.getvalue().splitlines() == shown
