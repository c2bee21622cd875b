"""BPTT-HSM in closed form (binomial checkpointing, Griewank and Walther's revolve).

With ``beta(m, r) = binom(m + r, r)`` and ``r`` the integer such that
``beta(m, r - 1) < t <= beta(m, r)``:  ``C(t, m) = (r + 1) t - binom(m + r, r - 1)``.
``m`` counts hidden-state slots including the one holding the start state.
``r + 1`` is the most times any one step runs forward.
"""

from __future__ import annotations

from math import comb


def repetition_number(t: int, m: int) -> int:
    """The least ``r >= 0`` with ``binom(m + r, r) >= t``, for ``t >= 1, m >= 1``.

    ``binom(m + r, r)`` grows with ``r``, so an exponential search then a bisection
    find ``r`` in O(log r) evaluations of ``math.comb`` (even for ``m = 1``, where
    ``r = t - 1``, or ``t = 10**30``).
    """
    if t <= 1:
        return 0
    high = 1
    while comb(m + high, high) < t:
        high *= 2
    low = high // 2  # comb(m + low, low) < t, or low = 0
    while high - low > 1:
        mid = (low + high) // 2
        if comb(m + mid, mid) < t:
            low = mid
        else:
            high = mid
    return high


def hsm_cost(t: int, m: int) -> int:
    """C(t, m): forward evaluations to reverse ``t`` steps with ``m >= 1`` hidden slots.

    O(log t) big-integer binomials, whatever the size of ``t`` and ``m``.
    """
    if t <= 0:
        return 0
    r = repetition_number(t, m)
    return (r + 1) * t - (comb(m + r, r - 1) if r >= 1 else 0)


def hsm_split(t: int, m: int) -> int:
    """An optimal first checkpoint position D(t, m) for ``t >= 2, m >= 2``.

    Q(y) = y + C(t - y, m - 1) + C(y, m) is convex in y (C is convex in t: its
    slope r + 1 never decreases), so the first y whose forward difference is
    >= 0 minimises it; found by bisection in O(log t) cost evaluations.
    """

    def q(y: int) -> int:
        return y + hsm_cost(t - y, m - 1) + hsm_cost(y, m)

    lo, hi = 1, t - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if q(mid + 1) - q(mid) >= 0:
            hi = mid
        else:
            lo = mid + 1
    return lo
