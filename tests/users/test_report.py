"""How ``reproduce`` writes: its files appear all together or not at all, each verdict of
REPORT.md flips where its number crosses the paper's, and the divide-and-conquer figure
reads its recursion off a real plan. (The run that writes every figure is tested in
``test_figures``.)"""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

import mini_bptt as mb
from mini_bptt import reproduce as reproduce_module
from mini_bptt.figures import verdicts
from mini_bptt.figures.divide_and_conquer import split_tree
from mini_bptt.oracle import trace_file
from mini_bptt.oracle.trace_file import staged_folder
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.reproduce import reproduce


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def fake_figure(name: str, fail: bool = False) -> types.ModuleType:
    module = types.ModuleType(f"mini_bptt.figures.{name}")

    def run(out: Path, quick: bool) -> dict:
        (out / f"{name}.csv").write_text(f"new {name}")
        if fail:
            raise RuntimeError(f"{name} failed")
        return {}

    module.run = run
    return module


@pytest.fixture
def fake_figures(monkeypatch):
    figures = (fake_figure("first"), fake_figure("second"))
    monkeypatch.setattr(reproduce_module, "FIGURES", figures)
    monkeypatch.setattr(reproduce_module, "_report", lambda r, files, *_: ", ".join(files))
    return figures


def test_a_figure_that_raises_leaves_the_previous_outputs(fake_figures, monkeypatch, tmp_path):
    folder = tmp_path / "output"
    folder.mkdir()
    (folder / "first.csv").write_text("old first")
    before = snapshot(folder)
    monkeypatch.setattr(reproduce_module, "FIGURES", (*fake_figures, fake_figure("third", True)))
    with pytest.raises(RuntimeError, match="third failed"):
        reproduce(folder)
    assert snapshot(folder) == before


def test_moving_the_files_in_is_all_or_nothing(fake_figures, monkeypatch, tmp_path):
    """Interrupted at each os.replace of the move (REPORT.md last), the folder holds its
    previous files, byte for byte; uninterrupted, every new one."""
    folder = tmp_path / "output"
    folder.mkdir()
    for name in ("first.csv", "REPORT.md", "unrelated.txt"):
        (folder / name).write_text(f"old {name}")
    before = snapshot(folder)
    real_replace, moved = os.replace, []

    def replace(source, target):
        moved.append(Path(target).name)
        if len(moved) == stop_at:
            raise KeyboardInterrupt
        real_replace(source, target)

    monkeypatch.setattr(trace_file.os, "replace", replace)
    for stop_at in range(1, 4):
        moved.clear()
        with pytest.raises(KeyboardInterrupt):
            reproduce(folder)
        assert snapshot(folder) == before, stop_at
    stop_at = 0
    moved.clear()
    reproduce(folder)
    assert moved == ["first.csv", "second.csv", "REPORT.md"]
    assert snapshot(folder) == {
        "REPORT.md": b"first.csv, second.csv",
        "first.csv": b"new first",
        "second.csv": b"new second",
        "unrelated.txt": b"old unrelated.txt",
    }


def test_a_staged_folder_is_removed_however_its_block_ends(tmp_path):
    with staged_folder(tmp_path / "made") as stage:
        assert stage.parent == tmp_path / "made" and stage.name.startswith(".")
    with pytest.raises(KeyboardInterrupt), staged_folder(tmp_path / "made") as stage:
        (stage / "a.csv").write_text("new")
        raise KeyboardInterrupt
    assert list((tmp_path / "made").iterdir()) == []


def test_near_is_reproduced_within_the_tolerance_and_not_beyond_the_loose_one():
    assert str(verdicts.near(1.36, 1.33, 0.05, 0.15, "x")).startswith("reproduced (1.36x")
    assert verdicts.near(1.28, 1.33, 0.05, 0.15).outcome == verdicts.REPRODUCED
    assert verdicts.near(1.40, 1.33, 0.05, 0.15).outcome == verdicts.DIFFERENT
    assert verdicts.near(1.26, 1.33, 0.05, 0.15).outcome == verdicts.DIFFERENT
    assert verdicts.near(1.49, 1.33, 0.05, 0.15).outcome == verdicts.NOT_REPRODUCED
    assert verdicts.near(1.17, 1.33, 0.05, 0.15).outcome == verdicts.NOT_REPRODUCED


def test_at_most_flips_at_its_limit():
    assert verdicts.at_most(1.0, 1, "ratio").outcome == verdicts.REPRODUCED
    assert verdicts.at_most(1.0001, 1, "ratio").outcome == verdicts.NOT_REPRODUCED
    assert str(verdicts.at_most(0.98, 1, "C / bound")) == "reproduced (C / bound 0.98 <= 1)"


def test_below_chen_tells_the_two_accountings_apart():
    assert verdicts.below_chen(0.69, 0.99, "m").outcome == verdicts.REPRODUCED
    assert verdicts.below_chen(0.69, 1.36, "m").outcome == verdicts.DIFFERENT
    assert verdicts.below_chen(0.69, 1.0, "m").outcome == verdicts.DIFFERENT
    assert verdicts.below_chen(1.0, 0.9, "m").outcome == verdicts.NOT_REPRODUCED
    assert str(verdicts.below_chen(1.2, 1.5, "m")).startswith("not reproduced: m 1.200")


def test_falls_needs_the_longest_below_the_shortest_by_the_tolerance():
    assert verdicts.falls([1.5, 1.4, 1.3], 0.03, "t").outcome == verdicts.REPRODUCED
    assert verdicts.falls([1.5, 1.6, 1.48], 0.03, "t").outcome == verdicts.DIFFERENT
    assert verdicts.falls([1.3, 1.4, 1.31], 0.03, "t").outcome == verdicts.NOT_REPRODUCED


def test_backed_by_needs_the_exact_claim_and_lets_the_noisy_check_only_qualify_it():
    count, noisy = verdicts.falls([2.3, 1.95], 0.02, "f"), verdicts.falls([1.4, 1.3], 0.03, "t")
    flat = verdicts.falls([2.3, 2.3], 0.02, "f")
    assert verdicts.backed_by(count, noisy).outcome == verdicts.REPRODUCED
    worse = verdicts.Verdict(verdicts.NOT_REPRODUCED, "t")
    assert verdicts.backed_by(count, worse).outcome == verdicts.DIFFERENT
    assert verdicts.backed_by(flat, noisy).outcome == verdicts.DIFFERENT
    rises = verdicts.falls([1.95, 2.3], 0.02, "f")
    assert verdicts.backed_by(rises, noisy).outcome == verdicts.NOT_REPRODUCED


@pytest.mark.parametrize("steps, memory", [(10, 3), (20, 4), (33, 5), (7, 7)])
def test_split_tree_parses_the_papers_hsm_plans(steps, memory):
    plan = mb.plan(steps, memory, strategy="hsm", model="paper")
    root = split_tree(plan)
    assert root.forwards == plan.forward_count == hsm_cost(steps, memory)
    for part in root.walk():
        assert part.forwards == hsm_cost(part.end - part.start, part.memory)
        if part.split is not None:
            right, left = part.children
            assert (right.start, right.end, right.memory) == (part.split, part.end, part.memory - 1)
            assert (left.start, left.end, left.memory) == (part.start, part.split, part.memory)


def test_split_tree_refuses_a_plan_of_another_shape():
    with pytest.raises(ValueError, match="expected"):
        split_tree(mb.plan(20, 6, alpha=2, strategy="msm"))
