"""Block windows: at every block boundary (blocks of 1, 5 and the engine's rows), with
or without bisection and grouping, the split points the candidates do not cover are
searched, for table sets the planner does not build as well as its own."""

from __future__ import annotations

import numpy as np
import pytest

from mini_bptt.planning.engine import bisection, chords, sizing
from mini_bptt.planning.engine.windows import lower_by_windows, window_constants, windowed
from mini_bptt.planning.table_spec import Run, Single, Split, TableSpec
from tests.planning.engine.common import (
    assert_engines_agree,
    assert_nonconvex_rows_are_the_last_rows_not_convex,
    use_blocks,
)

# The breakpoint argument holds for any options, not only the planner's: table sets whose
# splits have no run to tie with, a larger least split point, columns that turn feasible
# again, a split with no shift
UNUSUAL_TABLE_SETS = {
    "internal split only": (TableSpec("C", 1, (Split("C", -1, "C", 2),)),),
    "hidden split only": (TableSpec("C", 1, (Split("C", 0, "C", 1),)),),
    "split from y = 3": (TableSpec("C", 1, (Run("C"), Split("C", -1, "C", 3, y_min=3))),),
    "columns that turn feasible again, read by splits": (
        # D is filled first in each row, so a split reading D's row t - 3 must find it in
        # D's ring of recent rows, which has moved on by then; the Singles need more than
        # the width: they only give rows 2 (and 3) an option
        TableSpec("D", 1, (Run("D"), Split("D", 0, "D", 1))),
        TableSpec("F2", 0, (Single("D", 50), Split("D", 0, "D", 1, y_min=2))),
        TableSpec("F3", 0, (Single("D", 50), Split("D", 0, "D", 1, y_min=3))),
        TableSpec("E", 0, (Run("E"), Split("F3", 0, "F2", 1), Split("F2", -1, "F3", 1))),
    ),
    # two sets from a random search over small table sets: the first needs right-part
    # breakpoints at row 2, the second left-part candidates in a split's least column
    "three tables, splits reading each other (1)": (
        TableSpec("A", 2, (Run("A"), Single("A", 2), Split("A", -1, "C", 2))),
        TableSpec("B", 2, (Run("B"), Single("B", 2), Split("A", -1, "A", 2, y_min=2))),
        TableSpec("C", 2, (Single("C", 1), Split("B", 0, "A", 1))),
    ),
    "three tables, splits reading each other (2)": (
        TableSpec(
            "A", 1, (Single("C", 2), Split("C", 0, "B", 1), Split("C", -1, "A", 3), Single("A", 1))
        ),
        TableSpec("B", 1, (Single("C", 2), Split("B", -1, "B", 2, y_min=2), Split("C", 0, "C", 0))),
        TableSpec("C", 1, (Single("B", 1), Single("B", 2), Split("B", -1, "A", 0), Single("B", 3))),
    ),
    "two tables, a split with no shift": (
        TableSpec("A", 1, (Split("A", 0, "B", 1), Single("B", 2))),
        TableSpec("B", 0, (Run("B"), Split("B", -1, "A", 0))),
    ),
    # a left-part breakpoint that is the unique minimum on the first row it may be
    # (B[6, 2]): a candidate offered one row late changes B, C and A
    "three tables, a left breakpoint needed on its first row": (
        TableSpec("A", 0, (Single("C", 1), Split("C", 0, "A", 2, y_min=2))),
        TableSpec("B", 0, (Run("B"), Split("A", -1, "C", 0, y_min=3))),
        TableSpec("C", 2, (Run("C"), Split("B", -1, "A", 1, y_min=2))),
    ),
    # B is quadratic in every column (only Run is feasible), so its columns turn dense and
    # A's right part never does: A is bisected only where its right part is convex too
    "a split whose left part alone is dense": (
        TableSpec("A", 1, (Run("A"), Split("B", 0, "A", 1))),
        TableSpec("B", 1, (Run("B"), Single("A", 50))),
    ),
}


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
