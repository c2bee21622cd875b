"""Bisection of dense columns: where both parts are convex on the middle, the middle's
minimum is bisected and none of the column's candidates is offered; elsewhere the
candidates are; every entry stays equal to the full search's."""

from __future__ import annotations

import numpy as np
import pytest

from mini_bptt.planning.engine import BreakpointTables, bisection
from mini_bptt.planning.engine.bisection import convex_middle, middle_minima
from mini_bptt.planning.table_spec import Run, Split, TableSpec
from mini_bptt.planning.units import grains_for
from tests.planning.engine.common import (
    assert_engines_agree,
    configurations,
    specs_of,
    use_blocks,
)


def any_dense(fast: BreakpointTables) -> bool:
    return any(found.dense.any() for found in fast.table_breakpoints.values())


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1, 2.5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_columns_dense_early_give_the_same_entries(monkeypatch, alpha, model, strategy, output):
    """Columns called dense after 4 breakpoints: the middle of most splits is bisected."""
    monkeypatch.setattr(bisection, "DENSE_MINIMUM", 4)
    monkeypatch.setattr(bisection, "DENSE_FRACTION", 1000)
    units = grains_for(alpha)
    steps, width = 200, 60 * units.hidden
    specs = specs_of(model, strategy, output, units)
    fast = assert_engines_agree(specs, steps, width)
    assert any_dense(fast)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1, 7 / 3])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_without_dense_columns_the_candidates_alone_give_every_entry(
    monkeypatch, alpha, model, strategy, output, steps=300
):
    """No column is ever bisected: every split is read from its ends and the breakpoint
    candidates only, which are sorted and merged many times on the way."""
    monkeypatch.setattr(bisection, "DENSE_MINIMUM", 10**9)
    units = grains_for(alpha)
    width = 80 * units.hidden
    specs = specs_of(model, strategy, output, units)
    fast = assert_engines_agree(specs, steps, width)
    assert not any_dense(fast)


@pytest.mark.parametrize("strategy, output", [("ism", True), ("msm", False)])
def test_without_dense_columns_the_candidates_alone_give_every_entry_quickly(
    monkeypatch, strategy, output
):
    """The check above on two of the planner's table sets at alpha = 1, 150 rows."""
    test_without_dense_columns_the_candidates_alone_give_every_entry(
        monkeypatch, 1, "optimal", strategy, output, steps=150
    )


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_columns_with_many_breakpoints_are_bisected_or_offered(
    monkeypatch, model, strategy, output
):
    """Columns called dense after 4 breakpoints (blocks of 8 rows): where both parts of a
    split are convex on the middle, its minimum there is bisected and none of the column's
    candidates is offered; elsewhere the candidates are offered as usual. Both happen, and
    every entry stays equal to the full search's.

    Each column with a candidate offered has one evaluated (the leaders), so no candidate
    of a bisected column evaluated means none offered."""
    monkeypatch.setattr(bisection, "DENSE_MINIMUM", 4)
    monkeypatch.setattr(bisection, "DENSE_FRACTION", 1000)
    use_blocks(monkeypatch, 8)
    evaluated: list[np.ndarray] = []
    bisected_offered, bisected_count, dense_offered = [], [], []

    def on_evaluate(name, index, dst, values):
        evaluated.append(dst)

    def on_block(tables, state, t0):
        option, first = state.option, state.first
        if state.bisected is not None and evaluated:
            bisected_offered.append(int(state.bisected[np.concatenate(evaluated)].sum()))
        evaluated.clear()
        found = tables.table_breakpoints
        left, right = found[option.left].dense, found[option.right].dense
        s, cols = option.shift, tables.cols
        dense = set(first + np.flatnonzero(left[first:] | right[first - s : cols - s]))
        middle = state.middle if first < cols else None
        columns = np.arange(cols - first)[middle[0]] if middle else []
        bisected = set(first + np.asarray(columns, dtype=int))
        assert bisected <= dense
        bisected_count.append(len(bisected))
        dense_offered.append(len(dense - bisected))

    units = grains_for(2.5)
    specs = specs_of(model, strategy, output, units)
    assert_engines_agree(specs, 200, 60 * units.hidden, on_evaluate=on_evaluate, on_block=on_block)
    assert sum(bisected_offered) == 0 and len(bisected_offered) > 0
    assert sum(bisected_count) > 0
    if strategy == "msm":  # its dense columns are not all convex
        assert sum(dense_offered) > 0


@pytest.mark.parametrize("option", [Split("C", 0, "C", 1), Split("C", -1, "C", 2, y_min=3)])
def test_the_middle_is_called_convex_only_when_no_row_it_reads_is_not_convex(option):
    """For a column whose only point that is not convex is row ``r``: the middle split
    points of a block (those the windows leave out) are bisected exactly when no row they
    read has ``r`` strictly inside, found by enumerating them; and the limit is tight."""
    fast = BreakpointTables((TableSpec("C", 0, (Run("C"), option)),))
    fast.ensure(100, 20)
    t0 = 64
    t1 = t0 + fast.block
    left_inside, right_inside = set(), set()
    for t in range(t0, t1):
        middle = range(t - t0 + option.y_min + 1, t0 - 1)  # up to t0 - 2
        if len(middle) >= 3:
            left_inside |= set(range(middle[0] + option.lo + 1, middle[-1] + option.lo))
            right_inside |= set(range(t - middle[-1] + 1, t - middle[0]))
    column = np.array([10])
    for side, inside in (("left", left_inside), ("right", right_inside)):
        claimed = []
        for r in range(-1, t0 - 1):
            nonconvex = np.full(fast.cols, -1, dtype=np.int64)
            nonconvex[column - (option.shift if side == "right" else 0)] = r
            claimed.append(bool(convex_middle(nonconvex, nonconvex, option, column)[0]))
            if claimed[-1]:
                assert r not in inside, (side, r)
        # bisected up to the row just below the first row read inside, and not from it on
        assert claimed == [r < min(inside) for r in range(-1, t0 - 1)], side


@pytest.mark.parametrize("option", [Split("C", 0, "C", 1), Split("C", -1, "C", 2, y_min=3)])
@pytest.mark.parametrize("seed", range(5))
def test_the_bisected_middle_is_the_least_value_over_exactly_the_middle(option, seed):
    """Columns that are convex on the rows the middle split points read and random (often
    far lower) elsewhere: the bisection's result is the least value over exactly those
    split points, found by a loop, at every row of blocks that start on many rows."""
    rng = np.random.default_rng(seed)
    fast = BreakpointTables((TableSpec("C", 0, (Run("C"), option)),))
    fast.ensure(100, 20)
    left_column, s, lo, y_min = 10, option.shift, option.lo, option.y_min
    for t0 in range(40, 68, 3):
        table = fast.tab["C"]
        table[:, :] = rng.integers(0, 50, size=table.shape)  # anything outside the middle
        rows = np.arange(1, t0 - 1)
        for column in (left_column, left_column - s):  # convex: rising steps
            steps = np.sort(rng.integers(-30, 30, size=len(rows)))
            table[column, rows] = 10_000 + np.cumsum(steps)
        flat = fast.flat["C"]
        columns = np.array([left_column])
        minima = middle_minima(flat, flat, fast.stride, option, columns, t0, t0 + fast.block)
        for t in range(t0, t0 + fast.block):
            middle = np.arange(t - t0 + y_min + 1, t0 - 1)
            if len(middle) == 0:
                continue
            values = table[left_column, middle + lo] + middle + table[left_column - s, t - middle]
            assert minima[t - t0, 0] == values.min(), (t0, t)
