"""The chord bound: every grouped candidate is above its group's bound on every row of a
block, groups are skipped exactly when their bound stays above the split's value, and the
entries are those of the full search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mini_bptt.planning.engine import BreakpointTables, chords
from mini_bptt.planning.engine.chords import group_bounds, groups_beaten
from mini_bptt.planning.engine.pruning import UNKNOWN
from mini_bptt.planning.units import grains_for
from tests.helpers import examples
from tests.planning.engine.common import (
    assert_engines_agree,
    configurations,
    specs_of,
    use_blocks,
)


def grouped_values(groups, flat: np.ndarray, t0: int, rows: int):
    """(block, column, values on rows t0 .. t0 + rows - 1) of every finished group's
    candidates, evaluated one by one."""
    out = []
    for k in range(groups.finished):
        for column in range(groups.offsets.shape[1] - 1):
            run = slice(groups.offsets[k, column], groups.offsets[k, column + 1])
            for base, const in zip(groups.base[run], groups.const[run], strict=True):
                t = np.arange(t0, t0 + rows)
                values = flat[base + t].astype(np.int64) + int(const) + (t if groups.with_t else 0)
                out.append((k, column, values))
    return out


def never_falls(fast: BreakpointTables) -> bool:
    return all(found.nondecreasing for found in fast.table_breakpoints.values())


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1, 7 / 3, 5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_group_bounds_hold_for_every_candidate_on_every_row_of_the_block(
    monkeypatch, alpha, model, strategy, output, steps=160
):
    """The lemma the skipping rests on, checked candidate by candidate: on row t0 + i of
    a block, B times each grouped candidate's value is at least its group's bound plus
    i times the growth, and its rise since row t0 at least i times the growth. Some
    candidates meet both with equality, so a bound or a growth too high is seen."""
    # blocks of 5 rows start on every row of a coarse block of 16 in turn
    monkeypatch.setattr(chords, "BOUND_ROWS", 16)
    monkeypatch.setattr(chords, "BOUND_MINIMUM", 0)
    use_blocks(monkeypatch, 5)
    slack, growth_slack = [], []

    def checking(self, state, t0):
        option, first = state.option, state.first
        rows, B = len(state.best_so_far), self.bound_rows
        bounds = group_bounds(self.chords, option, t0, rows, first, self.cols)
        sides = zip(state.groups, (option.right, option.left), bounds, strict=True)
        for groups, part, (bound, growth) in sides:
            steps = np.arange(rows)
            for k, column, values in grouped_values(groups, self.flat[part], t0, rows):
                at, grows = bound[k, column - first], growth[k, column - first]
                feasible = values < self.inf
                if feasible.all():  # the growth alone, from the block's first row
                    rise = B * (values - values[0]) - steps * grows
                    growth_slack.append(int(rise[1:].min(initial=10**18)))
                if at != UNKNOWN:
                    above = B * values - at - steps * grows
                    slack.append(int(above[feasible].min(initial=10**18)))
        # the growth against the least rise over every row a split point of the block may
        # read on the way (left: y + lo in the block, right: r in the block), found by
        # enumerating them
        read_rows = np.arange(t0, t0 + rows - 1)
        tables = (self.tab[option.right], self.tab[option.left])
        for side, (table, (_, growth)) in enumerate(zip(tables, bounds, strict=True)):
            for k in range(1, state.groups[side].finished if len(read_rows) else 0):
                inner = np.arange(k * B, k * B + B)
                read = read_rows[:, None] - (
                    inner[None, :] - option.lo if side == 0 else inner[None, :]
                )
                read = read.ravel() + (option.lo if side == 1 else 0)
                columns = np.arange(first, self.cols) - (option.shift if side == 0 else 0)
                rise = table[columns][:, read + 1].astype(np.int64) - table[columns][:, read]
                finite = (table[columns][:, read + 1] < self.inf).all(axis=1)
                least = B * (rise.min(axis=1) + side)  # a right split point's y grows too
                assert (growth[k][finite] <= least[finite]).all(), (k, side)
                # and it is the least rise of the coarse blocks those rows lie in, exactly
                blocks = np.unique(read // B)
                known = np.where(blocks[:, None] < self.chords.known, 1, 0)
                name = option.right if side == 0 else option.left
                per_block = self.chords.least_rise[name][blocks][:, columns] * known
                assert np.array_equal(growth[k], B * (per_block.min(axis=0) + side)), (k, side)

    units = grains_for(alpha)
    fast = BreakpointTables(specs_of(model, strategy, output, units), on_block=checking)
    fast.ensure(steps, 40 * units.hidden)
    assert never_falls(fast)
    assert min(slack) == 0
    assert min(growth_slack) == 0


@pytest.mark.parametrize("strategy, output", [("ism", False), ("msm", True)])
def test_group_bounds_hold_for_every_candidate_on_every_row_of_the_block_quickly(
    monkeypatch, strategy, output
):
    """The check above on two of the planner's table sets at alpha = 1, 100 rows."""
    test_group_bounds_hold_for_every_candidate_on_every_row_of_the_block(
        monkeypatch, 1, "optimal", strategy, output, steps=100
    )


def run_with_groups_skipped(monkeypatch, model, strategy, output, alpha, steps, bounding=True):
    """Coarse blocks of 16 rows and blocks of 4 rows, bounding from the first group (or
    never): fill both engines, check every entry, and return (grouped candidates handed to
    the offers, grouped candidates held at those blocks)."""
    monkeypatch.setattr(chords, "BOUND_ROWS", 16)
    # bounding turns on on the way, or never
    monkeypatch.setattr(chords, "BOUND_MINIMUM", 1 if bounding else 10**9)
    use_blocks(monkeypatch, 4)
    held = []

    def on_block(tables, state, t0):
        held.append(sum(len(groups.dst) for groups in state.groups))

    units = grains_for(alpha)
    specs = specs_of(model, strategy, output, units)
    fast = assert_engines_agree(specs, steps=steps, width=60 * units.hidden, on_block=on_block)
    assert never_falls(fast)
    offered = sum(groups.handed_out for state in fast.splits for groups in state.groups)
    return offered, sum(held)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1, 7 / 3, 5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_groups_skipped_by_their_bounds_leave_every_entry_equal(
    monkeypatch, alpha, model, strategy, output
):
    """Groups are bounded and some are skipped, and every entry stays equal to the full
    search's."""
    offered, held = run_with_groups_skipped(monkeypatch, model, strategy, output, alpha, 300)
    assert offered < held  # some groups were skipped


@pytest.mark.parametrize("strategy, output", [("ism", False), ("msm", True)])
def test_groups_skipped_by_their_bounds_leave_every_entry_equal_quickly(
    monkeypatch, strategy, output
):
    """The check above on two of the planner's table sets, 120 rows; without bounding,
    every grouped candidate is handed to the offers."""
    offered, held = run_with_groups_skipped(monkeypatch, "optimal", strategy, output, 7 / 3, 120)
    assert 0 < offered < held
    every = run_with_groups_skipped(
        monkeypatch, "optimal", strategy, output, 7 / 3, 120, bounding=False
    )
    assert every == (held, held)


@settings(max_examples=examples(300))
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 6),
    scale=st.sampled_from([1, 16]),
    top=st.sampled_from([3, 200, 10_000]),
)
def test_a_group_is_skipped_exactly_when_its_bound_stays_above_on_every_row(seed, rows, scale, top):
    """The skip test of the groups against a row-by-row check: growths on, between and
    beyond the listed ones (negative too), bounds near each column's ceiling, and a
    column where a row is infeasible (never skipped)."""
    rng = np.random.default_rng(seed)
    groups, columns = 7, 5
    upper = rng.integers(0, 2 * top, size=(rows, columns)).cumsum(axis=0) * scale
    growth = rng.integers(-2 * scale, top * scale, size=(groups, columns))
    growth[0] = scale * np.asarray(chords.GROUP_GROWTHS[:columns])
    steps = np.arange(rows)[:, None, None]
    ceiling = (upper[:, None, :] - steps * growth).max(axis=0)
    bound = ceiling + rng.integers(-2, 2, size=(groups, columns))
    upper[rng.integers(rows), columns - 1] = np.iinfo(np.int64).max
    expected = (bound + steps * growth >= upper[:, None, :]).all(axis=0)
    beaten = groups_beaten(bound, growth, upper, scale)
    assert np.array_equal(beaten, expected)
    assert beaten.any() and not beaten.all() and not beaten[:, -1].any()
