"""The online planner against the offline optimum C(T, M), at every T (issue 31).

For alpha in {1, 2, 5} and M in {8, 16, 32, 64}: the ratio ``finish(T).forward_count /
C(T, M)`` for every T from 1 to ``--steps`` (10^4; ``--quick`` 1000), its worst (and
where) and its mean, beside a hidden-only baseline (the same grid rules with all the
memory for hidden states and no internal state saved) reversed by the same optimal
reversal; then ``step`` time per call and ``finish`` time. JSON on stdout and in
bench/results/bench_online.json (``--out``).

The forward count of ``finish(T)`` is T plus the reversal's cost from what the planner
stores after ``step(T - 1)``, so one planner walks the steps once and each T costs one
``Reversal`` (``--check`` builds the full plan at a few T and checks the two agree).
C(T, M) for every T is one column of the optimal model's MSM table S.
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
from mini_bptt.planning.actions import SAVE_HIDDEN, Action
from mini_bptt.planning.dp_optimal import optimal_tables
from mini_bptt.planning.online import OnlinePlanner, Progress

ALPHAS = (1, 2, 5)
MEMORIES = (8, 16, 32, 64)


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
                out.append(Action("free_hidden", self._thin_grid(state, i)))
            out.append(Action(SAVE_HIDDEN, i))
            state.grid.append(i)
        self.progress = Progress(state, i, tuple(out))
        return out


def forward_counts(planner, tables, steps: int) -> np.ndarray:
    """counts[T] = finish(T).forward_count for T = 1..steps, walking ``planner`` once."""
    counts = np.zeros(steps + 1, dtype=np.int64)
    for t in range(1, steps + 1):
        reversal = planner.reversal_at(t, tables)
        counts[t] = t + reversal.cost
        planner.step(t)
    return counts


def summary(ratio: np.ndarray) -> dict:
    worst = int(np.argmax(ratio[1:])) + 1
    return {
        "worst": round(float(ratio[worst]), 4),
        "at": worst,
        "mean": round(float(ratio[1:].mean()), 4),
    }


def points(alpha: int, memory: int, lengths: list[int]) -> list[dict]:
    """finish(T) of the planner at single long T: ratio, finish seconds."""
    rows = []
    for steps in lengths:
        planner = OnlinePlanner(memory, alpha=alpha)
        for i in range(1, steps):
            planner.step(i)
        started = time.perf_counter()
        plan = planner.finish(steps)
        seconds = time.perf_counter() - started
        offline = mb.cost(steps, memory, alpha=alpha)
        rows.append(
            {
                "steps": steps,
                "ratio": round(plan.forward_count / offline, 4),
                "finish_s": round(seconds, 2),
            }
        )
    return rows


def one_case(alpha: int, memory: int, steps: int, check: bool) -> dict:
    planner = OnlinePlanner(memory, alpha=alpha)
    with optimal_tables("msm", planner.units, True) as tables:
        tables.ensure(steps, planner.budget)
        offline = np.asarray(
            tables.tab["S"][tables.off + planner.budget, : steps + 1], dtype=np.int64
        )
        started = time.perf_counter()
        ours = forward_counts(planner, tables, steps)
        base = forward_counts(HiddenOnly(memory, alpha=alpha), tables, steps)
        seconds = time.perf_counter() - started
    offline[0] = 1
    row = {
        "alpha": alpha,
        "memory": memory,
        "steps": steps,
        "online": summary(ours / offline),
        "hidden_only": summary(base / offline),
        "seconds": round(seconds, 1),
    }
    if check:
        for t in sorted({1, 2, steps // 3, steps}):
            p = OnlinePlanner(memory, alpha=alpha)
            for i in range(1, t):
                p.step(i)
            plan = p.finish(t)
            result = mb.check(plan.actions, steps=t, memory=memory, alpha=alpha)
            assert result.valid and plan.forward_count == ours[t], (alpha, memory, t)
    return row


def timings() -> dict:
    out = {}
    planner = OnlinePlanner(64, alpha=5)
    started = time.perf_counter()
    for i in range(1, 100_000):
        planner.step(i)
    out["step_us_per_call_m64_alpha5"] = round((time.perf_counter() - started) / 99_999 * 1e6, 2)
    for steps in (10_000, 100_000):
        planner = OnlinePlanner(64, alpha=5)
        for i in range(1, steps):
            planner.step(i)
        started = time.perf_counter()
        plan = planner.finish(steps)
        out[f"finish_s_{steps}_m64_alpha5"] = round(time.perf_counter() - started, 2)
        out[f"forward_count_{steps}_m64_alpha5"] = plan.forward_count
        out[f"offline_cost_{steps}_m64_alpha5"] = mb.cost(steps, 64, alpha=5)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every T <= 1000, no timings")
    parser.add_argument("--steps", type=int, default=10_000, help="every T up to this")
    parser.add_argument("--points", default="", help="single longer T, comma-separated")
    parser.add_argument("--check", action="store_true", help="build and check a few plans")
    default_out = Path(__file__).parent / "results" / "bench_online.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args(argv)
    steps = 1000 if args.quick else args.steps
    result = {
        "machine": describe(),
        "command": " ".join(["bench/bench_online.py", *sys.argv[1:]]),
        "cases": [],
    }
    for alpha in ALPHAS:
        for memory in MEMORIES:
            result["cases"].append(one_case(alpha, memory, steps, args.check))
            lengths = [int(t) for t in args.points.split(",") if t]
            result["cases"][-1]["points"] = points(alpha, memory, lengths)
            print(json.dumps(result["cases"][-1]), file=sys.stderr, flush=True)
    if not args.quick:
        result["timings"] = timings()
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:  # written whole or not at all
        out = Path(args.out)
        partial = out.with_name(out.name + ".partial")
        partial.write_text(text + "\n")
        partial.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
