"""``mini-bptt online``: its rows agree with the planner and the offline optimum; its
JSON is the planner's plan; bad arguments exit 2 with one line."""

from __future__ import annotations

import csv
import io

import pytest

import mini_bptt as mb
from mini_bptt.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def online_forwards(memory, alpha, steps, flag=True):
    planner = mb.OnlinePlanner(memory, alpha=alpha, internal_has_output=flag)
    for i in range(1, steps):
        planner.step(i)
    return planner.finish(steps).forward_count


def test_each_row_is_the_planners_count_against_the_offline_optimum(capsys):
    code, out, err = run(capsys, "online", "16", "--steps", "1:12,40", "--alpha", "2")
    assert code == 2 and "--steps" in err  # a range or a list, not both
    code, out, err = run(capsys, "online", "16", "--steps", "40,1,9", "--alpha", "2")
    assert code == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["steps"]) for r in rows] == [1, 9, 40]
    for row in rows:
        steps = int(row["steps"])
        assert int(row["online_forward_count"]) == online_forwards(16, 2, steps)
        assert int(row["offline_forward_count"]) == mb.cost(steps, 16, alpha=2)
    assert rows[1]["ratio"] == f"{online_forwards(16, 2, 9) / mb.cost(9, 16, alpha=2):.4f}"


def test_without_the_output_flag_the_rows_use_it_too(capsys):
    code, out, _ = run(capsys, "online", "6", "--steps", "30", "--no-internal-output")
    row = next(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert int(row["online_forward_count"]) == online_forwards(6, 1, 30, flag=False)
    assert int(row["offline_forward_count"]) == mb.cost(30, 6, internal_has_output=False)


def test_json_is_the_plan_finish_gives(capsys):
    code, out, _ = run(capsys, "online", "7", "--steps", "25", "--alpha", "1.5", "--json")
    planner = mb.OnlinePlanner(7, alpha=1.5)
    for i in range(1, 25):
        planner.step(i)
    assert code == 0 and mb.Plan.from_json(out) == planner.finish(25)


@pytest.mark.parametrize(
    "argv, named",
    [
        (["online", "0.5", "--steps", "5"], "memory"),
        (["online", "5%", "--steps", "5"], "memory"),
        (["online", "8", "--steps", "0"], "--steps"),
        (["online", "8"], "--steps"),
        (["online", "8", "--steps", "1:3", "--json"], "--json"),
        (["online", "8", "--steps", "5", "--alpha", "0"], "alpha"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, named):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and named in err, err


def test_steps_past_the_actions_limit_are_refused_before_any_walk(capsys):
    with mb.resource_limits(actions=1000):
        code, out, err = run(capsys, "online", "8", "--steps", "1001")
    assert code == 2 and out == "" and "--steps 1001 is over the limit of 1000" in err
