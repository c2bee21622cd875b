"""``reproduce --quick`` writes every figure, and every number in its CSVs is what the
library computes (nothing typed by hand)."""

from __future__ import annotations

import csv
import math
import os
import shutil
import types
from fractions import Fraction
from pathlib import Path

import pytest

import mini_bptt as mb
from mini_bptt import reproduce as reproduce_module
from mini_bptt.figures import FIGURES
from mini_bptt.figures.bounds import a_bound
from mini_bptt.oracle import trace_file
from mini_bptt.oracle.trace_file import staged_folder
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.reproduce import reproduce
from mini_bptt.viz import memory_timeline
from tests.oracle.test_executor import saved_bound, working_set

CALLS: list[tuple] = []  # the progress reports of the module's one quick run


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("figures")
    reproduce(folder, quick=True, progress=lambda *args: CALLS.append(args))
    finished = [c for c in CALLS if c[4] is None]
    assert [c[0] for c in finished] == list(range(1, len(FIGURES) + 1))
    return folder


def rows(out: Path, name: str) -> list[dict]:
    with open(out / f"{name}.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_figure_and_the_report_exist(out):
    for module in FIGURES:
        name = module.__name__.rsplit(".", 1)[1]
        assert (out / f"{name}.png").stat().st_size > 10_000, name
        assert rows(out, name), name
    report = (out / "REPORT.md").read_text()
    assert "cores" in report  # the machine it ran on


def test_report_is_written_last_and_lists_the_files_of_its_run(out):
    report = (out / "REPORT.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("Files of this run"))
    listed = {name.strip("`., ") for name in line.split(": ", 1)[1].split(", ")}
    assert listed == {p.name for p in out.iterdir()} - {"REPORT.md"}
    newest = max(out.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert newest.name == "REPORT.md"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_the_lstm_stage_reports_each_run_with_a_total_that_ends_exact(out):
    parts = [c for c in CALLS if c[4] is not None]
    assert parts and {c[2] for c in parts} == {"lstm_experiment"}
    index = [m.__name__.rsplit(".", 1)[1] for m in FIGURES].index("lstm_experiment")
    assert {c[0] for c in parts} == {index} and {c[1] for c in parts} == {len(FIGURES)}
    runs = [c[4] for c in parts]
    assert [done for done, _ in runs] == list(range(1, len(runs) + 1))  # one report per run
    assert runs[-1][0] == runs[-1][1]  # the estimate became the count
    assert all(done <= total for done, total in runs)
    seconds = [c[3] for c in parts]
    assert seconds == sorted(seconds)  # time since the figure started


@pytest.mark.parametrize(
    "case",
    [
        "the point is one of the budgets",
        pytest.param("no freed memory kept", marks=pytest.mark.slow),
    ],
)
def test_the_lstm_total_becomes_exact_when_the_sweep_differs_from_the_guess(
    tmp_path, monkeypatch, case
):
    from mini_bptt.figures import lstm_experiment

    if case == "no freed memory kept":  # no warm-up round, no second timing
        monkeypatch.setattr(lstm_experiment, "keep_freed_memory", lambda: False)
    else:  # one run fewer in each round
        real = lstm_experiment.point_of_95_percent

        def point_of_95_percent(*args):
            _, held = real(*args)
            return "5%", {"5%": held["5%"]}

        monkeypatch.setattr(lstm_experiment, "point_of_95_percent", point_of_95_percent)
    calls = []
    lstm_experiment.run(tmp_path, True, progress=lambda done, total: calls.append((done, total)))
    assert [done for done, _ in calls] == list(range(1, len(calls) + 1))
    assert calls[-1][0] == calls[-1][1] < calls[0][1]  # fewer than guessed, and counted


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def previous_run(out: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A copy of the module's run, each file marked so that a new one over it would show
    (the figures are deterministic: a new run writes the same bytes)."""
    folder = tmp_path / "output"
    shutil.copytree(out, folder)
    for path in folder.iterdir():
        path.write_bytes(b"previous run " + path.read_bytes())
    return folder, snapshot(folder)


@pytest.mark.parametrize(
    "stop", ["after the first figure", pytest.param("during the LSTM runs", marks=pytest.mark.slow)]
)
def test_an_interrupted_reproduce_leaves_the_previous_outputs_as_they_were(out, tmp_path, stop):
    folder, before = previous_run(out, tmp_path)

    def progress(done, total, name, seconds, part):
        if stop == "after the first figure" or part is not None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reproduce(folder, quick=True, progress=progress)
    assert snapshot(folder) == before  # no file new, changed or removed; no staging folder


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


def test_report_quotes_the_numbers_measured(out):
    """The report's numbers are the ones computed here, not text of its template."""
    import re

    report = (out / "REPORT.md").read_text()
    line = next(x for x in report.splitlines() if "(optimal)" in x and "(paper's recursion)" in x)
    steps = int(re.search(r"T = (\d+)", line).group(1))
    optimal = mb.cost(steps, "5%", alpha=5) / steps
    paper = mb.cost(steps, "5%", alpha=5, model="paper") / steps
    assert f"{optimal:.3f} (optimal), {paper:.3f} (paper's recursion)" in line
    table = rows(out, "lstm_experiment")
    five, point = {r["budget"]: r for r in table}["5%"], table[0]  # the 95% point comes first
    saved = 100 * round(1 - float(five["bytes_over_full"]), 4)  # as the figure rounds it
    assert f"{saved:.1f}% less (tracemalloc peak) at a 5% budget" in report
    assert float(point["bytes_over_full"]) <= 0.05  # the point holds 95% less, measured
    saved = 100 * round(1 - float(point["bytes_over_full"]), 4)
    assert f"95% less at a {point['budget']} budget ({saved:.1f}% measured)" in report
    ratio = round(float(point["time_over_full"]), 3)
    assert f"at {point['budget']}: {ratio:.2f}x measured (default malloc)" in report
    ratio = round(float(five["time_over_full"]), 3)
    assert f"At 5%: {ratio:.2f}x" in report


def test_hsm_csv(out):
    for row in rows(out, "hsm_cost_vs_memory"):
        steps, memory = int(row["steps"]), int(row["memory"])
        assert int(row["forward_count"]) == mb.cost(steps, memory, strategy="hsm")
    for row in rows(out, "hsm_cost_vs_memory_chen"):
        plan = mb.plan(int(row["steps"]), "100%", strategy="chen")
        assert float(row["memory"]) == plan.peak_memory
        assert float(row["forward_per_step"]) == plan.forward_count / plan.steps


def test_strategies_csv(out):
    table = rows(out, "strategies")
    assert {r["strategy"] for r in table} == {"hsm", "ism", "msm"}
    for row in table:
        steps = round(int(row["forward_count"]) / float(row["forward_per_step"]))
        expected = mb.cost(
            steps,
            int(row["memory"]),
            alpha=int(row["alpha"]),
            strategy=row["strategy"],
            model=row["model"],
        )
        assert int(row["forward_count"]) == expected


def test_memory_at_fixed_cost_csv(out):
    for row in rows(out, "memory_at_fixed_cost"):
        steps, memory, alpha = int(row["steps"]), int(row["memory"]), 1 + int(row["beta"])
        kwargs = dict(alpha=alpha, model=row["model"])
        assert mb.cost(steps, memory, **kwargs) <= 2 * steps
        assert memory == 1 or mb.cost(steps, memory - 1, **kwargs) > 2 * steps
        chen = math.sqrt(steps) * alpha
        assert float(row["chen_memory"]) == round(chen, 4)
        assert float(row["ratio"]) == pytest.approx(memory / chen, rel=1e-12)


def test_cost_at_chen_memory_csv(out):
    for row in rows(out, "cost_at_chen_memory"):
        steps, alpha = int(row["steps"]), 1 + int(row["beta"])
        memory = math.sqrt(steps) * alpha
        assert float(row["memory"]) == round(memory, 4)
        assert int(row["msm_forward_count"]) == mb.cost(steps, memory, alpha=alpha)
        chen = mb.plan(steps, "100%", alpha=alpha, strategy="chen")
        assert float(row["chen_forward_per_step"]) == chen.forward_count / steps


def test_bounds_csv(out):
    for row in rows(out, "bounds"):
        t, m = int(row["t"]), int(row["m"])
        assert int(row["exact"]) == hsm_cost(t, m)
        assert float(row["bound_m_t_pow"]) == round(m * t ** (1 + 1 / m), 3)
        expected = a_bound(t, m)
        assert row["bound_a_plus_1"] == ("" if expected is None else str(expected))
        assert int(row["exact"]) <= float(row["bound_m_t_pow"]) + 1e-3


def test_policies_csv(out):
    table = rows(out, "policies")
    assert len({r["memory"] for r in table}) == 1  # one budget: the panels compare
    for strategy in ("hsm", "ism", "msm"):
        mine = [r for r in table if r["strategy"] == strategy]
        plan = mb.plan(40, int(mine[0]["memory"]), alpha=2, strategy=strategy)
        assert [(r["op"], int(r["step"])) for r in mine] == [(a.op, a.step) for a in plan.actions]
        assert [float(r["memory_after"]) for r in mine] == memory_timeline(plan)


def test_lstm_experiment_csv(out):
    table = {r["budget"]: r for r in rows(out, "lstm_experiment")}
    cell = mb.LSTMCell(16, 32, seed=0)
    state_bytes = cell.zero_state(8).nbytes  # quick run: batch 8, hidden 32
    for budget in ("5%", "10%", "20%", "50%"):
        plan = mb.plan(200, budget, alpha=cell.alpha)
        assert int(table[budget]["forward_count"]) == plan.forward_count
        assert float(table[budget]["peak_memory_units"]) == plan.peak_memory
        traced = int(table[budget]["tracemalloc_peak_bytes"])
        assert (plan.peak_memory - 1) * state_bytes <= traced
        assert traced <= saved_bound(plan.peak_memory, state_bytes) + working_set(cell, state_bytes)
    full = table["full BPTT"]
    assert int(full["forward_count"]) == 200
    assert float(full["peak_memory_units"]) == float(1 + Fraction(9, 2) * 199)
    for row in table.values():
        ratio = int(row["tracemalloc_peak_bytes"]) / int(full["tracemalloc_peak_bytes"])
        assert float(row["bytes_over_full"]) == pytest.approx(ratio, rel=1e-12)
        for suffix in ("", "_freed_memory_kept"):  # seconds are written rounded to 0.1 ms
            seconds = float(row["seconds" + suffix]) / float(full["seconds" + suffix])
            assert float(row["time_over_full" + suffix]) == pytest.approx(seconds, abs=0.05)


def test_plan_show_writes_a_picture_without_display(tmp_path, monkeypatch, capsys):
    from mini_bptt.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    assert main(["plan", "30", "4", "--alpha", "2", "--show"]) == 0
    assert (tmp_path / "mini-bptt-plan.png").stat().st_size > 10_000
    assert "wrote mini-bptt-plan.png" in capsys.readouterr().out
