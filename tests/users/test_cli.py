"""Command line: outputs agree with the library; every bad argument exits 2 with one line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from fractions import Fraction

import pytest

import mini_bptt as mb
from mini_bptt.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_summary_and_json(capsys):
    code, out, err = run(capsys, "plan", "1000", "5%", "--alpha", "5")
    assert code == 0 and err == ""
    expected = mb.plan(1000, "5%", alpha=5)
    assert f"forward count   {expected.forward_count}" in out
    assert f"peak {expected.peak_memory} units" in out
    code, out, _ = run(capsys, "plan", "30", "4", "--strategy", "hsm", "--json")
    assert code == 0
    assert mb.Plan.from_json(out) == mb.plan(30, 4, strategy="hsm")


def test_table_matches_cost(capsys):
    code, out, _ = run(
        capsys,
        "table",
        "--steps",
        "10:50:20",
        "--memory",
        "1:3",
        "--alpha",
        "2.5",
        "--strategy",
        "ism",
        "--model",
        "paper",
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 9
    for row in rows:
        expected = mb.cost(
            int(row["steps"]), int(row["memory"]), alpha=2.5, strategy="ism", model="paper"
        )
        assert int(row["forward_count"]) == expected


def test_table_leaves_infeasible_cells_empty(capsys):
    code, out, _ = run(capsys, "table", "--steps", "10", "--memory", "2,100%", "--strategy", "chen")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[0]["forward_count"] == ""
    assert int(rows[1]["forward_count"]) == mb.cost(10, "100%", strategy="chen")


def test_check_valid_invalid_and_broken(capsys, tmp_path):
    plan = mb.plan(12, 3, alpha=2)
    good = tmp_path / "good.json"
    good.write_text(plan.to_json())
    code, out, _ = run(capsys, "check", str(good))
    assert code == 0 and out.startswith("valid:")
    trace = json.loads(plan.to_json())
    trace["actions"] = trace["actions"][:-3]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(trace))
    code, out, _ = run(capsys, "check", str(bad))
    assert code == 1 and "INVALID" in out and "error: action" in out
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = run(capsys, "check", str(broken))
    assert code == 2 and "not valid JSON" in err


@pytest.mark.parametrize(
    "argv, named",
    [
        (["plan", "10", "-5%"], "memory"),
        (["plan", "10", "-3"], "memory"),
        (["plan", "-10", "3"], "steps"),
        (["plan", "ten", "3"], "steps"),
        (["plan", "10", "0.5"], "smallest feasible"),
        (["plan", "10", "3", "--alpha", "0.9"], "alpha"),
        (["plan", "10", "3", "--alpha", "x"], "alpha"),
        (["plan", "10", "3", "--strategy", "revolve"], "strategy"),
        (["plan", "10", "3", "--model", "best"], "model"),
        (["plan", "10", "3", "--strategy", "chen", "--model", "paper"], "model"),
        (["plan", "10", "2", "--strategy", "bptt"], "smallest feasible"),
        (["plan", "10"], "memory"),
        (["table", "--steps", "5:1", "--memory", "3"], "--steps"),
        (["table", "--steps", "1:5", "--memory", "a:b"], "--memory"),
        (["check", "/no/such/trace.json"], "cannot read trace '/no/such/trace.json'"),
        (["plan", "10", "1e99999999"], "argument memory: memory must be a decimal number"),
        (["plan", "10", "3", "--alpha", "1e99999999"], "argument --alpha"),
        (["table", "--steps", "1e400", "--memory", "1"], "argument --steps"),
        (["table", "--steps", "3", "--memory", "1:2:0"], "--memory step"),
        (["table", "--steps", "3", "--memory", "1:2:3:4"], "--memory must be a range"),
        (["plan", "10", "3", "--animate", "/no/such/folder/p.gif"], "--animate"),
        (["reproduce", "--out", "/dev/null"], "--out '/dev/null' is a file"),
        (["frobnicate"], "invalid choice"),
        (["plan", "10", "3", "--frob"], "unrecognized"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, named):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("mini-bptt: error:")
    assert named in err


def test_check_reads_standard_input_as_dash():
    trace = mb.plan(12, 3, alpha=2).to_json()
    done = subprocess.run(
        [sys.executable, "-m", "mini_bptt", "check", "-"],
        input=trace,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("valid: forward_count=")
    done = subprocess.run(
        [sys.executable, "-m", "mini_bptt", "check", "-"],
        input="{not json",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("mini-bptt: error: standard input:")
    assert "not valid JSON" in done.stderr and len(done.stderr.splitlines()) == 1


def test_check_refuses_text_that_is_not_utf8(capsys, tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b'{"steps": 3, "memory": "\xff"}')
    code, _, err = run(capsys, "check", str(path))
    assert code == 2 and "is not UTF-8 text (byte 24 is 0xff)" in err and str(path) in err


def test_numbers_keep_their_exact_value_and_print_as_written(capsys):
    code, out, _ = run(capsys, "plan", "10", "4.5")
    assert code == 0 and "memory budget   4.5 -> peak 4 units" in out
    code, out, _ = run(capsys, "plan", "10", "3", "--alpha", "7/3", "--json")
    assert mb.Plan.from_json(out) == mb.plan(10, 3, alpha=Fraction(7, 3))
    code, out, _ = run(capsys, "table", "--steps", "1e1", "--memory", "4.5,0.45e1")
    assert code == 0
    assert [r["memory"] for r in csv.DictReader(io.StringIO(out))] == ["4.5", "4.5"]
    code, _, err = run(capsys, "plan", "4.5", "3")
    assert code == 2 and "argument steps: steps must be an integer >= 1, got '4.5'" in err


def test_check_trace_missing_fields(capsys, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"steps": 3, "actions": []}))
    code, _, err = run(capsys, "check", str(path))
    assert code == 2 and "memory" in err


def test_module_entry_point_and_version():
    done = subprocess.run(
        [sys.executable, "-m", "mini_bptt", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == f"mini-bptt {mb.__version__}"
    done = subprocess.run(
        [sys.executable, "-m", "mini_bptt", "plan", "5", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv", [["--steps", "0:3", "--memory", "2"], ["--steps", "5", "--memory", "2,x%"]]
)
def test_table_checks_every_value_before_writing(capsys, argv):
    code, out, err = run(capsys, "table", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_after_a_second_with_an_eta(monkeypatch):
    from mini_bptt.cli import progress

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    clock = iter([0.0, 0.5, 2.0, 4.0])  # start, then the time at each report
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    report = progress.progress_printer()
    report(100, 1000)  # half a second in: quiet
    assert terminal.getvalue() == ""
    report(500, 1000)  # 2 s for a quarter of the work (it grows like done**2): 6 s left
    assert "DP table: 500/1000 steps, 2 s, about 6 s left" in terminal.getvalue()
    report(1000, 1000)
    assert terminal.getvalue().endswith("1000/1000 steps, 4 s   \n")


def test_reproduce_shows_each_figure_and_the_lstm_runs_with_an_eta(monkeypatch):
    from mini_bptt.cli import progress

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    clock = iter([10.0, 10.2, 15.0])  # the time at each report of a run
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    report = progress.reproduce_printer()
    report(1, 7, "hsm_cost_vs_memory", 1.5, None)
    assert terminal.getvalue() == "[#......] 1/7 hsm_cost_vs_memory (1.5 s)\n"
    report(6, 7, "lstm_experiment", 20.0, (10, 50))  # 2 s a run: 80 s for the other 40
    assert terminal.getvalue().endswith(
        "\r[######.] 6/7 lstm_experiment: run 10/50, 20 s, about 80 s left   "
    )
    report(6, 7, "lstm_experiment", 20.4, (11, 50))  # 0.2 s later: not redrawn yet
    assert "run 11/50" not in terminal.getvalue()
    report(6, 7, "lstm_experiment", 25.0, (50, 50))
    assert "run 50/50, 25 s, about 0 s left" in terminal.getvalue()
    report(7, 7, "lstm_experiment", 25.0, None)  # the run line is ended first
    assert terminal.getvalue().endswith("left   \n[#######] 7/7 lstm_experiment (25.0 s)\n")


def test_reproduce_writes_a_line_every_10_s_to_a_log(monkeypatch):
    from mini_bptt.cli import progress

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    clock = iter([0.0, 5.0, 12.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    report = progress.reproduce_printer()
    for runs in (1, 2, 3):
        report(6, 7, "lstm_experiment", 4.0 * runs, (runs, 10))
    lines = log.getvalue().splitlines()
    assert [line.split(": ")[1].split(",")[0] for line in lines] == ["run 1/10", "run 3/10"]
    assert "\r" not in log.getvalue()


def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch):
    from mini_bptt.cli import progress

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress.progress_printer() is None


def test_run_prints_planned_against_measured_memory(capsys):
    assert main(["run", "60", "10%", "--batch", "4", "--hidden-size", "16"]) == 0
    out = capsys.readouterr().out
    expected = mb.plan(60, "10%", alpha=mb.LSTMCell(64, 16).alpha)
    assert f"msm plan for 60 steps at 10%: {expected.forward_count} forwards" in out
    rows = {line[:32].strip(): line.split() for line in out.splitlines()[2:]}
    state_bytes = 8 * 4 * 2 * 16
    assert rows["plan peak"][-2] == f"{round(expected.peak_memory * state_bytes):,}"
    assert rows["gradient accumulators"][-2] == f"{8 * 4 * 16 * (64 + 16 + 1):,}"
    measured = int(rows["measured peak (tracemalloc)"][-2].replace(",", ""))
    beyond = int(rows["beyond the plan"][-2].replace(",", ""))
    assert measured - beyond == expected.peak_memory * state_bytes
    assert main(["run", "30", "40%", "--cell", "rnn", "--strategy", "hsm"]) == 0
    assert "rnn cell, batch 32, input 64, hidden 128 (alpha 2)" in capsys.readouterr().out


def test_main_gives_the_callers_sigterm_handler_back(capsys):
    """main() catches SIGTERM only while it runs: a program (or pytest) calling it keeps its
    own handler afterwards."""
    import signal

    before = signal.getsignal(signal.SIGTERM)
    assert main(["plan", "3", "2"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
