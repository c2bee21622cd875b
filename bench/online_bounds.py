"""What any online policy can reach at the start: two lower bounds on its ratio to C(T, M).

A policy must decide, before T is known, whether to keep h[0] or to free it once s[1] is
saved (the *anchor*: s[1] restarts step 2 and reverses step 1, and must then be kept to
the end, since only h[0] could recompute it).

* **Keeping h[0]** through step T - 1: the cheapest reversal from any stored set that
  holds h[0] (every set within M units, ``Reversal`` for each) bounds its cost at T.
  Where the offline optimum itself frees h[0], this is above C(T, M).
* **Anchored**: s[1] holds alpha units to the end, so steps 2..T are reversed from h[1]
  with ``M - alpha`` units beside it: cost >= 1 + C(T - 1, M - alpha + 1) (``mb.cost``,
  which counts the start as one unit), for every T.

A goal below both bounds at some (alpha, M) cannot be met by any online policy. JSON on
stdout and in bench/results/online_bounds.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from fractions import Fraction
from pathlib import Path

import mini_bptt as mb
from mini_bptt.machine import describe
from mini_bptt.planning.dp_optimal import optimal_tables
from mini_bptt.planning.reversal import Reversal
from mini_bptt.planning.units import grains_for


def keeping_h0(alpha: int, memory: int, steps: int) -> int:
    """The fewest forwards at ``steps`` over every stored set that holds h[0]."""
    units = grains_for(alpha)
    budget = units.whole_grains(Fraction(memory))
    size = {0: 0, 1: units.hidden, 2: units.internal}
    best = None
    with optimal_tables("msm", units, True) as tables:
        for kinds in itertools.product((0, 1, 2), repeat=steps - 1):
            if units.hidden + sum(size[k] for k in kinds) > budget:
                continue
            hidden = {0} | {p for p, k in enumerate(kinds, 1) if k == 1}
            internal = {p for p, k in enumerate(kinds, 1) if k == 2}
            cost = steps + Reversal(steps, hidden, internal, budget, units, True, tables).cost
            best = cost if best is None else min(best, cost)
    return best


def anchored_worst(alpha: int, memory: int, longest: int) -> tuple[float, int]:
    """The largest (1 + C(T - 1, M - alpha + 1)) / C(T, M) over 2 <= T <= longest."""
    rest = memory - alpha + 1
    worst, at = 1.0, 1
    for steps in range(2, longest + 1):
        bound = (1 + mb.cost(steps - 1, rest, alpha=alpha)) / mb.cost(steps, memory, alpha=alpha)
        if bound > worst:
            worst, at = bound, steps
    return worst, at


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--longest", type=int, default=3000, help="T for the anchored bound")
    parser.add_argument("--small", type=int, default=10, help="T for the h[0] bound (3^T sets)")
    default_out = Path(__file__).parent / "results" / "online_bounds.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args(argv)
    cases = []
    for alpha in (1, 2, 5):
        for memory in (8, 16, 32, 64):
            row = {"alpha": alpha, "memory": memory}
            if memory - alpha + 1 >= 1:
                worst, at = anchored_worst(alpha, memory, args.longest)
                row["anchored_worst"] = {"ratio": round(worst, 4), "at": at}
            if memory <= 16:
                ratios = [
                    (keeping_h0(alpha, memory, t) / mb.cost(t, memory, alpha=alpha), t)
                    for t in range(2, args.small + 1)
                ]
                ratio, at = max(ratios)
                row["keeping_h0_worst"] = {"ratio": round(ratio, 4), "at": at}
            cases.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    result = {
        "machine": describe(),
        "command": " ".join(["bench/online_bounds.py", *sys.argv[1:]]),
        "cases": cases,
    }
    text = json.dumps(result, indent=1)
    print(text)
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(text + "\n")
    partial.replace(out)  # written whole or not at all
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
