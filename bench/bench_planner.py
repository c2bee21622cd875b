"""Planner speed: the DP tables against a DP vectorised over the split point alone.

Run: python bench/bench_planner.py [--skip-long]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import mini_bptt as mb
from mini_bptt.machine import describe, interleaved_medians
from mini_bptt.planning.dp_optimal import optimal_specs, optimal_tables
from mini_bptt.planning.dp_paper import paper_spec, paper_tables
from mini_bptt.planning.dp_tables import Run, Same, Single
from mini_bptt.planning.units import units_for

INF = 2**40


def naive_tables(specs, steps: int, width: int) -> dict[str, np.ndarray]:
    """The same recursions filled one (t, M) cell at a time, vectorised over y alone."""
    tab = {s.name: np.full((steps + 1, width + 1), INF, dtype=np.int64) for s in specs}

    def at(name, rows, m):
        return tab[name][rows, m] if m >= 0 else np.full(np.shape(rows), INF)

    for t in range(steps + 1):
        for spec in specs:
            for m in range(spec.min_units, width + 1):
                if t <= 1:
                    tab[spec.name][t, m] = t
                    continue
                best = INF
                for o in spec.options:
                    if isinstance(o, Run):
                        best = min(best, t + tab[o.table][t - 1, m])
                    elif isinstance(o, Same):
                        best = min(best, tab[o.table][t, m])
                    elif isinstance(o, Single):
                        best = min(best, 1 + at(o.table, t - 1, m - o.shift))
                    elif o.y_min <= t - 1:
                        y = np.arange(o.y_min, t)
                        q = y + tab[o.left][y + o.lo, m] + at(o.right, t - y, m - o.shift)
                        best = min(best, int(q.min()))
                tab[spec.name][t, m] = min(best, INF)
    return tab


def fast_cost(model: str, steps: int, memory: int, alpha: float) -> int:
    paper_tables.cache_clear()  # fresh tables: measure the fill, not the cache
    optimal_tables.cache_clear()
    return mb.cost(steps, memory, alpha=alpha, model=model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-long", action="store_true", help="skip T = 10,000 (minutes)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    report: dict = {"machine": describe(), "results": {}}
    steps, memory, alpha = 1000, 250, 5
    units = units_for(alpha)
    for model in ("paper", "optimal"):
        fast = interleaved_medians(
            {"fast": lambda model=model: fast_cost(model, steps, memory, alpha)}, args.repeats
        )["fast"]
        specs = (
            (paper_spec("msm", units),)
            if model == "paper"
            else tuple(optimal_specs("msm", units, True).values())
        )
        start = time.perf_counter()
        naive = naive_tables(specs, steps, memory)
        naive_time = time.perf_counter() - start
        top = "C" if model == "paper" else "S"
        value = fast_cost(model, steps, memory, alpha)
        assert int(naive[top][steps, memory]) == value, "naive and fast DP disagree"
        report["results"][f"cost(1000, 250, alpha=5, msm, {model})"] = {
            "forward_count": value,
            "seconds_median": round(fast, 4),
            "naive_y_vectorised_seconds": round(naive_time, 3),
            "speedup": round(naive_time / fast, 1),
        }
    hsm = interleaved_medians(
        {"hsm": lambda: [mb.cost(10**9, 30, strategy="hsm") for _ in range(1000)]}, 5
    )["hsm"]
    report["results"]["cost(10**9, 30, hsm)"] = {
        "forward_count": mb.cost(10**9, 30, strategy="hsm"),
        "seconds_per_call_median": hsm / 1000,
    }
    plan_time = interleaved_medians({"plan": lambda: mb.plan(1000, "5%", alpha=5)}, 3)["plan"]
    report["results"]["plan(1000, '5%', alpha=5) with warm tables"] = {
        "seconds_median": round(plan_time, 4),
        "actions": len(mb.plan(1000, "5%", alpha=5).actions),
    }
    if not args.skip_long:
        for model in ("paper", "optimal"):
            start = time.perf_counter()
            value = fast_cost(model, 10_000, "5%", alpha)
            report["results"][f"cost(10000, '5%', alpha=5, msm, {model})"] = {
                "forward_count": value,
                "forward_per_step": value / 10_000,
                "seconds": round(time.perf_counter() - start, 1),
            }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
