"""Ground truth for the planner: the cheapest valid plan by exhaustive search.

A Dijkstra search over every state of the rules in docs/model.md (next step to reverse, cursor,
core, saved hidden and internal states), taking every action the rules allow;
the cost of an edge is 1 for ``forward`` and 0 otherwise. It shares no code
with the planner. The only reduction is one that provably changes no cost:
an item that can never be used again (h[j] or the cursor for j >= n, s[j] or
the core for j > n, where n is the next step to reverse) is dropped, which is
what freeing it at once would do, and freeing never hurts.
"""

from __future__ import annotations

import heapq
from fractions import Fraction


def min_forward_count(
    steps: int,
    memory: Fraction,
    alpha: Fraction,
    internal_has_output: bool = True,
    allow_hidden: bool = True,
    allow_internal: bool = True,
) -> int | None:
    """Fewest forward evaluations of any valid plan, or None if no plan fits ``memory``."""
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
        """(cost, next state) for every action the rules allow."""
        if core == n or n in internal:
            # backward n is free and changes no cursor, core or saved item: taking it at once
            # loses nothing and only lets more items be dropped, so it is the only move tried.
            return [(0, (n - 1, cursor, core, hidden, internal))]
        out = []
        if cursor is not None:
            out.append((1, (n, cursor + 1, cursor + 1, hidden, internal)))  # forward
            if allow_hidden and cursor not in hidden:
                out.append((0, (n, cursor, core, hidden | {cursor}, internal)))  # save_hidden
        if allow_internal and core is not None and core not in internal:
            out.append((0, (n, cursor, core, hidden, internal | {core})))  # save_internal
        for j in hidden:
            out.append((0, (n, j, None, hidden, internal)))  # restore_hidden
            out.append((0, (n, cursor, core, hidden - {j}, internal)))  # free_hidden
        for j in internal:
            if internal_has_output:
                out.append((0, (n, j, core, hidden, internal)))  # restore_internal
            out.append((0, (n, cursor, core, hidden, internal - {j})))  # free_internal
        return out

    start = canonical(steps, 0, None, frozenset({0}), frozenset())
    if used(start[3], start[4]) > memory:
        return None
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
