"""Ground truth for ``trace_from_calls``, by exhaustive search over every valid trace that
makes exactly the calls of a log (docs/model.md, *Actions*). It shares no code with
mini_bptt.

A state is (calls made, cursor, core, saved hidden states, saved internal states). Between
two calls a trace may take any save, restore and free the rules allow, in any order and any
number; the only calls it makes are the log's, in order.

``least_peak`` is a bottleneck Dijkstra search: a path's value is the most grains saved
after any of its actions (``h[0]`` at the start counts), states are popped by that value,
so the first state past the last call is reached at the least peak of any trace. Two
reductions, neither of which changes the least peak:

* an item that no later call can use is dropped, which is what freeing it at once would
  do (freeing lowers the memory and disables nothing). h[j] is usable only by a later
  ``forward j+1`` (restore it there, or keep the cursor on it); s[j] by a later
  ``backward j`` or, when it holds the output, a later ``forward j+1`` (restore it, or save
  h[j] from the cursor it gives). The cursor and the core are dropped on the same terms;
* a backward that can be made is made at once: it changes no cursor, core or saved item,
  and the load it is made at is already in the path's value.

``first_impossible`` is a plain reachability search that saves the cursor and the core at
every chance and never frees (without a budget, keeping more never disables a call): the
index of the first call no valid trace can make.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Sequence

State = tuple  # (calls made, cursor, core, frozenset hidden, frozenset internal)


def _later_calls(calls: Sequence[tuple[str, int]]) -> list[frozenset]:
    """``later[i]``: the (op, step) pairs among ``calls[i:]``."""
    later = [frozenset()] * (len(calls) + 1)
    for i in range(len(calls) - 1, -1, -1):
        later[i] = later[i + 1] | {calls[i]}
    return later


def _moves(state: State, calls, next_step: int, internal_has_output: bool, frees: bool):
    """Every state one action away: a save, restore, free (if ``frees``) or the next call,
    whose backward must reverse ``next_step``."""
    i, cursor, core, saved_h, saved_s = state
    if cursor is not None and cursor not in saved_h:
        yield i, cursor, core, saved_h | {cursor}, saved_s
    if core is not None and core not in saved_s:
        yield i, cursor, core, saved_h, saved_s | {core}
    for j in saved_h:
        yield i, j, None, saved_h, saved_s
        if frees:
            yield i, cursor, core, saved_h - {j}, saved_s
    for j in saved_s:
        if internal_has_output:
            yield i, j, core, saved_h, saved_s
        if frees:
            yield i, cursor, core, saved_h, saved_s - {j}
    if i < len(calls):
        op, step = calls[i]
        if op == "forward" and cursor == step - 1:
            yield i + 1, step, step, saved_h, saved_s
        if op == "backward" and step == next_step and (core == step or step in saved_s):
            yield i + 1, cursor, core, saved_h, saved_s


def least_peak(
    calls: Sequence[tuple[str, int]],
    steps: int,
    hidden: int,
    internal: int,
    internal_has_output: bool,
    below: int | None = None,
    state_limit: int = 2_000_000,
) -> int | None:
    """Least peak, in grains (a hidden state ``hidden`` grains, an internal state
    ``internal``), of a valid trace making exactly ``calls``; None when there is none, or
    none below ``below`` grains when that is given (then only such traces are searched).
    Raises RuntimeError past ``state_limit`` states (a test too large, not an answer)."""
    calls = list(calls)
    count = len(calls)
    later = _later_calls(calls)
    # the step the next backward must reverse, given how many calls are made
    backwards_left = [sum(op == "backward" for op, _ in calls[i:]) for i in range(count + 1)]
    if backwards_left[0] != steps:
        return None  # the log does not reverse every step once

    def usable_hidden(i: int, j: int) -> bool:
        return ("forward", j + 1) in later[i]

    def usable_internal(i: int, j: int) -> bool:
        return ("backward", j) in later[i] or (
            internal_has_output and ("forward", j + 1) in later[i]
        )

    def canonical(i, cursor, core, saved_h, saved_s) -> State:
        saved_h = frozenset(j for j in saved_h if usable_hidden(i, j))
        saved_s = frozenset(j for j in saved_s if usable_internal(i, j))
        if cursor is not None and not usable_hidden(i, cursor):
            cursor = None
        if core is not None and not usable_internal(i, core):
            core = None
        return i, cursor, core, saved_h, saved_s

    def successors(state: State):
        i, _, core, _, saved_s = state
        if i < count and calls[i][0] == "backward":
            step = calls[i][1]
            if step == backwards_left[i] and (core == step or step in saved_s):
                return [(i + 1, *state[1:])]  # made at once: see the module docstring
        return _moves(state, calls, backwards_left[i], internal_has_output, frees=True)

    initial = hidden  # h[0] is saved at the start, whatever is freed next
    if below is not None and initial >= below:
        return None
    start = canonical(0, 0, None, frozenset({0}), frozenset())
    best = {start: initial}
    heap = [(initial, 0, start)]
    pushed = 1
    while heap:
        peak, _, state = heapq.heappop(heap)
        if best[state] != peak:
            continue
        if state[0] == count:
            return peak
        for nxt in successors(state):
            value = max(peak, hidden * len(nxt[3]) + internal * len(nxt[4]))
            if below is not None and value >= below:
                continue
            nxt = canonical(*nxt)
            if value < best.get(nxt, 1 << 62):
                best[nxt] = value
                heapq.heappush(heap, (value, pushed, nxt))
                pushed += 1
                if len(best) > state_limit:
                    raise RuntimeError(f"more than {state_limit} states")
    return None


def first_impossible(
    calls: Sequence[tuple[str, int]], steps: int, internal_has_output: bool
) -> int | None:
    """The index of the first call that no valid trace can make (``len(calls)`` when every
    call can be made but the log ends before steps T..1 are all reversed); None when a
    valid trace makes the whole log."""
    calls = list(calls)
    made_backwards = [0]
    for op, _ in calls:
        made_backwards.append(made_backwards[-1] + (op == "backward"))

    def keep_all(i, cursor, core, saved_h, saved_s) -> State:
        saved_h = saved_h | {cursor} if cursor is not None else saved_h
        saved_s = saved_s | {core} if core is not None else saved_s
        return i, cursor, core, saved_h, saved_s

    start = keep_all(0, 0, None, frozenset({0}), frozenset())
    seen = {start}
    queue = deque([start])
    furthest = 0
    while queue:
        state = queue.popleft()
        furthest = max(furthest, state[0])
        next_step = steps - made_backwards[state[0]]
        for nxt in _moves(state, calls, next_step, internal_has_output, frees=False):
            nxt = keep_all(*nxt)
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    if furthest < len(calls):
        return furthest
    return None if made_backwards[-1] == steps else len(calls)
