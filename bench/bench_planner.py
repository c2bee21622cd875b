"""Planner speed: the breakpoint DP against the full search it replaced, and the cases
that users meet (long sequences, huge HSM costs, checking long traces, a peer).

Run: python bench/bench_planner.py [--skip-long] [--very-long] [--repeats N]  (prints JSON)

--skip-long skips the T = 10^4 plans (about a minute); --very-long adds
plan(100_000, 200, alpha=5) (under a minute). The comparison with checkpoint-schedules'
MixedCheckpointSchedule runs when checkpoint-schedules is installed; with numba
installed it uses the peer's compiled table (numba is never a dependency of mini_bptt).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import mini_bptt as mb
from mini_bptt.machine import describe, interleaved_medians
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES, optimal_specs
from mini_bptt.planning.dp_paper import PAPER_TABLES, paper_spec
from mini_bptt.planning.engine.reference import DPTables
from mini_bptt.planning.plan import make_request, parse_memory, tables_for
from mini_bptt.planning.units import grains_for


def cold(run):
    """``run`` with the planner's table caches emptied: measure the fill, not the cache."""

    def timed():
        PAPER_TABLES.clear()
        OPTIMAL_TABLES.clear()
        return run()

    return timed


def full_search_cost(model: str, steps: int, units: int, alpha: float, output: bool = True):
    """The same cost from the reference engine, which tries every split point."""
    unit = grains_for(alpha)
    if model == "paper":
        tables = DPTables((paper_spec("msm", unit),))
        top = "C"
    else:
        tables = DPTables(tuple(optimal_specs("msm", unit, output).values()))
        top = "S"
    tables.ensure(steps, units)
    return tables.value(top, steps, units)


def estimated_seconds(steps: int, memory, alpha: float, model: str, output: bool = True) -> float:
    """The resource guard's time estimate for an MSM request's DP, from empty tables."""
    PAPER_TABLES.clear()
    OPTIMAL_TABLES.clear()
    request = make_request(steps, memory, alpha, "msm", model, output)
    with tables_for(request) as tables:
        return round(tables.size(request.problem.steps, request.budget).seconds, 2)


def engines_side_by_side(report: dict, repeats: int) -> None:
    alpha, unit = 5, grains_for(5)
    for steps, memory in [(1000, 250), (2000, "5%"), (3000, "5%")]:
        units = unit.whole_grains(parse_memory(memory, steps, unit))
        for model in ("paper", "optimal"):
            runs = {
                "breakpoints": cold(partial(mb.cost, steps, memory, alpha=alpha, model=model)),
                "full_search": partial(full_search_cost, model, steps, units, alpha),
            }
            medians = interleaved_medians(runs, repeats)
            value = runs["breakpoints"]()
            assert value == runs["full_search"](), "the two engines disagree"
            report[f"cost({steps}, {memory!r}, alpha=5, msm, {model}), cold"] = {
                "forward_count": value,
                "breakpoints_seconds_median": round(medians["breakpoints"], 3),
                "full_search_seconds_median": round(medians["full_search"], 3),
                "speedup": round(medians["full_search"] / medians["breakpoints"], 2),
            }


def peak_rss_of(code: str) -> tuple[float, float]:
    """(seconds, peak resident set in MB) of ``code`` run in a fresh interpreter."""
    probe = (
        "import resource, time; start = time.perf_counter()\n"
        + code
        + "\nprint(time.perf_counter() - start,"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    seconds, rss = out.stdout.split()[-2:]
    return float(seconds), float(rss)


def long_plans(report: dict, very_long: bool) -> None:
    for model in ("paper", "optimal"):
        code = (
            "import mini_bptt as mb\n"
            f"p = mb.plan(10_000, '5%', alpha=5, model={model!r})\n"
            "print(p.forward_count)"
        )
        seconds, rss = peak_rss_of(code)
        count = mb.cost(10_000, "5%", alpha=5, model=model)
        report[f"plan(10_000, '5%', alpha=5, {model}), cold, own process"] = {
            "forward_count": count,
            "forward_per_step": count / 10_000,
            "seconds": round(seconds, 2),
            "estimated_seconds": estimated_seconds(10_000, "5%", 5, model),
            "peak_rss_mb": round(rss),
        }
    if very_long:
        code = "import mini_bptt as mb\np = mb.plan(100_000, 200, alpha=5)\nprint(p.forward_count)"
        seconds, rss = peak_rss_of(code)
        report["plan(100_000, 200, alpha=5, optimal), cold, own process"] = {
            "seconds": round(seconds, 1),
            "estimated_seconds": estimated_seconds(100_000, 200, 5, "optimal"),
            "peak_rss_mb": round(rss),
        }


def check_long_trace(report: dict) -> None:
    plan = mb.plan(10**5, 100, strategy="hsm")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        path.write_text(plan.to_json())
        start = time.perf_counter()
        data = json.loads(path.read_text())
        verdict = mb.check(data["actions"], steps=data["steps"], memory=data["memory"])
        seconds = time.perf_counter() - start
    report["check of the T = 10^5 hsm plan (memory 100), JSON file included"] = {
        "actions": len(plan.actions),
        "valid": verdict.valid,
        "hsm_optimum": verdict.strategy_optimal_forward_count,
        "msm_optimum": verdict.optimal_forward_count,
        "note": verdict.optimum_note,
        "seconds": round(seconds, 2),
    }


def huge_hsm_cost(report: dict) -> None:
    calls = 1000
    median = interleaved_medians(
        {"hsm": lambda: [mb.cost(10**30, 2, strategy="hsm") for _ in range(calls)]}, 5
    )["hsm"]
    report["cost(10**30, 2, hsm)"] = {
        "forward_count": str(mb.cost(10**30, 2, strategy="hsm")),
        "seconds_per_call_median": median / calls,
    }


def against_mixed(report: dict, repeats: int) -> None:
    try:
        from checkpoint_schedules.mixed import mixed_steps_tabulation, numba
    except ImportError:
        report["MixedCheckpointSchedule"] = "checkpoint-schedules is not installed"
        return
    if numba is not None:
        mixed_steps_tabulation(10, 3)  # compile once, outside the timing
    for steps, snapshots in [(3000, 150), (10_000, 100)]:
        ours = cold(lambda s=steps, k=snapshots: mb.cost(s, k, alpha=1, internal_has_output=False))
        # plan also emits the actions and replays them to validate the Plan
        our_plan = cold(
            lambda s=steps, k=snapshots: (
                mb.plan(s, k, alpha=1, internal_has_output=False).forward_count
            )
        )
        if numba is not None:
            peer = lambda s=steps, k=snapshots: int(mixed_steps_tabulation(s, k)[s, k, 2])  # noqa: E731
        else:
            from checkpoint_schedules.mixed import optimal_steps_mixed

            peer = lambda s=steps, k=snapshots: optimal_steps_mixed(s, k)  # noqa: E731
        runs = {"mini_bptt cost": ours, "mini_bptt plan": our_plan, "peer": peer}
        medians = interleaved_medians(runs, repeats)
        assert ours() == our_plan() == peer(), "mini_bptt and MixedCheckpointSchedule disagree"
        report[f"mixed schedule T={steps}, {snapshots} slots (alpha 1, no output)"] = {
            "forward_count": ours(),
            "peer": "numba table" if numba is not None else "memoised Python",
            "mini_bptt_cost_seconds_median": round(medians["mini_bptt cost"], 3),
            "mini_bptt_plan_seconds_median": round(medians["mini_bptt plan"], 3),
            "peer_seconds_median": round(medians["peer"], 3),
            "cost_speedup": round(medians["peer"] / medians["mini_bptt cost"], 2),
            "plan_speedup": round(medians["peer"] / medians["mini_bptt plan"], 2),
            "estimated_seconds": estimated_seconds(steps, snapshots, 1, "optimal", False),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-long", action="store_true", help="skip the T = 10^4 plans")
    parser.add_argument("--very-long", action="store_true", help="add T = 10^5 at 200 units")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict = {}
    engines_side_by_side(results, args.repeats)
    huge_hsm_cost(results)
    check_long_trace(results)
    against_mixed(results, args.repeats)
    if not args.skip_long:
        long_plans(results, args.very_long)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"machine": describe(), "results": results, "bench_rss_mb": rss}, indent=2))


if __name__ == "__main__":
    main()
