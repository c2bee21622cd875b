"""The concavity lemma: the fast engine equals the full search on every entry, a split is
read back over exactly its ends and breakpoints, and the same split point is chosen."""

from __future__ import annotations

import numpy as np
import pytest

from mini_bptt.planning.engine import BreakpointTables, best_split_option
from mini_bptt.planning.engine.reference import best_option
from mini_bptt.planning.table_spec import Split
from mini_bptt.planning.units import grains_for
from tests.planning.engine.common import (
    ALPHAS,
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


@pytest.mark.parametrize("alpha", [1, 7 / 3])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_a_split_is_read_back_over_its_ends_and_every_breakpoint(alpha, model, strategy, output):
    """The split points a plan is read back from are exactly the two ends of the range and
    the interior points where either part's column bends upwards (computed here from the
    full search's tables), with the values of the full search."""
    units = grains_for(alpha)
    steps, width = 70, 25 * units.hidden
    specs = specs_of(model, strategy, output, units)
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


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_the_last_rows_not_convex_are_found(model, strategy, output):
    specs = specs_of(model, strategy, output, grains_for(2.5))
    fast = BreakpointTables(specs)
    fast.ensure(150, 30)
    assert_nonconvex_rows_are_the_last_rows_not_convex(fast)
