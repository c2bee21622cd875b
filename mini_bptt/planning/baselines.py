"""Fixed-shape baselines: standard BPTT, full recomputation, and Chen et al.'s
sqrt(T) checkpointing and its recursive (bisection) variant."""

from __future__ import annotations

from functools import cache
from math import isqrt

from mini_bptt.planning.actions import BACKWARD, FREE_HIDDEN, SAVE_HIDDEN, SAVE_INTERNAL, Action
from mini_bptt.planning.emitter import Emitter


def _reverse_segment(out: Emitter, start: int, end: int) -> None:
    """From h[start], run steps start+1..end keeping their internal states, then reverse them."""
    out.start_at(start)
    for step in range(start + 1, end + 1):
        out.forward_to(step)
        if step < end:  # the last one stays in the core
            out.emit(SAVE_INTERNAL, step)
    out.emit(BACKWARD, end)
    for step in range(end - 1, start, -1):
        out.reverse_saved_internal(step)


def bptt_actions(steps: int) -> list[Action]:
    """Standard BPTT: one sweep keeping every internal state; T forwards, peak 1 + alpha (T-1)."""
    out = Emitter()
    _reverse_segment(out, 0, steps)
    return out.actions


def recompute_actions(steps: int) -> list[Action]:
    """Keep only h[0]; recompute from it for every step: T(T+1)/2 forwards, peak 1."""
    out = Emitter()
    for n in range(steps, 0, -1):
        out.start_at(0)
        out.forward_to(n)
        out.emit(BACKWARD, n)
    return out.actions


def chen_segment_length(steps: int) -> int:
    """ceil(sqrt(steps)): the segment length of Chen et al.'s sqrt(T) scheme."""
    root = isqrt(steps)
    return root if root * root == steps else root + 1


def chen_actions(steps: int) -> list[Action]:
    """Chen et al. (2016): save h at the start of each ~sqrt(T) segment, then reverse the
    segments last to first, recomputing each one keeping its internal states.

    The last segment's internal states are kept during the first sweep (they are
    being computed anyway), so it is not recomputed: T + (T - last segment) forwards.
    """
    length = chen_segment_length(steps)
    starts = list(range(0, steps, length))
    out = Emitter()
    for start in starts[1:]:
        out.forward_to(start)
        out.emit(SAVE_HIDDEN, start)
    ends = starts[1:] + [steps]
    for start, end in reversed(list(zip(starts, ends, strict=False))):
        _reverse_segment(out, start, end)
        if start:
            out.emit(FREE_HIDDEN, start)
    return out.actions


def chen_recursive_actions(steps: int) -> list[Action]:
    """Chen et al.'s recursive variant: save h at the midpoint, reverse the right half,
    then the left half. O(log T) hidden states, O(T log T) forwards."""
    out = Emitter()

    def reverse(a: int, b: int) -> None:
        out.start_at(a)
        if b - a == 1:
            out.forward_to(b)
            out.emit(BACKWARD, b)
            return
        mid = (a + b + 1) // 2
        out.forward_to(mid)
        out.emit(SAVE_HIDDEN, mid)
        out.then(
            lambda: reverse(mid, b),
            lambda: out.emit(FREE_HIDDEN, mid),
            lambda: reverse(a, mid),
        )

    return out.run(lambda: reverse(0, steps))


def baseline_cost(strategy: str, steps: int) -> int:
    """Forward count of a baseline's plan, in closed form (no actions built)."""
    if strategy == "bptt":
        return steps
    if strategy == "recompute":
        return steps * (steps + 1) // 2
    if strategy == "chen":
        length = chen_segment_length(steps)
        last = steps - (steps - 1) // length * length
        return 2 * steps - last
    return _chen_recursive_cost(steps)


def baseline_peak(strategy: str, steps: int, hidden: int, internal: int) -> int:
    """Peak of a baseline's plan in grains (``hidden``/``internal`` per state)."""
    if strategy == "bptt":
        return hidden + internal * (steps - 1)
    if strategy == "recompute":
        return hidden
    if strategy == "chen":
        length = chen_segment_length(steps)
        segments = -(-steps // length)
        last = steps - (segments - 1) * length
        # reversing the last segment (every start held), or the one before (one start freed)
        peak = segments * hidden + (last - 1) * internal
        if segments >= 2:
            peak = max(peak, (segments - 1) * hidden + (length - 1) * internal)
        return peak
    return hidden + hidden * _chen_recursive_depth(steps)


@cache
def _chen_recursive_cost(n: int) -> int:
    """Forwards of ``chen_recursive_actions``: run to the midpoint, then both halves."""
    if n <= 1:
        return n
    half = (n + 1) // 2
    return half + _chen_recursive_cost(n - half) + _chen_recursive_cost(half)


@cache
def _chen_recursive_depth(n: int) -> int:
    """Midpoints held at once while ``n`` steps are reversed (the start not counted)."""
    if n <= 1:
        return 0
    half = (n + 1) // 2
    return max(1 + _chen_recursive_depth(n - half), _chen_recursive_depth(half))


BASELINES = {
    "bptt": bptt_actions,
    "recompute": recompute_actions,
    "chen": chen_actions,
    "chen-recursive": chen_recursive_actions,
}
