"""Storage and the fill loop: a filled set needs nothing more, narrow tables fill longer
blocks, an allocation covers the request in whole blocks of rows."""

from __future__ import annotations

import pytest

from mini_bptt.planning import limits
from mini_bptt.planning.dp_paper import paper_spec
from mini_bptt.planning.engine import BreakpointTables, sizing
from mini_bptt.planning.units import grains_for


def test_filled_tables_need_nothing_more_and_one_more_row_or_budget_needs_a_refill():
    units = grains_for(2)
    tables = BreakpointTables((paper_spec("msm", units),))
    tables.ensure(50, 20)
    nothing = limits.DPSize(0, 0.0)
    assert tables.size(50, tables.width) == tables.size(10, 5) == nothing
    assert tables.size(tables.capacity, tables.width).table_bytes > 0
    assert tables.size(50, tables.width + 1).table_bytes > 0


def test_narrow_tables_fill_longer_blocks_and_every_column_holds_whole_blocks():
    """Tables of at most NARROW_COLUMNS columns fill blocks of NARROW_BLOCK rows, wider
    ones of BLOCK rows; a column stores whole blocks of rows (the chunks of the rises)."""
    spec = paper_spec("msm", grains_for(1))
    for width, block in [(100, sizing.NARROW_BLOCK), (600, sizing.BLOCK)]:
        tables = BreakpointTables((spec,))
        tables.ensure(70, width)
        assert (tables.cols > sizing.NARROW_COLUMNS) == (block == sizing.BLOCK)
        assert tables.block == block, width
        assert tables.tab["C"].shape[1] % block == 0 and tables.tab["C"].shape[1] > 70


@pytest.mark.parametrize("steps", [10, 5000, 70_000])
@pytest.mark.parametrize("width", [1, 300])
def test_an_allocation_is_whole_rows_and_budgets_that_cover_the_request(steps, width):
    tables = BreakpointTables((paper_spec("msm", grains_for(2)),))
    rows, budgets = tables.allocation(steps, width)
    assert type(rows) is int and type(budgets) is int
    assert rows > steps and budgets >= width


def test_steps_advance_only_once_a_block_is_in_the_tables_and_intact_marks_the_fill():
    """A fill cut short in its second block (``progress`` raising) keeps ``steps`` at the
    first block's last row, whose rows are in the tables, and ``intact`` down."""
    tables = BreakpointTables((paper_spec("msm", grains_for(2)),))

    def stop(done, total):
        if done >= 128:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tables.ensure(300, 20, progress=stop)
    assert not tables.intact
    assert tables.steps == 2 * tables.block - 1 and tables.steps >= 128
    full = BreakpointTables((paper_spec("msm", grains_for(2)),))
    full.ensure(300, 20)
    assert full.intact
    rows = slice(0, tables.steps + 1)
    assert (tables.tab["C"][:, rows] == full.tab["C"][: tables.cols, rows]).all()


def test_a_request_the_tables_hold_refills_nothing_and_a_growing_dimension_at_least_doubles():
    """``allocation``: nothing while a request fits the rows allocated and the width; one
    row past the rows grows the rows alone, one grain past the width the width alone, each
    to twice or more: a sequence of growing requests costs at most twice the last. A set of
    exactly whole blocks is filled one row past them right too."""
    spec = paper_spec("msm", grains_for(2))
    tables = BreakpointTables((spec,))
    tables.ensure(10 * sizing.BLOCK - 1, 600)  # wide: blocks of BLOCK rows, 10 of them
    rows, width = tables.capacity, tables.width
    assert (rows, width) == (10 * sizing.BLOCK, 600)
    for steps, budgets in [(rows - 1, width), (rows // 2, width // 3), (0, 0)]:
        assert tables.allocation(steps, budgets) is None, (steps, budgets)
    more_rows, same_width = tables.allocation(rows, width)
    assert more_rows >= 2 * rows and same_width == width
    same_rows, wider = tables.allocation(rows // 2, width + 1)
    assert same_rows == rows and wider >= 2 * width
    tables.ensure(rows, width)
    fresh = BreakpointTables((spec,))
    fresh.ensure(rows, width)
    assert tables.value("C", rows, width) == fresh.value("C", rows, width)
    assert (tables.tab["C"][: tables.cols, : rows + 1] == fresh.tab["C"][:, : rows + 1]).all()


@pytest.mark.parametrize("steps", [300, 20_000, 20_001])
def test_a_size_is_the_bound_on_what_the_fill_of_the_set_it_would_allocate_holds(steps):
    """``size``'s bytes are ``fill_bytes`` of the allocation ``ensure`` would make, the whole
    set included, with its type: at 20,000 and 20,001 steps a fresh set's rows are on
    either side of the change to int64 tables."""
    tables = BreakpointTables((paper_spec("msm", grains_for(2)),))
    rows, width = tables.allocation(steps, 10)
    assert tables.size(steps, 10).table_bytes == tables.fill_bytes(rows, width, steps)
