"""``reproduce --quick`` writes every figure, every number in its CSVs is what the
library computes (nothing typed by hand), and every verdict of REPORT.md follows from
the numbers it judges."""

from __future__ import annotations

import copy
import csv
import math
import re
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

import mini_bptt as mb
from mini_bptt import reproduce as reproduce_module
from mini_bptt.figures import FIGURES, verdicts
from mini_bptt.figures.bounds import a_bound
from mini_bptt.figures.claims import claims
from mini_bptt.figures.verdicts import OUTCOMES
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.reproduce import reproduce
from mini_bptt.viz import memory_timeline
from tests.oracle.test_executor import saved_bound, working_set
from tests.users.test_report import snapshot

CALLS: list[tuple] = []  # the progress reports of the module's one quick run
RESULTS: dict = {}  # what each figure of that run returned, as REPORT.md was written from


# Every test of the module's one quick run is slow: the run takes seconds. The figure
# modules and the report have their own fast tests (test_report.py, and below).
@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("figures")
    written = reproduce_module._report

    def report(results, *args):
        RESULTS.update(copy.deepcopy(results))
        return written(results, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reproduce_module, "_report", report)
        reproduce(folder, quick=True, progress=lambda *args: CALLS.append(args))
    finished = [c for c in CALLS if c[4] is None]
    assert [c[0] for c in finished] == list(range(1, len(FIGURES) + 1))
    return folder


def rows(out: Path, name: str) -> list[dict]:
    with open(out / f"{name}.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_every_figure_and_the_report_exist(out):
    names = [module.__name__.rsplit(".", 1)[1] for module in FIGURES]
    for name in [*names, "lstm_lengths"]:
        png = (out / f"{name}.png").read_bytes()
        assert len(png) > 10_000, name
        assert png.startswith(b"\x89PNG") and b"Software\x00Matplotlib" in png[:200], name
        assert rows(out, name), name
    assert rows(out, "bounds_table")
    report = (out / "REPORT.md").read_text()
    assert "cores" in report  # the machine it ran on


HEADER = "| paper | the paper says | we measure | verdict | output |"
WHERE = re.compile(
    r"(Fig\. \d+(, (left|right))? \(§\d+\)|§\d+(, §\d+)*( \(implied\))?)(, abstract)?"
)


def report_table(out: Path) -> list[list[str]]:
    """The cells of REPORT.md's table of claims, one list per row."""
    lines = (out / "REPORT.md").read_text().splitlines()
    start = lines.index(HEADER) + 2
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[start:end]]


@pytest.mark.slow
def test_every_report_row_names_the_paper_figure_and_a_verdict(out):
    table = report_table(out)
    assert len(table) == len(claims(RESULTS)) >= 20
    for where, says, measure, verdict, output in table:
        assert WHERE.fullmatch(where), where
        assert says and measure
        assert verdict.startswith(OUTCOMES), verdict
        assert (out / output.strip("`")).stat().st_size > 10_000
    assert {row[0].split(" (")[0] for row in table} >= {"Fig. 1", "Fig. 2", "Fig. 5"}
    counted = {
        o: sum(row[3].startswith(o + (" (" if o == "reproduced" else ":")) for row in table)
        for o in OUTCOMES
    }
    summary = f"{len(table)} claims: " + ", ".join(f"{n} {o}" for o, n in counted.items())
    assert summary + "." in (out / "REPORT.md").read_text()


def verdict_of(results: dict, where: str, says: str) -> str:
    (row,) = [c for c in claims(results) if c.where == where and c.says.startswith(says)][:1]
    return str(row.verdict)


@pytest.mark.parametrize(
    "figure, key, good, bad, where, says",
    [
        ("lstm_experiment", "time_ratio_at_5%", 1.34, 1.9, "§8, abstract", "..."),
        ("lstm_experiment", "memory_saved_at_5%", 0.948, 0.6, "§8, abstract", "LSTM"),
        ("hsm_cost_vs_memory", "chen_T1000_forward_per_step", 2.01, 3.0, "Fig. 2 (§3)", "Chen"),
        ("divide_and_conquer", "parts_off_the_recursion", 0, 2, "Fig. 1 (§3)", "An optimal"),
        ("bounds", "largest_exact_over_a_bound", 0.99, 1.01, "§6", "t < m^a"),
    ],
)
@pytest.mark.slow
def test_a_report_verdict_flips_with_its_measurement(out, figure, key, good, bad, where, says):
    """The verdicts REPORT.md prints are computed from the results, not typed."""
    results = copy.deepcopy(RESULTS)
    results[figure][key] = good
    assert verdict_of(results, where, says).startswith("reproduced (")
    results[figure][key] = bad
    assert verdict_of(results, where, says).startswith("not reproduced: ")


@pytest.mark.slow
def test_a_chen_verdict_follows_both_accountings(out):
    results = copy.deepcopy(RESULTS)
    fixed = results["memory_at_fixed_cost"]
    fixed["ratio_by_beta"][0], fixed["ratio_to_chen_plan_by_beta"][0] = 0.9, 0.6
    assert verdict_of(results, "Fig. 6, left (§7)", "For 2").startswith("reproduced (")
    fixed["ratio_by_beta"][0] = 1.36  # the paper's sqrt(t)(1 + beta) only
    assert verdict_of(results, "Fig. 6, left (§7)", "For 2").startswith(verdicts.DIFFERENT)
    fixed["ratio_to_chen_plan_by_beta"][0] = 1.05
    assert verdict_of(results, "Fig. 6, left (§7)", "For 2").startswith("not reproduced")


@pytest.mark.slow
def test_the_report_explains_chens_memory_with_the_numbers_of_its_run(out):
    report = (out / "REPORT.md").read_text()
    section = report.split("## Chen's memory, counted two ways (the beta = 0 rows)")[1]
    section = section.split("\n## ")[0]
    steps = RESULTS["memory_at_fixed_cost"]["steps"]
    for beta in (0, 1, 4, 9):
        peak = mb.plan(steps, "100%", alpha=1 + beta, strategy="chen").peak_memory
        assert f" {peak}," in section or f" {peak} units" in section
    fewest = mb.cost(steps, math.sqrt(steps), alpha=1) / steps
    assert f"needs are {fewest:.3f} per step (more than Chen's own cost)" in section


@pytest.mark.slow
def test_report_is_written_last_and_lists_the_files_of_its_run(out):
    report = (out / "REPORT.md").read_text()
    line = next(x for x in report.splitlines() if x.startswith("Files of this run"))
    listed = {name.strip("`., ") for name in line.split(": ", 1)[1].split(", ")}
    assert listed == {p.name for p in out.iterdir()} - {"REPORT.md"}
    newest = max(out.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert newest.name == "REPORT.md"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging folder left


@pytest.mark.slow
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
        pytest.param("the point is one of the budgets", marks=pytest.mark.slow),
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
@pytest.mark.slow
def test_an_interrupted_reproduce_leaves_the_previous_outputs_as_they_were(out, tmp_path, stop):
    folder, before = previous_run(out, tmp_path)

    def progress(done, total, name, seconds, part):
        if stop == "after the first figure" or part is not None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reproduce(folder, quick=True, progress=progress)
    assert snapshot(folder) == before  # no file new, changed or removed; no staging folder


@pytest.mark.slow
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
    ratio = round(float(five["time_over_full"]), 3)
    assert f"at 5%: {ratio:.2f}x measured (default malloc)" in report
    ratio = round(float(point["time_over_full"]), 3)
    assert f"At {point['budget']}: {ratio:.2f}x" in report


@pytest.mark.slow
def test_hsm_csv(out):
    for row in rows(out, "hsm_cost_vs_memory"):
        steps, memory = int(row["steps"]), int(row["memory"])
        assert int(row["forward_count"]) == mb.cost(steps, memory, strategy="hsm")
    for row in rows(out, "hsm_cost_vs_memory_chen"):
        plan = mb.plan(int(row["steps"]), "100%", strategy="chen")
        assert float(row["memory"]) == plan.peak_memory
        assert float(row["forward_per_step"]) == plan.forward_count / plan.steps


@pytest.mark.slow
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


@pytest.mark.slow
def test_memory_at_fixed_cost_csv(out):
    for row in rows(out, "memory_at_fixed_cost"):
        steps, memory, alpha = int(row["steps"]), int(row["memory"]), 1 + int(row["beta"])
        kwargs = dict(alpha=alpha, model=row["model"])
        assert mb.cost(steps, memory, **kwargs) <= 2 * steps
        assert memory == 1 or mb.cost(steps, memory - 1, **kwargs) > 2 * steps
        chen = math.sqrt(steps) * alpha
        assert float(row["chen_memory"]) == round(chen, 4)
        assert float(row["ratio"]) == pytest.approx(memory / chen, rel=1e-12)
        peak = mb.plan(steps, "100%", alpha=alpha, strategy="chen").peak_memory
        assert float(row["chen_plan_memory"]) == peak
        assert float(row["ratio_to_chen_plan"]) == pytest.approx(memory / peak, rel=1e-12)


@pytest.mark.slow
def test_cost_at_chen_memory_csv(out):
    for row in rows(out, "cost_at_chen_memory"):
        steps, alpha = int(row["steps"]), 1 + int(row["beta"])
        memory = math.sqrt(steps) * alpha
        assert float(row["memory"]) == round(memory, 4)
        assert int(row["msm_forward_count"]) == mb.cost(steps, memory, alpha=alpha)
        chen = mb.plan(steps, "100%", alpha=alpha, strategy="chen")
        assert float(row["chen_forward_per_step"]) == chen.forward_count / steps
        assert float(row["chen_peak_memory"]) == chen.peak_memory
        at_peak = mb.cost(steps, chen.peak_memory, alpha=alpha)
        assert int(row["msm_forward_count_at_chen_peak"]) == at_peak <= chen.forward_count


@pytest.mark.slow
def test_divide_and_conquer_csv(out):
    table = rows(out, "divide_and_conquer")
    root = table[0]
    plan = mb.plan(int(root["end"]), int(root["memory"]), strategy="hsm", model="paper")
    assert int(root["forward_count"]) == plan.forward_count
    assert int(root["end_action"]) == len(plan.actions)
    for row in table:  # every sub-problem of the plan costs what the recursion says
        t, m = int(row["end"]) - int(row["start"]), int(row["memory"])
        assert int(row["forward_count"]) == int(row["recursion_C"]) == hsm_cost(t, m)
    splits = [row for row in table if row["split_y"]]
    assert splits and all(int(r["start"]) < int(r["split_y"]) < int(r["end"]) for r in splits)


@pytest.mark.slow
def test_bounds_table_csv(out):
    table = rows(out, "bounds_table")
    assert {int(r["steps"]) for r in table} == {100, 1000, 10_000, 100_000}
    for row in table:
        t, m, chen = int(row["steps"]), int(row["memory"]), row["chen_strategy"]
        exact = hsm_cost(t, m)
        assert float(row["dp_forward_per_step"]) == exact / t
        assert int(row["bound_a_plus_1"]) == a_bound(t, m) // t
        assert exact <= a_bound(t, m) and exact < 4 * t ** (1 + 1 / m)
        assert float(row["chen_forward_per_step"]) == mb.cost(t, "100%", strategy=chen) / t
        if t <= 10_000:
            assert int(row["chen_memory"]) == mb.plan(t, "100%", strategy=chen).peak_memory
        if row["regime"] == "log":  # equal memory: the DP is never dearer than the bisection
            assert m == int(row["chen_memory"]) and exact <= mb.cost(t, "100%", strategy=chen)
        else:
            assert m == math.ceil(math.sqrt(t))


@pytest.mark.slow
def test_lstm_lengths_csv(out):
    table = {int(r["steps"]): r for r in rows(out, "lstm_lengths")}
    assert sorted(table) == [50, 100, 200]
    alpha = mb.LSTMCell(16, 32, seed=0).alpha
    for steps, row in table.items():
        plan = mb.plan(steps, "5%", alpha=alpha)
        assert float(row["forward_per_step"]) == plan.forward_count / steps
        assert float(row["peak_memory_units"]) == plan.peak_memory
        held = int(row["tracemalloc_peak_bytes"]) / int(row["full_tracemalloc_peak_bytes"])
        assert float(row["bytes_over_full"]) == pytest.approx(held, rel=1e-12)
        seconds = float(row["seconds"]) / float(row["full_seconds"])  # to the microsecond
        assert float(row["time_over_full"]) == pytest.approx(seconds, rel=0.01)
    five = {r["budget"]: r for r in rows(out, "lstm_experiment")}["5%"]  # measured once
    assert table[200]["tracemalloc_peak_bytes"] == five["tracemalloc_peak_bytes"]
    kept = RESULTS["lstm_experiment"]["by_length"]["timing"] == "freed memory kept"
    column = "time_over_full" + ("_freed_memory_kept" if kept else "")
    assert float(table[200]["time_over_full"]) == pytest.approx(float(five[column]))


@pytest.mark.slow
def test_bounds_csv(out):
    for row in rows(out, "bounds"):
        t, m = int(row["t"]), int(row["m"])
        assert int(row["exact"]) == hsm_cost(t, m)
        assert float(row["bound_m_t_pow"]) == round(m * t ** (1 + 1 / m), 3)
        expected = a_bound(t, m)
        assert row["bound_a_plus_1"] == ("" if expected is None else str(expected))
        assert int(row["exact"]) <= float(row["bound_m_t_pow"]) + 1e-3


@pytest.mark.slow
def test_policies_csv(out):
    table = rows(out, "policies")
    assert len({r["memory"] for r in table}) == 1  # one budget: the panels compare
    for strategy in ("hsm", "ism", "msm"):
        mine = [r for r in table if r["strategy"] == strategy]
        plan = mb.plan(40, int(mine[0]["memory"]), alpha=2, strategy=strategy)
        assert [(r["op"], int(r["step"])) for r in mine] == [(a.op, a.step) for a in plan.actions]
        assert [float(r["memory_after"]) for r in mine] == memory_timeline(plan)


@pytest.mark.slow
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
