"""The vectorised table engine equals the recursions written out plainly, and growing or
re-typing the tables never changes a value."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from mini_bptt.planning.dp_optimal import optimal_specs
from mini_bptt.planning.dp_paper import paper_spec
from mini_bptt.planning.dp_tables import DPTables
from mini_bptt.planning.units import units_for

INF = float("inf")


def plain_optimal(strategy: str, H: int, A: int, output: bool):
    """S, P, R of dp_optimal's docstring as memoised Python, one value at a time."""
    hidden_ok, internal_ok = strategy in ("hsm", "msm"), strategy in ("ism", "msm")

    @cache
    def S(t, m):
        if m < H:
            return INF
        if t <= 1:
            return t
        best = min([t + S(t - 1, m)] + [y + S(y, m) + P(t - y, m - H) for y in range(1, t)])
        if internal_ok:
            best = min(best, 1 + X(t - 1, m - A))
            best = min([best] + [y + S(y - 1, m) + X(t - y, m - H - A) for y in range(2, t)])
        return best

    @cache
    def R(t, m):
        if m < 0:
            return INF
        if t <= 1:
            return t
        best = min(
            [t + R(t - 1, m), 1 + R(t - 1, m - A)]
            + [y + R(y, m) + P(t - y, m) for y in range(1, t)]
            + [y + R(y - 1, m) + R(t - y, m - A) for y in range(2, t)]
        )
        return best

    @cache
    def P(t, m):
        if m < 0:
            return INF
        if t <= 1:
            return t
        best = S(t, m) if hidden_ok else INF
        return min(best, 1 + X(t - 1, m - A)) if internal_ok else best

    def X(t, m):
        return R(t, m) if output else P(t, m)

    return S


@pytest.mark.parametrize("strategy", ["hsm", "ism", "msm"])
@pytest.mark.parametrize("output", [True, False])
@pytest.mark.parametrize("alpha", [1, 2.5, 4])
def test_optimal_tables_equal_the_plain_recursion(strategy, output, alpha):
    units = units_for(alpha)
    H, A = units.hidden, units.internal
    tables = DPTables(tuple(optimal_specs(strategy, units, output).values()))
    tables.ensure(30, 12 * H)
    S = plain_optimal(strategy, H, A, output)
    for t in range(31):
        for m in range(H, 12 * H + 1):
            assert tables.value("S", t, m) == S(t, m), (t, m)


def test_growing_and_retyping_keep_every_value(monkeypatch):
    units = units_for(1.5)
    spec = paper_spec("msm", units)
    fresh = DPTables((spec,))
    fresh.ensure(80, 30)
    grown = DPTables((spec,))
    for steps, width in [(5, 3), (30, 4), (31, 20), (80, 30)]:
        grown.ensure(steps, width)
    assert grown.steps == 80 and grown.width >= 30
    # switch to int64 at 50 steps instead of 20,000, to exercise the re-typing cheaply
    monkeypatch.setattr(
        DPTables, "_dtype", staticmethod(lambda s: np.int32 if s <= 50 else np.int64)
    )
    retyped = DPTables((spec,))
    retyped.ensure(40, 30)
    assert retyped.dtype == np.int32
    retyped.ensure(80, 30)
    assert retyped.dtype == np.int64
    retyped.ensure(10, 5)  # a smaller request keeps the wide tables
    assert retyped.dtype == np.int64 and retyped.steps == 80
    for t in range(81):
        for m in range(31):
            expected = fresh.value("C", t, m)
            if expected >= fresh.inf:
                assert grown.value("C", t, m) >= grown.inf
                assert retyped.value("C", t, m) >= retyped.inf
            else:
                assert grown.value("C", t, m) == retyped.value("C", t, m) == expected


@pytest.mark.parametrize("alpha", [1, 2.5, 4])
def test_paper_msm_table_equals_the_plain_recursion(alpha):
    units = units_for(alpha)
    H, A = units.hidden, units.internal

    @cache
    def C(t, m):  # SPEC section 2: Q0, Q1 (save h[y]) and Q2 (save s[y])
        if m < H:
            return INF
        if t <= 1:
            return t
        q1 = [y + C(y, m) + C(t - y, m - H) for y in range(1, t)]
        q2 = [y + C(y - 1, m) + C(t - y, m - A) for y in range(1, t)]
        return min([t + C(t - 1, m)] + q1 + q2)

    tables = DPTables((paper_spec("msm", units),))
    tables.ensure(30, 12 * H)
    for t in range(31):
        for m in range(H, 12 * H + 1):
            assert tables.value("C", t, m) == C(t, m), (t, m)
