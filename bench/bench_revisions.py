"""Single-thread planner speed of two git revisions, side by side in one run.

Run: python bench/bench_revisions.py BEFORE AFTER [--repeats N]  (prints JSON)

Each revision is checked out into a temporary worktree. Every case runs in a fresh
process per revision, the two revisions alternating within each repeat, so that the
machine's noise hits both alike; the JSON gives each case's median seconds per revision
and the ratio AFTER / BEFORE. The cases are a cold fill (the DP engine), a warm sweep
of small requests (what a lock or a cache lookup costs per call) and a check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from mini_bptt.machine import describe

REPOSITORY = Path(__file__).resolve().parent.parent

# Each case prints the seconds of its timed part (imports and warm-up excluded).
CASES = {
    "cost(3000, 150, alpha=1, internal_has_output=False), cold": """
import time, mini_bptt as mb
start = time.perf_counter()
mb.cost(3000, 150, alpha=1, internal_has_output=False)
print(time.perf_counter() - start)
""",
    "plan(10_000, '5%', alpha=5), cold": """
import time, mini_bptt as mb
start = time.perf_counter()
mb.plan(10_000, "5%", alpha=5)
print(time.perf_counter() - start)
""",
    "2,000 warm cost calls (T = 300, alpha 4.5, budgets 2..201)": """
import time, mini_bptt as mb
mb.cost(300, 201, alpha=4.5)
start = time.perf_counter()
for _ in range(10):
    for memory in range(2, 202):
        mb.cost(300, memory, alpha=4.5)
print(time.perf_counter() - start)
""",
    "check of plan(2000, '10%', alpha=4.5), warm": """
import time, mini_bptt as mb
planned = mb.plan(2000, "10%", alpha=4.5)
start = time.perf_counter()
for _ in range(5):
    mb.check(planned.actions, steps=2000, memory="10%", alpha=4.5)
print(time.perf_counter() - start)
""",
}


def worktree(revision: str, into: Path) -> Path:
    path = into / revision
    subprocess.run(
        ["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", "-q", str(path), revision],
        check=True,
    )
    return path


def timed(code: str, tree: Path) -> float:
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    report: dict = {"machine": describe(), "before": args.before, "after": args.after}
    with tempfile.TemporaryDirectory() as scratch:
        trees = {name: worktree(getattr(args, name), Path(scratch)) for name in ("before", "after")}
        try:
            cases = {}
            for case, code in CASES.items():
                seconds: dict[str, list[float]] = {"before": [], "after": []}
                for _ in range(args.repeats):
                    for name, tree in trees.items():
                        seconds[name].append(timed(code, tree))
                medians = {name: statistics.median(s) for name, s in seconds.items()}
                cases[case] = {
                    "before_s": round(medians["before"], 4),
                    "after_s": round(medians["after"], 4),
                    "after_over_before": round(medians["after"] / medians["before"], 3),
                    "all_s": {name: [round(s, 4) for s in runs] for name, runs in seconds.items()},
                }
                print(f"{case}: {cases[case]['after_over_before']}x", file=sys.stderr, flush=True)
            report["cases"] = cases
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(REPOSITORY), "worktree", "remove", "--force", str(tree)],
                    check=False,
                )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
