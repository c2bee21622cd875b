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
