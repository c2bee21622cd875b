"""What any online policy can reach at the start: two lower bounds on its ratio to C(T, M).

A policy must decide, before T is known, whether to keep h[0] or to free it once s[1] is
saved (the *anchor*: s[1] restarts step 2 and reverses step 1, and must then be kept to
the end, since only h[0] could recompute it).

* **Keeping h[0]** through step T - 1: the cheapest reversal from any stored set that
  holds h[0] (every set within M units, ``Reversal`` for each) bounds its cost at T.
  Where the offline optimum itself frees h[0], this is above C(T, M).
* **Anchored**: s[1] holds alpha units to the end, so steps 2..T are reversed from h[1]
  with ``M - alpha`` units beside it: cost >= 1 + C(T - 1, M - alpha + 1) (``mb.cost``,
  which counts the start as one unit), for every T. (Steps 2..T form a plan from h[1],
  which s[1] gives at any time, within ``M - alpha`` units: table R of the optimal model
  at ``M - alpha``, never below S at ``M - alpha + 1``, where h[1] is held until its last
  use. Step 1's forward is made once: nothing could recompute it.) Its worst over every
  T <= ``--longest`` and its mean, with each ratio at least 1.

The goal (worst <= ``goal``, mean <= 1.03 over every T <= ``--longest``) is then out of
reach for every online policy at (alpha, M) when the keeping-h[0] bound passes the worst
at some T0 (so h[0] must be freed by step T0 - 1) and the anchored mean over T >= T0,
with 1 below, passes 1.03: ``impossible`` in the JSON. JSON on stdout and in
bench/results/online_bounds.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
from bench_online import goal  # bench/, next to this script

import mini_bptt as mb
from mini_bptt.machine import describe
from mini_bptt.oracle.trace_file import atomic_path
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


def anchored_ratios(alpha: int, memory: int, longest: int) -> np.ndarray:
    """``max(1, (1 + C(T - 1, M - alpha + 1)) / C(T, M))`` for T = 1..longest (index T;
    index 0 unused), from two columns of the optimal model's MSM table S."""
    units = grains_for(alpha)
    budget = units.whole_grains(Fraction(memory))
    rest = units.whole_grains(Fraction(memory - alpha + 1))
    with optimal_tables("msm", units, True) as tables:
        tables.ensure(longest, budget)
        offline = np.asarray(tables.tab["S"][tables.off + budget, : longest + 1], np.int64)
        smaller = np.asarray(tables.tab["S"][tables.off + rest, : longest + 1], np.int64)
    ratio = np.ones(longest + 1)
    steps = np.arange(2, longest + 1)
    ratio[2:] = np.maximum(1.0, (1 + smaller[steps - 1]) / offline[steps])
    return ratio


def reachable_within(alpha: int, memory: int, longest: int, limit: float) -> list[int]:
    """How many stored sets an online policy keeping h[0] can hold after each step i <
    ``longest`` with every ratio at T = 2..i+1 at most ``limit`` (the cost from a set is
    T plus its ``Reversal``, a plan of the rules, so each such sequence is a policy that
    reaches it). Only the sets maximal within the memory are followed: a larger set is
    never worse (the reversal may drop what it does not need, and what may be kept later
    only grows). An empty count means no policy of this kind stays within ``limit``."""
    units = grains_for(alpha)
    budget = units.whole_grains(Fraction(memory))
    size = {"h": units.hidden, "s": units.internal}
    offline = {t: mb.cost(t, memory, alpha=alpha) for t in range(2, longest + 1)}
    layer, counts = {frozenset({(0, "h")})}, []
    with optimal_tables("msm", units, True) as tables:
        for i in range(1, longest):
            steps = i + 1
            grown = set()
            for kept in layer:
                grown.update(_maximal_within({*kept, (i, "h"), (i, "s")}, size, budget))
            layer = set()
            for kept in grown:
                hidden = {p for p, kind in kept if kind == "h"}
                internal = {p for p, kind in kept if kind == "s"}
                reversal = Reversal(steps, hidden, internal, budget, units, True, tables)
                if steps + reversal.cost <= limit * offline[steps]:
                    layer.add(kept)
            counts.append(len(layer))
            print(f"  T = {steps}: {len(layer)} sets within {limit}", file=sys.stderr)
            if not layer:
                break
    return counts


def _maximal_within(items: set, size: dict, budget: int) -> list[frozenset]:
    """The subsets of ``items`` that hold h[0], fit ``budget`` and can take no item back."""
    order = sorted(items)
    out = []

    def walk(k, kept, used, dropped):
        rest = sum(size[kind] for _, kind in order[k:])
        if used + rest <= budget:
            if all(used + rest + size[kind] > budget for _, kind in dropped):
                out.append(frozenset(kept + order[k:]))
            return
        item = order[k]
        if item == (0, "h") or used + size[item[1]] <= budget:
            walk(k + 1, [*kept, item], used + size[item[1]], dropped)
        if item != (0, "h"):
            walk(k + 1, kept, used, [*dropped, item])

    walk(0, [], 0, [])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--longest", type=int, default=10_000, help="T for the anchored bound")
    parser.add_argument("--small", type=int, default=10, help="T for the h[0] bound (3^T sets)")
    parser.add_argument(
        "--reach", default="", help="alpha:M:T: the online search within the goal to T"
    )
    default_out = Path(__file__).parent / "results" / "online_bounds.json"
    parser.add_argument("--out", default=str(default_out))
    args = parser.parse_args(argv)
    cases = []
    for alpha in (1, 2, 5):
        for memory in (8, 16, 32, 64):
            row = {"alpha": alpha, "memory": memory}
            anchored = None
            if memory - alpha + 1 >= 1:
                anchored = anchored_ratios(alpha, memory, args.longest)
                at = int(np.argmax(anchored[1:])) + 1
                row["anchored_worst"] = {"ratio": round(float(anchored[at]), 4), "at": at}
                row["anchored_mean"] = round(float(anchored[1:].mean()), 4)
            if memory <= 16:
                ratios = [
                    (keeping_h0(alpha, memory, t) / mb.cost(t, memory, alpha=alpha), t)
                    for t in range(2, args.small + 1)
                ]
                ratio, at = max(ratios)
                row["keeping_h0_worst"] = {"ratio": round(ratio, 4), "at": at}
                over = [t for r, t in sorted(ratios, key=lambda x: x[1]) if r > goal(memory)]
                if over and anchored is not None:
                    # h[0] freed by step over[0] - 1: anchored from T = over[0] on
                    first = over[0]
                    mean = (first - 1 + anchored[first:].sum()) / args.longest
                    row["impossible"] = bool(mean > 1.03)
                    row["impossible_why"] = (
                        f"keeping h[0] past step {first - 1} costs over {goal(memory)} x C "
                        f"at T = {first}; freeing it by then keeps s[1]: mean ratio over T <= "
                        f"{args.longest} at least {mean:.4f}"
                    )
            cases.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    searches = []
    for spec in filter(None, args.reach.split(",")):
        alpha, memory, longest = (int(x) for x in spec.split(":"))
        counts = reachable_within(alpha, memory, longest, goal(memory))
        searches.append(
            {"alpha": alpha, "memory": memory, "limit": goal(memory), "sets_after_step": counts}
        )
    result = {
        "machine": describe(),
        "command": " ".join(["bench/online_bounds.py", *sys.argv[1:]]),
        "cases": cases,
        "online_search": searches,
    }
    text = json.dumps(result, indent=1)
    print(text)
    out = Path(args.out)
    with atomic_path(out) as partial:  # written whole or not at all
        partial.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
