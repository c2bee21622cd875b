"""The chord bound: every grouped candidate is above its group's bound on every row of a
block, groups are skipped exactly when their bound stays above the split's value, and the
entries are those of the full search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mini_bptt.planning import limits
from mini_bptt.planning.engine import BreakpointTables, chords
from mini_bptt.planning.engine.chords import group_bounds, groups_beaten
from mini_bptt.planning.engine.pruning import UNKNOWN
from mini_bptt.planning.table_spec import Split
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


def chord_tables(rng, dtype, rows: int, cols: int, B: int) -> dict[str, np.ndarray]:
    """Two column-major tables whose rows never fall: per coarse block of ``B`` rows a rise
    of its own size (so adjacent blocks have different least rises), some columns turning
    infeasible from a random row on."""
    inf = limits.infinity(dtype)
    tab = {}
    for name in ("L", "R"):
        scale = rng.integers(1, 6, size=(cols, -(-rows // B)))
        rises = rng.integers(0, 1 + np.repeat(scale, B, axis=1)[:, : rows - 1])
        table = np.concatenate([rng.integers(0, 5, size=(cols, 1)), rises], axis=1).cumsum(axis=1)
        ends = rng.integers(rows // 3, 3 * rows, size=cols)  # beyond ``rows``: never
        table[np.arange(rows)[None, :] >= ends[:, None]] = inf
        tab[name] = table.astype(dtype)
    return tab


def least_rises(table: np.ndarray, B: int, blocks: int, steps: int, inf: int) -> np.ndarray:
    """``Chords.least_rise`` by its definition: per coarse block whose rows ``kB .. kB + B``
    are filled (up to ``steps``) and finite, the least rise from a row to the next; 0 for
    the others."""
    out = np.zeros((blocks, len(table)), dtype=np.int64)
    for k in range(blocks):
        part = table[:, k * B : k * B + B + 1].astype(np.int64)
        known = (k + 1) * B <= steps and part.shape[1] == B + 1
        if known:
            out[k] = np.where((part < inf).all(axis=1), np.diff(part, axis=1).min(axis=1), 0)
    return out


@settings(max_examples=examples(300))
@given(
    seed=st.integers(0, 2**32 - 1),
    option=st.sampled_from(
        [Split("L", 0, "R", 1), Split("L", -1, "R", 2), Split("L", -1, "R", 0, y_min=3)]
    ),
    B=st.sampled_from([4, 8]),
    dtype=st.sampled_from([np.int32, np.int64]),
)
def test_a_group_bound_is_below_every_split_value_and_its_growth_below_every_rise(
    seed, option, B, dtype
):
    """``group_bounds`` on random tables whose rows never fall, of both table types: for
    every split point of a coarse block of either part, the block's bound is at most B
    times the split's value at row t0, and its growth at most B times the value's rise
    from each row of the block of rows to the next (checked one by one); the growth is B
    times the least rise of the coarse blocks the rows read lie in (plus 1 on the right)."""
    rng = np.random.default_rng(seed)
    rows, cols = 64, 5
    tab = chord_tables(rng, dtype, rows, cols, B)
    inf = limits.infinity(dtype)
    steps = int(rng.integers(2 * B, 48))  # rows filled, some on a coarse block's last row
    steps -= steps % B if rng.integers(2) else 0
    found = chords.Chords(tab, rows // B + 2, B, inf)
    found.update(steps)
    s, lo, y_min = option.shift, option.lo, option.y_min
    t0 = int(rng.integers(y_min + 2, steps + 2))
    block_rows, first = int(rng.integers(1, 7)), s
    (left_bound, left_growth), (right_bound, right_growth) = group_bounds(
        found, option, t0, block_rows, first, cols
    )
    L, R = (tab[name].astype(np.int64) for name in ("L", "R"))
    lrise = least_rises(tab["L"], B, len(found.start["L"]), steps, inf)
    rrise = least_rises(tab["R"], B, len(found.start["R"]), steps, inf)
    t = np.arange(t0, t0 + block_rows)
    for c in range(first, cols):
        for y in range(y_min, t0):  # a left candidate: y fixed; a right one: r = t0 - y
            r = t0 - y
            left_values = y + L[c, y + lo] + R[c - s, t - y]
            right_values = t - r + L[c, t - r + lo] + R[c - s, r]
            sides = [
                (left_bound, left_growth, (y + lo) // B, left_values, rrise[:, c - s], 0),
                (right_bound, right_growth, r // B, right_values, lrise[:, c], 1),
            ]
            for bound, growth, k, values, rises, plus in sides:
                at, grows = bound[k, c - first], growth[k, c - first]
                if at != UNKNOWN and values[0] < inf:
                    assert at <= B * values[0], (c, y, k)
                finite = values[1:] < inf
                assert (grows <= B * np.diff(values)[finite]).all(), (c, y, k)
                # the rows a coarse block's candidates read over the block of rows: from
                # its last row's at t0 to the row after its first row's at the last row
                low = max(t0 - (k * B + B - 1) + lo, 0)
                high = max(t0 + block_rows - 2 - k * B + lo, 0)
                met = rises[low // B : high // B + 1]
                assert grows == B * (met.min() + plus), (c, y, k, low, high)
