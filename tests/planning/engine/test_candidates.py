"""Candidate stores: every candidate takes part from its own first row on, each column is
lowered to its least value, and evaluations cut into pieces give the same entries."""

from __future__ import annotations

import numpy as np
import pytest

from mini_bptt.planning.engine import pruning, sizing
from mini_bptt.planning.engine.candidates import CandidateStore
from mini_bptt.planning.engine.pruning import ChunkRises, PrunedMinimum
from mini_bptt.planning.units import grains_for
from tests.planning.engine.common import assert_engines_agree, specs_of


def offer_candidates(candidates, upper: np.ndarray, table: np.ndarray, t: int) -> None:
    """Lower ``upper`` (rows t, t + 1, ...) by the active candidates reading the one-column
    ``table``, as the engine does."""
    rises = ChunkRises(table.reshape(1, -1), 4)
    rises.update(len(table) - 1)
    nondecreasing = bool((np.diff(table) >= 0).all())
    offer = PrunedMinimum(upper, t, {"T": table}, {"T": rises}, {"T": nondecreasing})
    for run in candidates.active():
        offer.add("T", candidates.with_t, *run)
    offer.run()


@pytest.mark.parametrize("with_t", [False, True])
@pytest.mark.parametrize("sizes", [(0, 0), (1, 0), (0, 1), (2, 3), (5000, 1), (5000, 300)])
def test_candidates_lower_each_column_to_their_least_value(with_t, sizes):
    """The candidate store against a loop: a first batch (sorted once it is large), a second
    batch due later (kept unsorted while small), and one not yet due, which must not count.
    A single candidate counts like any other."""
    rng = np.random.default_rng(sum(sizes))
    table = rng.integers(0, 1000, size=312)  # bases up to 290, rows up to t + 2 (whole chunks)
    columns, t = 12, 9
    candidates = CandidateStore(with_t, np.int64)
    batches = []
    for first_row, size in [(t - 1, sizes[0]), (t, sizes[1]), (t + 1, 4)]:
        batch = (
            rng.integers(0, 290, size),
            rng.integers(-50, 50, size),
            rng.integers(0, columns, size),
        )
        candidates.add(first_row, *batch)
        candidates.activate(min(first_row, t))  # as the engine does, block by block up to t
        batches.append(batch)
    upper = np.full((3, columns), 10**6, dtype=np.int64)  # a block of rows t, t + 1, t + 2
    offer_candidates(candidates, upper, table, t)
    expected = np.full((3, columns), 10**6)
    for base, const, dst in batches[:2]:
        for b, c, d in zip(base, const, dst, strict=True):
            for k in range(3):
                value = table[b + t + k] + c + (t + k if with_t else 0)
                expected[k, d] = min(expected[k, d], value)
    assert np.array_equal(upper, expected)


def test_candidates_with_their_own_first_rows_take_part_when_each_is_due():
    """The engine adds a block's candidates in one batch, each with its own first row; the
    two due last would be each column's least value if they counted too early."""
    table = np.arange(100) * 10
    candidates = CandidateStore(False, np.int64)
    first_rows, columns = np.array([5, 7, 6, 7]), np.array([0, 0, 1, 1])
    candidates.add(first_rows, np.array([0, 1, 2, 3]), np.array([4, -20, 2, -20]), columns)
    seen = []
    for t in (5, 6, 7):
        candidates.activate(t)
        upper = np.full((1, 2), 10**6, dtype=np.int64)
        offer_candidates(candidates, upper, table, t)
        seen.append(upper[0].tolist())
    # at row t a candidate is worth 10 * (base + t) + const
    assert seen == [[54, 10**6], [64, 82], [60, 80]]


def test_candidates_evaluated_a_few_at_a_time_give_every_entry(monkeypatch):
    """With room for the values of two candidates at a time on a block of 96 rows (the
    tables are narrow), every evaluation is cut into many pieces; every entry stays equal
    to the full search's."""
    monkeypatch.setattr(pruning, "BLOCK_VALUES", 2 * sizing.NARROW_BLOCK)
    pieces = []

    def on_evaluate(name, index, dst, values):
        pieces.append(values.size)

    specs = specs_of("optimal", "msm", True, grains_for(2.5))
    assert_engines_agree(specs, steps=300, width=60, on_evaluate=on_evaluate)
    assert max(pieces) <= pruning.BLOCK_VALUES and len(pieces) > 1000
