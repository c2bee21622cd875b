"""Two-round skipping: the least rise of a run, the leaders of each column, and a pruned
minimum that is exact and leaves out only candidates that could not win."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mini_bptt.planning.engine.candidates import segments
from mini_bptt.planning.engine.pruning import UNKNOWN, ChunkRises, PrunedMinimum, leaders
from tests.helpers import examples


@pytest.mark.parametrize("steps", [0, 4, 5, 33, 49])
def test_the_least_rise_of_a_run_is_that_of_the_chunks_it_lies_in(steps):
    """Chunks of 5 rows, filled up to ``steps``: the least rise of every run of 1 to 5 rows
    is the least rise over the chunks of its first and last rise, found by brute force, or
    unknown when one of them is not filled; it is never above a rise the run reads."""
    rng = np.random.default_rng(steps)
    table = rng.integers(-20, 20, size=(3, 50)).cumsum(axis=1)
    rises = ChunkRises(table, 5)
    rises.update(steps)
    for column in range(3):
        for row in range(50):
            for count in range(1, min(5, 50 - row) + 1):
                least = int(rises.least(np.array([column * 50 + row]), count)[0])
                chunks = {row // 5, (row + max(count - 2, 0)) // 5}
                if any(5 * k + 5 > steps for k in chunks):
                    assert least == UNKNOWN
                    continue
                brute = min(np.diff(table[column, 5 * k : 5 * k + 6]).min() for k in chunks)
                assert least == brute
                assert least <= np.diff(table[column, row : row + count]).min(initial=10**9)


@settings(max_examples=examples(300), deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    falls=st.booleans(),
    with_t=st.booleans(),
    rows=st.integers(1, 5),
    size=st.integers(1, 400),
)
def test_a_pruned_minimum_is_each_columns_least_value_and_skips_only_losers(
    seed, falls, with_t, rows, size
):
    """Random tables that never fall (or do) and random candidates against a loop: the
    result is each column's least value on every row, and every candidate left out is worth
    no less than that result on every row of the block."""
    rng = np.random.default_rng(seed)
    columns, length, t0 = 4, 60, 30
    steps = rng.integers(-3 if falls else 0, 6, size=(columns, length))
    table = steps.cumsum(axis=1)
    rises = ChunkRises(table, 5)
    rises.update(t0 - 1)  # candidates may read rows of the block, not filled yet
    column, start = rng.integers(0, columns, size), rng.integers(1, length - rows, size)
    base = column * length + start - t0
    const, dst = rng.integers(-40, 40, size), np.sort(rng.integers(0, 3, size))
    upper = np.full((rows, 3), 10**6, dtype=np.int64)
    upper[:, 2] = rng.integers(100, 300)  # a column with a value found already
    nondecreasing = bool((np.diff(table[:, :t0], axis=1) >= 0).all())
    evaluated = []
    offer = PrunedMinimum(
        upper,
        t0,
        {"T": table.reshape(-1)},
        {"T": rises},
        {"T": nondecreasing},
        on_evaluate=lambda name, index, dst, values: evaluated.append(index),
    )
    start_value = upper.copy()
    offer.add("T", with_t, base, const, dst)
    offer.run()
    t = np.arange(t0, t0 + rows)
    values = table.reshape(-1)[base[None, :] + t[:, None]] + const + (t[:, None] if with_t else 0)
    expected = start_value.copy()
    for k in range(size):
        expected[:, dst[k]] = np.minimum(expected[:, dst[k]], values[:, k])
    assert np.array_equal(upper, expected)
    left_out = np.setdiff1d(np.arange(size), np.concatenate(evaluated))
    assert (values[:, left_out] >= upper[:, dst[left_out]]).all()


def test_round_one_evaluates_the_least_candidates_at_both_ends_of_the_block():
    """Two candidates of one column: one least on the block's first row, rising by 5 per
    row, the other least on its last row, rising by 1. Both are evaluated first, on every
    row, so the block's value is exact at both ends before any candidate is skipped."""
    rows = 8
    steep, gentle = np.arange(40) * 5, 20 + np.arange(40)
    table = np.concatenate([steep, gentle])
    rises = ChunkRises(table.reshape(2, 40), 8)
    rises.update(39)
    upper = np.full((rows, 1), 10**6, dtype=np.int64)
    rounds = []
    offer = PrunedMinimum(
        upper,
        0,
        {"T": table},
        {"T": rises},
        {"T": True},
        on_evaluate=lambda name, index, dst, values: rounds.append(index),
    )
    offer.add("T", False, np.array([0, 40]), np.zeros(2, dtype=np.int64), np.array([0, 0]))
    offer.run()
    assert sorted(rounds[0].tolist()) == [0, 1]
    assert upper[:, 0].tolist() == np.minimum(steep[:rows], gentle[:rows]).tolist()


@settings(max_examples=examples(200), deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sources=st.integers(1, 3), rows=st.integers(1, 2))
def test_the_leaders_are_per_row_and_column_the_first_candidate_with_the_least_value(
    seed, sources, rows
):
    """Against a loop over the sources in order: on each row (one call each), a column's
    leader is the first candidate (of the first source that has one) with the column's
    least value over all sources; ties within and across sources are frequent (values from
    0 to 4)."""
    rng = np.random.default_rng(seed)
    columns = 4
    dsts, values = [], []
    for _ in range(sources):
        size = int(rng.integers(1, 12))
        dsts.append(np.sort(rng.integers(0, columns, size)))
        values.append(rng.integers(0, 5, size=(rows, size)))
    runs = [segments(dst) for dst in dsts]
    per_row = [
        leaders(columns, dsts, runs, [row_values[row] for row_values in values])
        for row in range(rows)
    ]
    found = [np.concatenate(of_source) for of_source in zip(*per_row, strict=True)]
    expected = [set() for _ in range(sources)]
    for row in range(rows):
        for column in range(columns):
            pairs = [
                (int(values[k][row, i]), k, i)
                for k in range(sources)
                for i in np.flatnonzero(dsts[k] == column)
            ]
            if pairs:
                least = min(value for value, _, _ in pairs)
                _, k, i = next(pair for pair in pairs if pair[0] == least)
                expected[k].add(int(i))
    assert [set(map(int, led)) for led in found] == expected
