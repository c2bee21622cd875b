"""Block windows: at every block boundary (blocks of 1, 5 and the engine's rows), with
or without bisection and grouping, the split points the candidates do not cover are
searched, for table sets the planner does not build as well as its own."""

from __future__ import annotations

import numpy as np
import pytest

from mini_bptt.planning.engine import bisection, chords, sizing
from mini_bptt.planning.engine.windows import lower_by_windows, window_constants, windowed
from mini_bptt.planning.table_spec import Split
from tests.planning.engine.common import (
    UNUSUAL_TABLE_SETS,
    assert_engines_agree,
    assert_nonconvex_rows_are_the_last_rows_not_convex,
    use_blocks,
)


# 4: columns turn dense within the 150 rows, so the bisection is taken too
@pytest.mark.slow
@pytest.mark.parametrize("dense_minimum", [4, bisection.DENSE_MINIMUM, 10**9])
@pytest.mark.parametrize("name", UNUSUAL_TABLE_SETS)
@pytest.mark.parametrize("block", [1, 5, sizing.BLOCK, sizing.NARROW_BLOCK])
@pytest.mark.parametrize("bound_rows", [8, chords.BOUND_ROWS])
def test_the_engine_equals_the_full_search_for_table_sets_the_planner_does_not_build(
    monkeypatch, name, dense_minimum, block, bound_rows
):
    """Blocks of 1 and 5 rows move every block boundary, where candidates fall due and the
    windows searched in full start; coarse blocks of 8 rows group the candidates (some
    sets have entries below the row before: no group may be skipped there)."""
    monkeypatch.setattr(bisection, "DENSE_MINIMUM", dense_minimum)
    use_blocks(monkeypatch, block)
    monkeypatch.setattr(chords, "BOUND_ROWS", bound_rows)
    monkeypatch.setattr(chords, "BOUND_MINIMUM", 0)  # bound every group
    fast = assert_engines_agree(UNUSUAL_TABLE_SETS[name], steps=150, width=30)
    assert_nonconvex_rows_are_the_last_rows_not_convex(fast)
    for table_name, table in fast.tab.items():  # two sets have a table that falls
        rises = np.diff(np.minimum(table[:, :151].astype(np.int64), fast.inf), axis=1)
        nondecreasing = fast.table_breakpoints[table_name].nondecreasing
        assert nondecreasing == (rises >= 0).all(), table_name


@pytest.mark.parametrize("name", UNUSUAL_TABLE_SETS)
def test_the_engine_equals_the_full_search_for_table_sets_the_planner_does_not_build_quickly(
    monkeypatch, name
):
    """The check above in one of its modes: blocks of 5 rows, columns dense after 4
    breakpoints, coarse blocks of 8 rows, every group bounded."""
    test_the_engine_equals_the_full_search_for_table_sets_the_planner_does_not_build(
        monkeypatch, name, dense_minimum=4, block=5, bound_rows=8
    )


@pytest.mark.parametrize("option", [Split("L", 0, "R", 1), Split("L", -1, "R", 2, y_min=3)])
@pytest.mark.parametrize("block", [1, 4, 7])
def test_the_windows_are_the_least_value_over_exactly_their_split_points(option, block):
    """Random row-major parts: both windows together lower a row to the least value over
    ``y_min .. t - t0 + y_min`` and ``t0 - 1 .. t - 1``, found by a loop, on every row of
    blocks that start on the first windowed row and later."""
    rng = np.random.default_rng(block)
    rows, cols, first = 60, 6, 3
    parts = {name: rng.integers(0, 100, size=(rows, cols)) for name in ("L", "R")}

    def read(name: str, high: int, low: int) -> np.ndarray:
        return parts[name][low : high + 1][::-1]

    s, lo, y_min = option.shift, option.lo, option.y_min
    constants = window_constants(parts["L"], parts["R"], option, first, block, np.int64)
    assert not windowed(option, y_min + block - 1, block)
    for t0 in range(y_min + block, 40, 3):
        assert windowed(option, t0, block)
        for t in range(t0, t0 + block):
            found = np.full(cols - first, 10**9, dtype=np.int64)
            lower_by_windows(found, read, option, t, t0, first, *constants)
            split_points = sorted(set(range(y_min, t - t0 + y_min + 1)) | set(range(t0 - 1, t)))
            for column in range(first, cols):
                values = [
                    y + parts["L"][y + lo, column] + parts["R"][t - y, column - s]
                    for y in split_points
                ]
                assert found[column - first] == min(values), (t0, t, column)
