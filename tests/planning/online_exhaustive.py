"""Ground truth for the reversal: the cheapest valid continuation from a stored set.

The state just after the forward of step T in a first sweep that left ``hidden`` and
``internal`` saved: cursor at h[T], core s[T], next step to reverse T. From there a
Dijkstra search over every state of the rules (docs/model.md), taking every action they
allow, as ``tests/planning/exhaustive.py`` does from the initial state (the same moves
and the same cost-free reduction: an item that can never be read again is dropped). It
shares no code with the library.
"""

from __future__ import annotations

import heapq
from fractions import Fraction


def min_reversal_count(
    steps: int,
    hidden: frozenset[int],
    internal: frozenset[int],
    memory: Fraction,
    alpha: Fraction,
    internal_has_output: bool = True,
) -> int | None:
    """Fewest forwards after the first sweep that reverse steps T..1, or None if the
    stored set is over ``memory`` (the search always finds a plan from h[0] otherwise)."""
    alpha, memory = Fraction(alpha), Fraction(memory)

    def canonical(n, cursor, core, hidden, internal):
        hidden = frozenset(j for j in hidden if j < n)
        internal = frozenset(j for j in internal if j <= n)
        cursor = cursor if cursor is not None and cursor < n else None
        core = core if core is not None and core <= n else None
        return n, cursor, core, hidden, internal

    def used(hidden, internal):
        return len(hidden) + alpha * len(internal)

    def moves(n, cursor, core, hidden, internal):
        if core == n or n in internal:
            return [(0, (n - 1, cursor, core, hidden, internal))]  # backward n: free, at once
        out = []
        if cursor is not None:
            out.append((1, (n, cursor + 1, cursor + 1, hidden, internal)))
            if cursor not in hidden:
                out.append((0, (n, cursor, core, hidden | {cursor}, internal)))
        if core is not None and core not in internal:
            out.append((0, (n, cursor, core, hidden, internal | {core})))
        for j in hidden:
            out.append((0, (n, j, None, hidden, internal)))
            out.append((0, (n, cursor, core, hidden - {j}, internal)))
        for j in internal:
            if internal_has_output:
                out.append((0, (n, j, core, hidden, internal)))
            out.append((0, (n, cursor, core, hidden, internal - {j})))
        return out

    if used(hidden, internal) > memory:
        return None
    start = canonical(steps, steps, steps, frozenset(hidden), frozenset(internal))
    best = {start: 0}
    heap = [(0, 0, start)]
    counter = 1
    while heap:
        cost, _, state = heapq.heappop(heap)
        if best[state] != cost:
            continue
        if state[0] == 0:
            return cost
        for step_cost, nxt in moves(*state):
            nxt = canonical(*nxt)
            if used(nxt[3], nxt[4]) > memory:
                continue
            if cost + step_cost < best.get(nxt, 1 << 60):
                best[nxt] = cost + step_cost
                heapq.heappush(heap, (cost + step_cost, counter, nxt))
                counter += 1
    return None
