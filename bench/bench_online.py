"""The online planner against the offline optimum C(T, M), at every T (issue 31).

For alpha in {1, 2, 5} and M in {8, 16, 32, 64}: the ratio ``finish(T).forward_count /
C(T, M)`` for every T from 1 to ``--steps`` (10^4), its worst (and where) and its mean,
beside a hidden-only baseline (the same grid rules with all the memory for hidden states
and no internal state saved) reversed by the same reversal; the worst and mean of each per
bin of T (for ``bench/plot_online.py``); ``mb.check`` on every ``finish(T)`` for T up to
``--check-steps`` (2000); then ``step`` time per call and ``finish`` time. JSON on stdout
and in bench/results/bench_online.json (``--out``), written whole or not at all; progress
on stderr.

The forward count of ``finish(T)`` is T plus the reversal's cost from what the planner
stores after ``step(T - 1)``: ``OnlinePlanner.forward_counts`` walks the steps once and
costs each T with ``ReversalCost`` (equal to the ``Reversal`` that ``finish`` emits; the
check below and tests/planning/test_online.py compare them). The check records the first
sweep as ``step`` returns it and builds each plan with ``_plan_after``, the code ``finish``
runs after replaying the same sweep (the tests compare replay and record), so every T up
to 2000 costs one reversal and one ``mb.check`` instead of a replay of T steps.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import mini_bptt as mb
from mini_bptt.machine import describe
from mini_bptt.oracle.trace_file import atomic_path
from mini_bptt.planning.actions import FORWARD, FREE_HIDDEN, SAVE_HIDDEN, Action
from mini_bptt.planning.dp_optimal import optimal_tables
from mini_bptt.planning.online import OnlinePlanner, Progress

ALPHAS = (1, 2, 5)
MEMORIES = (8, 16, 32, 64)
BINS = 120  # bins of T, evenly spaced in log T, for the figure


def goal(memory: int) -> float:
    """The issue's bound on the worst ratio: 1.25 at M = 8, 1.10 above."""
    return 1.25 if memory == 8 else 1.10


class HiddenOnly(OnlinePlanner):
    """The baseline: the planner's grid with every spare unit, no internal state saved."""

    def __init__(self, memory, *, alpha=1, internal_has_output=True):
        super().__init__(memory, alpha=alpha, internal_has_output=internal_has_output)
        self.anchored = False  # no internal state: h[0] stays
        self.grid_capacity = (self.budget - self.units.hidden) // self.units.hidden
        self.first_grid = 1
        self.stride = 1

    def step(self, i):
        self._require_next(i)
        state = self.stored.copy()  # no repeated call here: the bench calls each step once
        out = []
        if self.grid_capacity and self._grid_point(state, i):
            if len(state.grid) == self.grid_capacity:
                out.append(Action(FREE_HIDDEN, self._thin_grid(state, i)))
            out.append(Action(SAVE_HIDDEN, i))
            state.grid.append(i)
        self.progress = Progress(state, i, tuple(out))
        return out


def offline_costs(alpha: int, memory: int, steps: int) -> np.ndarray:
    """C(T, M) for T = 0..steps: one column of the optimal model's MSM table S."""
    planner = OnlinePlanner(memory, alpha=alpha)
    with optimal_tables("msm", planner.units, True) as tables:
        tables.ensure(steps, planner.budget)
        column = tables.tab["S"][tables.off + planner.budget, : steps + 1]
        return np.asarray(column, dtype=np.int64)


def summary(ratio: np.ndarray, bound: float) -> dict:
    """Worst (and its T), mean, and how many T exceed ``bound``; ``ratio[0]`` unused."""
    worst = int(np.argmax(ratio[1:])) + 1
    over = np.nonzero(ratio[1:] > bound)[0] + 1
    return {
        "worst": round(float(ratio[worst]), 4),
        "at": worst,
        "mean": round(float(ratio[1:].mean()), 4),
        "over_goal": int(len(over)),
        "over_goal_at": [int(t) for t in over[:20]],
    }


def curve(ratio: np.ndarray) -> dict:
    """Per bin of T (log-spaced): its first T, and the worst and mean ratio in it."""
    steps = len(ratio) - 1
    edges = np.unique(np.geomspace(1, steps + 1, BINS + 1).astype(int))
    worst, mean = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        worst.append(round(float(ratio[lo:hi].max()), 4))
        mean.append(round(float(ratio[lo:hi].mean()), 4))
    return {"first_t": [int(t) for t in edges[:-1]], "worst": worst, "mean": mean}


def check_every_finish(alpha: int, memory: int, steps: int, counts: np.ndarray) -> int:
    """``mb.check`` of the plan ``finish(T)`` gives, for every T <= ``steps``, and its
    forward count against ``counts[T]``; returns how many T were checked."""
    planner = OnlinePlanner(memory, alpha=alpha)
    sweep: list[Action] = []
    for t in range(1, steps + 1):
        plan = planner._plan_after([*sweep, Action(FORWARD, t)], t)
        result = mb.check(plan.actions, steps=t, memory=memory, alpha=alpha)
        if not result.valid or plan.forward_count != counts[t]:
            raise AssertionError(f"finish({t}) at alpha={alpha}, M={memory}: {result}")
        sweep.append(Action(FORWARD, t))
        sweep.extend(planner.step(t))
        if t % 250 == 0:
            print(f"  checked T <= {t}", file=sys.stderr, flush=True)
    return steps


def one_case(alpha: int, memory: int, steps: int, check_steps: int) -> dict:
    started = time.perf_counter()
    offline = offline_costs(alpha, memory, steps)
    offline[0] = 1
    ours = OnlinePlanner(memory, alpha=alpha).forward_counts(steps)
    base = HiddenOnly(memory, alpha=alpha).forward_counts(steps)
    costed = time.perf_counter() - started
    ratio, base_ratio = ours / offline, base / offline
    checked = check_every_finish(alpha, memory, min(check_steps, steps), ours) if check_steps else 0
    return {
        "alpha": alpha,
        "memory": memory,
        "steps": steps,
        "goal_worst": goal(memory),
        "online": summary(ratio, goal(memory)),
        "hidden_only": summary(base_ratio, goal(memory)),
        "checked_finish_up_to": checked,
        "cost_seconds": round(costed, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "curve": {"online": curve(ratio), "hidden_only": curve(base_ratio)},
    }


def timings(memory: int = 64) -> list[dict]:
    """Per alpha at ``memory``: step time per call over 10^5 steps, finish(10^4) and
    finish(10^5) seconds and their ratio to C(T, M)."""
    rows = []
    for alpha in ALPHAS:
        row = {"alpha": alpha, "memory": memory}
        for steps in (10_000, 100_000):
            planner = OnlinePlanner(memory, alpha=alpha)
            started = time.perf_counter()
            for i in range(1, steps):
                planner.step(i)
            stepped = time.perf_counter() - started
            started = time.perf_counter()
            plan = planner.finish(steps)
            row[f"finish_s_{steps}"] = round(time.perf_counter() - started, 2)
            row[f"ratio_{steps}"] = round(
                plan.forward_count / mb.cost(steps, memory, alpha=alpha), 4
            )
            row["step_us_per_call"] = round(stepped / (steps - 1) * 1e6, 2)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="every T up to this")
    parser.add_argument("--check-steps", type=int, default=2000, help="mb.check up to this T")
    parser.add_argument("--no-timings", action="store_true", help="leave out step/finish times")
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="only the mb.check pass, into the cases of the JSON at --out (rewritten per case)",
    )
    parser.add_argument("--cases", default="", help="alpha:M pairs, comma-separated (all)")
    default_out = Path(__file__).parent / "results" / "bench_online.json"
    parser.add_argument("--out", default=str(default_out), help="'' for stdout only")
    args = parser.parse_args(argv)
    cases = [(a, m) for a in ALPHAS for m in MEMORIES]
    if args.cases:
        cases = [tuple(int(x) for x in pair.split(":")) for pair in args.cases.split(",")]
    command = " ".join(["bench/bench_online.py", *(sys.argv[1:] if argv is None else argv)])
    if args.check_only:
        return check_only(Path(args.out), args.check_steps, cases, command)
    result = {"machine": describe(), "command": command, "cases": []}
    for alpha, memory in cases:
        print(f"alpha={alpha} M={memory}", file=sys.stderr, flush=True)
        row = one_case(alpha, memory, args.steps, args.check_steps)
        result["cases"].append(row)
        shown = {k: v for k, v in row.items() if k != "curve"}
        print(json.dumps(shown), file=sys.stderr, flush=True)
    if not args.no_timings:
        result["timings"] = timings()
    print(json.dumps(result, indent=1))
    if args.out:
        write(Path(args.out), result)
    return 0


def write(out: Path, result: dict) -> None:
    """The JSON whole or not at all."""
    with atomic_path(out) as partial:
        partial.write_text(json.dumps(result, indent=1) + "\n")


def check_only(out: Path, check_steps: int, cases: list, command: str) -> int:
    """``mb.check`` of every finish(T), T <= ``check_steps``, for ``cases`` of the JSON at
    ``out``, which is rewritten after each case (its machine and commands are kept)."""
    result = json.loads(out.read_text(encoding="utf-8"))
    result["check_command"] = command
    for row in result["cases"]:
        if (row["alpha"], row["memory"]) not in cases:
            continue
        print(f"check alpha={row['alpha']} M={row['memory']}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        counts = OnlinePlanner(row["memory"], alpha=row["alpha"]).forward_counts(check_steps)
        row["checked_finish_up_to"] = check_every_finish(
            row["alpha"], row["memory"], check_steps, counts
        )
        row["check_seconds"] = round(time.perf_counter() - started, 1)
        write(out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
