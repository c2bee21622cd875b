"""Both engines equal the recursions written out plainly (``recursions``), and the
reference engine's own mechanics: growing, re-typing, progress, the columns in front of
budget 0."""

from __future__ import annotations

import numpy as np
import pytest

from mini_bptt.planning import limits
from mini_bptt.planning.dp_optimal import optimal_specs
from mini_bptt.planning.dp_paper import paper_spec
from mini_bptt.planning.engine.reference import DPTables
from mini_bptt.planning.recursions import optimal_recursion, paper_recursion
from mini_bptt.planning.units import grains_for
from tests.planning.engine.common import ENGINES, configurations, entries, specs_of


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("strategy", ["hsm", "ism", "msm"])
@pytest.mark.parametrize("output", [True, False])
@pytest.mark.parametrize("alpha", [1, 2.5, 4])
def test_optimal_tables_equal_the_plain_recursion(engine, strategy, output, alpha):
    units = grains_for(alpha)
    tables = engine(tuple(optimal_specs(strategy, units, output).values()))
    tables.ensure(30, 12 * units.hidden)
    S = optimal_recursion(strategy, units, output)
    for t in range(31):
        for m in range(units.hidden, 12 * units.hidden + 1):
            assert tables.value("S", t, m) == S(t, m), (t, m)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("strategy", ["ism", "msm"])
@pytest.mark.parametrize("alpha", [1, 2.5, 4])
def test_paper_tables_equal_the_plain_recursion(engine, strategy, alpha):
    units = grains_for(alpha)
    tables = engine((paper_spec(strategy, units),))
    tables.ensure(30, 12 * units.hidden)
    C = paper_recursion(strategy, units)
    for t in range(31):
        for m in range(units.hidden, 12 * units.hidden + 1):
            assert tables.value("C", t, m) == C(t, m), (t, m)


@pytest.mark.parametrize("engine", ENGINES)
def test_growing_and_retyping_keep_every_value(monkeypatch, engine):
    units = grains_for(1.5)
    spec = paper_spec("msm", units)
    fresh = engine((spec,))
    fresh.ensure(80, 30)
    grown = engine((spec,))
    for steps, width in [(5, 3), (30, 4), (31, 20), (80, 30)]:
        grown.ensure(steps, width)
    assert grown.steps == 80 and grown.width >= 30
    longer = engine((spec,))  # more rows at the same width: the rows grow, the width stays
    longer.ensure(10, 30)
    longer.ensure(80, 30)
    assert np.array_equal(entries(longer, "C", 80, 30), entries(fresh, "C", 80, 30))

    # switch to int64 at 50 steps instead of 20,000, to exercise the re-typing cheaply
    def narrow(steps):
        return np.int32 if steps <= 50 else np.int64

    monkeypatch.setattr(limits, "table_dtype", narrow)
    retyped = engine((spec,))
    retyped.ensure(40, 30)
    assert retyped.dtype == np.int32
    retyped.ensure(80, 30)
    assert retyped.dtype == np.int64
    retyped.ensure(10, 5)  # a smaller request keeps the wide tables
    assert retyped.dtype == np.int64 and retyped.steps == 80
    # the arrays are of the type declared: the table-size limit is estimated with its size
    for tables in (fresh, grown, longer, retyped):
        arrays = list(tables.tab.values())
        if engine is DPTables:
            arrays += [*tables.plus_y.values(), tables._buffer]
        assert all(array.dtype == tables.dtype for array in arrays)
    expected = entries(fresh, "C", 80, 30)
    assert np.array_equal(entries(grown, "C", 80, 30), expected)
    assert np.array_equal(entries(retyped, "C", 80, 30), expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_growing_one_row_at_a_time_reaches_every_allocation_boundary(engine):
    """Each request one row longer than the last: one of them is exactly one row beyond
    the rows allocated, every time the tables are full."""
    spec = paper_spec("msm", grains_for(2))
    fresh = engine((spec,))
    fresh.ensure(70, 12)
    grown = engine((spec,))
    for steps in range(71):
        grown.ensure(steps, 12)
        assert grown.value("C", steps, 12) == fresh.value("C", steps, 12)
    assert np.array_equal(entries(grown, "C", 70, 12), entries(fresh, "C", 70, 12))


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_report_progress_every_64_rows_and_at_the_last(engine):
    """Row 0 counts as a multiple of 64. A longer request reports the rows it fills: the
    breakpoint engine refills from row 0 when it reallocates, the reference does not."""
    tables = engine((paper_spec("ism", grains_for(2)),))
    calls = []
    tables.ensure(130, 6, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 130), (64, 130), (128, 130), (130, 130)]
    calls.clear()
    tables.ensure(400, 6, progress=lambda done, total: calls.append((done, total)))
    rows = [done for done, total in calls if total == 400]
    assert len(rows) == len(calls) and rows[-1] == 400 and rows[-2] == 384
    assert rows[:-1] == list(range(rows[0], 400, 64)) and rows[0] % 64 == 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_below_budget_zero_every_option_reads_an_infeasible_column(engine, model, strategy, output):
    """An option with shift ``s`` reads column ``M - s``: for ``M < s`` that is one of the
    columns in front of budget 0, which exist and are infeasible in every row, so the
    option cannot reach an entry it does not fit (no bounds check, no wrap-around)."""
    units = grains_for(7 / 3)
    specs = specs_of(model, strategy, output, units)
    tables = engine(specs)
    tables.ensure(40, 10 * units.hidden)
    for spec in specs:
        for option in spec.options:
            source = getattr(option, "right", getattr(option, "table", None))
            shift = getattr(option, "shift", 0)
            for m in range(shift):
                assert tables.off + m - shift >= 0, (spec.name, option, m)  # no wrap-around
                read = [tables.value(source, t, m - shift) for t in range(41)]
                assert min(read) >= tables.inf, (spec.name, option, m)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("steps, width", [(0, 1), (1, 1), (1, 2), (2, 1)])
def test_a_fresh_table_answers_its_smallest_requests(engine, steps, width):
    """No row is filled before the first request, however small it is (one grain holds
    only h[0], so every step is recomputed from it)."""
    units = grains_for(1)
    tables = engine((paper_spec("msm", units),))
    tables.ensure(steps, width)
    assert tables.value("C", steps, width) == steps * (steps + 1) // 2


def test_the_infeasible_marker_is_above_every_cost_and_its_sums_fit_the_type():
    """int32 tables (up to 20,000 steps) and int64 tables (any length a plan can have): the
    marker exceeds the dearest cost, t(t+1)/2, and two markers plus t still fit the type."""
    for dtype, steps in [(np.int32, 20_000), (np.int64, 10**9)]:
        assert limits.table_dtype(steps) == dtype
        inf = limits.infinity(dtype)
        assert steps * (steps + 1) // 2 < inf
        assert 2 * inf + steps <= np.iinfo(dtype).max


@pytest.mark.parametrize("engine", ENGINES)
def test_tables_grown_from_a_width_of_zero_keep_every_value(engine):
    """A first request at budget 0, then wider ones: each growth at least doubles a width
    of 0 too (to the width asked), with the same entries as a fresh fill."""
    spec = paper_spec("ism", grains_for(1))
    grown = engine((spec,))
    widths = []
    for width in (0, 1, 3, 5):
        grown.ensure(20, width)
        widths.append(grown.width)
    growths = zip(widths, widths[1:], strict=False)
    assert all(b == a or b >= max(2 * a, 1) for a, b in growths), widths
    fresh = engine((spec,))
    fresh.ensure(20, 5)
    assert np.array_equal(entries(grown, "C", 20, 5), entries(fresh, "C", 20, 5))
