"""The concavity lemma: the fast engine equals the full search on every entry, a split is
read back over exactly its ends and breakpoints, and the same split point is chosen."""

from __future__ import annotations

import numpy as np
import pytest

from mini_bptt.planning.engine import BreakpointTables, best_split_option
from mini_bptt.planning.engine import tables as engine_tables
from mini_bptt.planning.engine.reference import best_option
from mini_bptt.planning.table_spec import Split, option_shift
from mini_bptt.planning.units import grains_for
from tests.planning.engine.common import (
    ALPHAS,
    UNUSUAL_TABLE_SETS,
    assert_nonconvex_rows_are_the_last_rows_not_convex,
    both_engines,
    configurations,
    specs_of,
)


def assert_every_entry_equal(full, fast, specs, steps: int, width: int) -> None:
    for spec in specs:
        expected = np.minimum(full.tab[spec.name][: steps + 1, full.off :], full.inf)
        got = np.minimum(fast.tab[spec.name][fast.off :, : steps + 1].T, fast.inf)
        expected = np.where(expected >= full.inf, -1, expected)
        got = np.where(got >= fast.inf, -1, got)
        mismatch = np.argwhere(expected[:, : width + 1] != got[:, : width + 1])
        assert len(mismatch) == 0, f"{spec.name}[t, M] differs at {mismatch[:5].tolist()}"


@pytest.mark.slow
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_breakpoint_engine_equals_the_full_search_on_every_entry(alpha, model, strategy, output):
    """t <= 600 and every budget up to full BPTT's peak 1 + alpha (t - 1)."""
    units = grains_for(alpha)
    steps = 600
    width = units.hidden + units.internal * (steps - 1)
    specs = specs_of(model, strategy, output, units)
    full, fast = both_engines(specs, steps, width)
    assert_every_entry_equal(full, fast, specs, steps, width)


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_breakpoint_engine_equals_the_full_search_on_every_entry_quickly(model, strategy, output):
    """The check above at t <= 150 and alpha = 7/3 only: past the first windowed blocks,
    with every budget up to full BPTT's peak."""
    units = grains_for(7 / 3)
    steps = 150
    width = units.hidden + units.internal * (steps - 1)
    specs = specs_of(model, strategy, output, units)
    full, fast = both_engines(specs, steps, width)
    assert_every_entry_equal(full, fast, specs, steps, width)


@pytest.mark.parametrize("alpha", [1, 7 / 3, 5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_both_engines_choose_the_same_split(alpha, model, strategy, output):
    """The same option and the smallest minimising split point, so plans are identical."""
    units = grains_for(alpha)
    steps, width = 150, 40 * units.hidden
    specs = specs_of(model, strategy, output, units)
    full, fast = both_engines(specs, steps, width)
    for spec in specs:
        for t in range(2, steps + 1, 7):
            for m in range(spec.min_grains, width + 1, 3):
                if full.value(spec.name, t, m) < full.inf:
                    chosen = best_split_option(fast, spec, t, m)
                    assert chosen == best_option(full, spec, t, m), (spec.name, t, m)


def breakpoint_rows(table: np.ndarray, inf: int) -> np.ndarray:
    """``[M, r]``: is row ``r`` of column ``M`` a breakpoint? Every row is, unless its two
    neighbours and itself are all finite and not convex there (second difference <= 0),
    or all infinite. Rows 0 and the last are not interior: False."""
    below, at, above = (table[:, k : table.shape[1] - 2 + k].astype(np.int64) for k in range(3))
    finite = (below < inf) & (at < inf) & (above < inf)
    infinite = (below >= inf) & (at >= inf) & (above >= inf)
    bent = ~((finite & (above - 2 * at + below <= 0)) | infinite)
    return np.pad(bent, ((0, 0), (1, 1)))


def assert_read_back_over_ends_and_breakpoints(specs, steps: int, width: int) -> None:
    """Every split of ``specs`` at every row and budget is read back over exactly its two
    ends and the interior points where either part's column bends upwards (computed from
    the full search's tables), with the full search's values."""
    full, fast = both_engines(specs, steps, width)
    column = {spec.name: full.tab[spec.name][: steps + 1, full.off :].T for spec in specs}
    bends = {name: breakpoint_rows(table, full.inf) for name, table in column.items()}
    for spec in specs:
        for option in (o for o in spec.options if isinstance(o, Split)):
            lo, shift = option.lo, option.shift
            for t in range(option.y_min + 1, steps + 1):
                y_all = np.arange(option.y_min, t)
                inner = (y_all > option.y_min) & (y_all < t - 1)
                for m in range(max(spec.min_grains, shift), width + 1):
                    bent = (
                        bends[option.left][m][y_all + lo]
                        | bends[option.right][m - shift][t - y_all]
                    )
                    expected = y_all[~inner | bent]
                    y, values = fast.split_values(option, t, m)
                    assert np.array_equal(y, expected), (spec.name, option, t, m)
                    left, right = column[option.left][m], column[option.right][m - shift]
                    sums = left[y + lo].astype(np.int64) + right[t - y] + y
                    feasible = sums < full.inf
                    assert np.array_equal(values[feasible], sums[feasible])


@pytest.mark.parametrize("alpha", [1, 7 / 3])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_a_split_is_read_back_over_its_ends_and_every_breakpoint(alpha, model, strategy, output):
    """The split points a plan is read back from are exactly the two ends of the range and
    the breakpoints of both parts, with the values of the full search."""
    units = grains_for(alpha)
    specs = specs_of(model, strategy, output, units)
    assert_read_back_over_ends_and_breakpoints(specs, steps=70, width=25 * units.hidden)


@pytest.mark.parametrize("name", UNUSUAL_TABLE_SETS)
def test_a_split_from_a_larger_least_point_is_read_back_over_its_own_range(name):
    """The same for table sets the planner does not build: a split whose least split point
    is 2 or 3 is read back over no point below it, though its part may bend there."""
    assert_read_back_over_ends_and_breakpoints(UNUSUAL_TABLE_SETS[name], steps=40, width=12)


def choice(choose, tables, spec, t: int, grains: int):
    """What ``choose`` reads back at ``(t, grains)``: an option and its split point, or the
    message of the AssertionError saying that no option reaches the entry."""
    try:
        return choose(tables, spec, t, grains)
    except AssertionError as error:
        return str(error)


def assert_same_choices(specs, steps: int, width: int) -> None:
    """On every entry from row 1 on, feasible or not, both engines choose the same option
    and split point, or both say, in the same words, that none reaches it (row 1 of a set
    without a run, an infeasible entry)."""
    full, fast = both_engines(specs, steps, width)
    assert fast.width == full.width == width  # the options of shift ``width`` are kept
    for spec in specs:
        for t in range(1, steps + 1):
            for m in range(width + 1):
                expected = choice(best_option, full, spec, t, m)
                assert choice(best_split_option, fast, spec, t, m) == expected, (spec, t, m)


@pytest.mark.parametrize("name", UNUSUAL_TABLE_SETS)
def test_both_engines_choose_the_same_split_for_table_sets_the_planner_does_not_build(
    monkeypatch, name
):
    """Splits before the option that reaches an entry, splits with no split point yet at
    rows 1 to 3, and options whose shift is the whole width."""
    monkeypatch.setattr(engine_tables, "MINIMUM_WIDTH", 1)  # the width asked, not a wider one
    specs = UNUSUAL_TABLE_SETS[name]
    widest = max(option_shift(option) for spec in specs for option in spec.options)
    assert_same_choices(specs, steps=30, width=min(widest, 12))


@pytest.mark.parametrize("strategy, output", [("ism", True), ("msm", True), ("msm", False)])
def test_both_engines_choose_the_same_split_when_a_shift_is_the_whole_width(
    monkeypatch, strategy, output
):
    """Tables exactly as wide as an internal state (alpha = 2): at that budget ``R``'s
    Single, which reads budget 0, is the only option reaching some entries."""
    monkeypatch.setattr(engine_tables, "MINIMUM_WIDTH", 1)
    units = grains_for(2)
    specs = specs_of("optimal", strategy, output, units)
    assert_same_choices(specs, steps=30, width=units.internal)


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_the_last_rows_not_convex_are_found(model, strategy, output):
    specs = specs_of(model, strategy, output, grains_for(2.5))
    fast = BreakpointTables(specs)
    fast.ensure(150, 30)
    assert_nonconvex_rows_are_the_last_rows_not_convex(fast)
