"""The resource guard's DP time estimate against measured fills, and a refit of its constants.

Run: python bench/bench_time_model.py [--very-long]  (prints JSON; about three minutes)

Each request runs cold in its own process. The estimate is what ``plan``/``cost`` compare
with the time limit before filling any table (``mini_bptt.planning.limits.dp_size``); the
refit is the weighted least-squares fit of its three terms (``time_model.time_terms``) to the
measured seconds (each request weighted by 1 / seconds, so that the ratios count alike).
--very-long adds ``cost(100_000, 200, alpha=5)`` and ``cost(100_000, 100)`` (about a
minute more).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

from mini_bptt.machine import describe
from mini_bptt.planning import time_model

# steps, memory, alpha, strategy, model, internal_has_output
REQUESTS = [
    (1000, "5%", 5, "msm", "optimal", True),
    (3000, "5%", 5, "msm", "optimal", True),
    (10_000, "5%", 5, "msm", "optimal", True),
    (1000, "5%", 5, "msm", "paper", True),
    (3000, "5%", 5, "msm", "paper", True),
    (10_000, "5%", 5, "msm", "paper", True),
    (3000, 50, 5, "msm", "optimal", True),
    (10_000, 50, 5, "msm", "optimal", True),
    (30_000, 50, 5, "msm", "optimal", True),
    (3000, 200, 5, "msm", "optimal", True),
    (10_000, 200, 5, "msm", "optimal", True),
    (30_000, 200, 5, "msm", "paper", True),
    (3000, 150, 1, "msm", "optimal", False),
    (10_000, 100, 1, "msm", "optimal", False),
    (20_000, 100, 1, "msm", "optimal", False),
    (2000, 60, 4.5, "ism", "optimal", True),
    (5000, 60, 4.5, "ism", "optimal", True),
    (5000, "5%", 4.5, "ism", "optimal", True),
    (5000, "5%", 4.5, "ism", "paper", True),
    (2000, 1000, 2, "msm", "optimal", True),
    (5000, "10%", 2, "msm", "optimal", True),
    (1000, "20%", 5, "msm", "optimal", False),
    (3000, "20%", 1, "msm", "optimal", True),
    (2000, 30, 10, "msm", "optimal", True),
    (10_000, 20, 10, "msm", "paper", True),
]
VERY_LONG = [(100_000, 200, 5, "msm", "optimal", True), (100_000, 100, 1, "msm", "optimal", True)]

# In a fresh interpreter: the tables' shape as the guard sees it, its estimate, and the fill.
MEASURE = """
import importlib, json, sys, time
import mini_bptt as mb
from mini_bptt.planning.table_spec import Split
plan = importlib.import_module("mini_bptt.planning.plan")
steps, memory, alpha, strategy, model, output = json.loads(sys.argv[1])
request = plan.make_request(steps, memory, alpha, strategy, model, output)
with plan.tables_for(request) as tables:
    size = tables.size(request.problem.steps, request.budget)
start = time.perf_counter()
with mb.resource_limits(seconds=1e9):
    count = mb.cost(steps, memory, alpha=alpha, strategy=strategy, model=model,
                    internal_has_output=output)
seconds = time.perf_counter() - start
print(json.dumps({
    "tables": len(tables.specs),
    "splits": sum(isinstance(o, Split) for spec in tables.specs for o in spec.options),
    "columns": tables.cols, "forward_count": count,
    "estimated_seconds": size.seconds, "seconds": seconds,
}))
"""


def measure(request: tuple) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(request)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--very-long", action="store_true", help="add two requests at T = 10^5")
    args = parser.parse_args()
    cases = []
    requests = REQUESTS + (VERY_LONG if args.very_long else [])
    for number, request in enumerate(requests, 1):
        print(f"{number}/{len(requests)}: cost{request}", file=sys.stderr, flush=True)
        names = ("steps", "memory", "alpha", "strategy", "model", "internal_has_output")
        case = dict(zip(names, request, strict=True)) | measure(request)
        case["estimate_over_measured"] = round(case["estimated_seconds"] / case["seconds"], 2)
        cases.append(case)
    shape = ("tables", "splits", "steps", "columns")
    design = np.array([time_model.time_terms(*(case[k] for k in shape)) for case in cases])
    seconds = np.array([case["seconds"] for case in cases])
    fit = np.linalg.lstsq(design / seconds[:, None], np.ones(len(cases)), rcond=None)[0]
    fitted = design @ fit / seconds
    ratios = [case["estimate_over_measured"] for case in cases]
    print(
        json.dumps(
            {
                "machine": describe(),
                "constants": {
                    "SECONDS_PER_TABLE_ROW": time_model.SECONDS_PER_TABLE_ROW,
                    "SECONDS_PER_SPLIT_ENTRY": time_model.SECONDS_PER_SPLIT_ENTRY,
                    "SECONDS_PER_SPLIT_CANDIDATE": time_model.SECONDS_PER_SPLIT_CANDIDATE,
                },
                "estimate_over_measured": {"least": min(ratios), "most": max(ratios)},
                "refit": {
                    "constants": [float(f"{value:.3g}") for value in fit],
                    "fitted_over_measured": {
                        "least": round(float(fitted.min()), 2),
                        "most": round(float(fitted.max()), 2),
                    },
                },
                "cases": cases,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
