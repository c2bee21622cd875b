"""BPTT-HSM in closed form (binomial checkpointing; SPEC section 2).

With ``beta(m, r) = binom(m + r, r)`` and ``r`` the integer such that
``beta(m, r - 1) < t <= beta(m, r)``:  ``C(t, m) = (r + 1) t - binom(m + r, r - 1)``.
``m`` counts hidden-state slots including the one holding the start state.
"""

from __future__ import annotations

from math import comb


def hsm_cost(t: int, m: int) -> int:
    """C(t, m): forward evaluations to reverse ``t`` steps with ``m >= 1`` hidden slots. O(r)."""
    if t <= 0:
        return 0
    r, beta = 0, 1  # beta = binom(m + r, r)
    while beta < t:
        r += 1
        beta = beta * (m + r) // r
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
