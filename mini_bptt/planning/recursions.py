"""The recursions as a reader meets them: plain memoised Python, one value at a time.

Memory ``M`` is in grains: a hidden state is ``grains.hidden`` grains and an
internal state ``grains.internal`` (alpha = internal / hidden). ``INF`` marks a
budget too small for any plan. These functions define the numbers; the tables of
``engine.reference`` (the full search) and ``engine.tables`` (the fast exact engine)
are tested to equal them entry for entry. They recurse ``t`` deep, so keep ``t``
to a few hundred.

The paper's recursions (Gruslys et al. 2016, arXiv:1606.03401, section 3; the
start state is held in one of the ``M`` grains for the whole sub-problem):

    Q0(t, M)    = t + C(t - 1, M)                         run to the end, save nothing
    Q1(t, M, y) = y + C(y, M)     + C(t - y, M - H)       save h[y]   (HSM, MSM)
    Q2(t, M, y) = y + C(y - 1, M) + C(t - y, M - A)       save s[y]   (ISM, MSM)
    C(t, M) = min over the allowed Q and 1 <= y < t;  C(0, M) = 0,  C(1, M) = 1

The optimal model (the true minimum under the action rules) tells three starts
apart: S (h[a] saved, freed at its last use), P (the cursor at h[a], nothing
holds it) and R (h[a] restarts for free from a saved s[a]); see ``dp_optimal``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from mini_bptt.planning.units import Grains

INF = float("inf")

Cost = Callable[[int, int], float]


def paper_recursion(strategy: str, grains: Grains) -> Cost:
    """``C(t, M)`` of the paper's BPTT-HSM, BPTT-ISM or BPTT-MSM (``strategy``)."""
    H, A = grains.hidden, grains.internal
    save_hidden, save_internal = strategy in ("hsm", "msm"), strategy in ("ism", "msm")

    @cache
    def C(t: int, M: int) -> float:
        if M < H:
            return INF  # no room for the start state
        if t <= 1:
            return t
        options = [t + C(t - 1, M)]  # Q0
        for y in range(1, t):
            if save_hidden:
                options.append(y + C(y, M) + C(t - y, M - H))  # Q1
            if save_internal:
                options.append(y + C(y - 1, M) + C(t - y, M - A))  # Q2
        return min(options)

    return C


def optimal_recursion(strategy: str, grains: Grains, internal_has_output: bool) -> Cost:
    """``S(t, M)`` of the optimal model: the fewest forwards of any valid plan.

    ``X`` is where the part right of a saved ``s[y]`` starts: R when the internal
    state holds the step's output (it restarts the forward for free), else P.
    """
    H, A = grains.hidden, grains.internal
    save_hidden, save_internal = strategy in ("hsm", "msm"), strategy in ("ism", "msm")

    @cache
    def S(t: int, M: int) -> float:  # h[a] saved (counted in M), freed at its last use
        if M < H:
            return INF
        if t <= 1:
            return t
        options = [t + S(t - 1, M)]  # run to the end, reverse the last step from the core
        options += [y + S(y, M) + P(t - y, M - H) for y in range(1, t)]  # h[a] kept left
        if save_internal:
            options.append(1 + X(t - 1, M - A))  # save s[a+1]; h[a] freed, its last use
            options += [y + S(y - 1, M) + X(t - y, M - H - A) for y in range(2, t)]  # s[y]
        return min(options)

    @cache
    def P(t: int, M: int) -> float:  # the cursor at h[a]; keeping it costs a save
        if M < 0:
            return INF
        if t <= 1:
            return t
        options = [S(t, M)] if save_hidden else [INF]  # save h[a] first
        if save_internal:
            options.append(1 + X(t - 1, M - A))  # or save s[a+1] at once
        return min(options)

    @cache
    def R(t: int, M: int) -> float:  # h[a] comes free from a saved s[a] held outside
        if M < 0:
            return INF
        if t <= 1:
            return t
        options = [t + R(t - 1, M), 1 + R(t - 1, M - A)]
        options += [y + R(y, M) + P(t - y, M) for y in range(1, t)]
        options += [y + R(y - 1, M) + R(t - y, M - A) for y in range(2, t)]
        return min(options)

    def X(t: int, M: int) -> float:
        return R(t, M) if internal_has_output else P(t, M)

    return S
