"""Two-round skipping: a block's candidates are evaluated on every row only if they may win.

Claim: ``PrunedMinimum.run`` lowers ``upper`` (one row per row of a block, one column per
result column) to exactly the least value of the candidates offered, on every row,
without evaluating every candidate on every row.

* Each candidate is read first at the block's first row only: its *first* value. On row
  ``t0 + i`` it is worth ``first + (its entry at t0 + i - its entry at t0) + i * with_t``,
  so at least ``first + i * g``, where ``g`` is the least rise from one row to the next
  among the rows it reads (``ChunkRises.least``), plus 1 when its value holds ``t``.
* Round 1 evaluates on every row, per column, the *leaders*: the candidate with the least
  value on the block's first row and the one with the least on its last row.
* Round 2 evaluates every other candidate unless ``first >= upper[i] - i * g`` on every
  row ``i``. Such a candidate is worth at least ``upper[i]`` on every row, so it cannot
  lower it. ``upper`` only falls, and each of its values is a legal split's value or
  more, so the final ``upper`` is the least over the candidates: skipping changed nothing.
* ``max_i (upper[i] - i * g)``, a column's *ceiling*, is found for a few growths only
  (``GROWTH_STEPS``); ``g`` is rounded down to one of them, which lowers the floor
  ``first + i * g``: a candidate skipped with the rounded growth is skipped rightly.
* An unknown least rise (``UNKNOWN``, a chunk not filled yet) is far below any value, so
  a candidate that reads it is never skipped. Where no entry of the table read is below
  the one a row before (``nondecreasing``), ``g >= with_t`` without reading the rises.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mini_bptt.planning.engine.candidates import Source, merged, run_starts, segments

GROWTH_STEPS = (0, 1, 2, 3, 4, 6)  # growths per row that the skip test of a candidate uses
# candidate values computed at once, at most: a piece's values stay in the cache while
# they are reduced
BLOCK_VALUES = 2**16
# a lower bound (of a rise, or of a group's values) that is not known: below anything,
# so nothing is skipped on it
UNKNOWN = -(2**62)

# called with the table read, the indices (into its source) and result columns of the
# candidates evaluated together, and their values on the block's rows (one row per
# candidate, without ``t``)
OnEvaluate = Callable[[str, np.ndarray, np.ndarray, np.ndarray], None]


class ChunkRises:
    """For each column of one table, the least rise from a row to the next within each
    chunk of rows ``k * C .. k * C + C`` (``C`` at least the rows of a block, so the rows a
    candidate reads in a block lie in two chunks); ``UNKNOWN`` until a chunk is filled.

    The table's rows are a whole number of chunks, so the chunk of flat index ``i`` (column
    ``c``, row ``r``) is ``i // C = c * rows / C + r // C``: no division by the row count.

    Parameters
    ----------
    table : numpy.ndarray
        The column-major table (columns, rows).
    chunk : int
        The rows of a chunk.

    Raises
    ------
    ValueError
        If the rows are not a whole number of chunks.
    """

    def __init__(self, table: np.ndarray, chunk: int) -> None:
        self.table, self.chunk = table, chunk
        cols, rows = table.shape
        if rows % chunk:
            raise ValueError(f"rows={rows} is not a whole number of chunks of {chunk}")
        self.per_chunk = np.full((cols, rows // chunk), UNKNOWN, dtype=np.int64)
        self.known = 0  # chunks 0 .. known - 1 are filled

    def update(self, steps: int) -> None:
        """Find the least rises of every chunk whose rows are filled (rows 0..``steps``)."""
        C = self.chunk
        while (self.known + 1) * C <= steps:
            k = self.known
            part = self.table[:, k * C : k * C + C + 1].astype(np.int64)
            self.per_chunk[:, k] = np.diff(part, axis=1).min(axis=1)
            self.known += 1

    def least(self, index: np.ndarray, rows: int) -> np.ndarray:
        """The least rise over the entries ``index .. index + rows - 1`` (flat indices into the
        table, one run of a column each): that of the chunks of their first and last rise."""
        flat = self.per_chunk.reshape(-1)
        first = flat.take(index // self.chunk)
        return np.minimum(first, flat.take((index + max(rows - 2, 0)) // self.chunk), out=first)


def ceilings(values: np.ndarray, growths: np.ndarray) -> np.ndarray:
    """``max_i (values[i] - i * g)`` for each growth ``g`` (one row per growth, one column
    per column of ``values``). A lower bound ``b`` that grows by ``g`` per row stays at least
    ``values[i]`` on every row ``i`` exactly when ``b`` is at least that ceiling; as
    ``i >= 0``, the ceiling never rises with ``g``, so any growth at most ``g`` gives one at
    least as high."""
    rows = np.arange(len(values), dtype=np.int64)
    return (values[None, :, :] - (growths[:, None] * rows)[:, :, None]).max(axis=1)


def run_values(runs: np.ndarray, t0: int, base: np.ndarray, const: np.ndarray) -> np.ndarray:
    """The candidates' values on the rows of a block from ``t0``, without ``t``: one row per
    candidate. ``runs`` is the table's runs of a block's length (``sliding_window_view``),
    so each candidate's values are one contiguous run of its column, copied whole."""
    values = runs[base + t0]
    values += const[:, None]
    return values


def lower_runs(
    upper: np.ndarray,
    values: np.ndarray,
    starts: np.ndarray,
    columns: np.ndarray,
    t0: int,
    with_t: bool,
) -> None:
    """``upper[:, columns]`` lowered to the least of ``values`` (one row per candidate) over
    each run of candidates from ``starts``; the row's own ``t`` is the same for every
    candidate of a run, so it is added after the minimum."""
    lowest = np.minimum.reduceat(values, starts, axis=0).T
    if with_t:
        lowest += np.arange(t0, t0 + len(upper), dtype=lowest.dtype)[:, None]
    upper[:, columns] = np.minimum(upper[:, columns], lowest)


def leaders(
    columns: int,
    dsts: list[np.ndarray],
    starts_and_columns: list[tuple[np.ndarray, np.ndarray]],
    values: list[np.ndarray],
) -> list[np.ndarray]:
    """Per source, the indices of its leaders: one candidate per result column (over all
    sources, the first in source order) with the column's least value in ``values``.

    ``dsts``: per source, its result columns (sorted); ``starts_and_columns``: per source,
    ``segments`` of them; ``values``: per source, its candidates' values on one row."""
    least = np.full(columns, np.iinfo(np.int64).max, np.int64)
    for (starts, at), row in zip(starts_and_columns, values, strict=True):
        least[at] = np.minimum(least[at], np.minimum.reduceat(row, starts))
    claimed = np.zeros(columns, dtype=bool)
    found = []
    for dst, row in zip(dsts, values, strict=True):
        hit = np.flatnonzero((row == least[dst]) & ~claimed[dst])
        hit = hit[run_starts(dst[hit])]  # the first hit per column
        claimed[dst[hit]] = True
        found.append(hit)
    return found


class PrunedMinimum:
    """The least value of the candidates offered to one split for a block of rows, found in
    two rounds (see the module's docstring).

    Parameters
    ----------
    upper : numpy.ndarray
        The split's value found so far, one row per row of the block from ``t0``, one
        column per result column: lowered in place.
    t0 : int
        The block's first row.
    flats : dict
        Per table, its entries flat (column-major).
    rises : dict
        Per table, its ``ChunkRises``.
    nondecreasing : dict
        Per table, whether no entry is below the one a row before.
    bisected : numpy.ndarray, optional
        Per column, whether its minimum is found without candidates (``bisection``):
        their candidates are dropped.
    runs : dict, optional
        Per table and block length, its runs of that many entries, kept across blocks.
    on_evaluate : callable, optional
        Told of every piece of candidates evaluated on every row (``OnEvaluate``).
    """

    def __init__(
        self,
        upper: np.ndarray,
        t0: int,
        flats: dict,
        rises: dict,
        nondecreasing: dict,
        bisected: np.ndarray | None = None,
        runs: dict | None = None,
        on_evaluate: OnEvaluate | None = None,
    ) -> None:
        self.upper, self.t0, self.flats, self.rises = upper, t0, flats, rises
        self.runs = {} if runs is None else runs
        self.nondecreasing = nondecreasing
        self.bisected = bisected
        self.on_evaluate = on_evaluate
        self.waiting: list[Source] = []

    def add(
        self, name: str, with_t: bool, base: np.ndarray, const: np.ndarray, dst: np.ndarray
    ) -> None:
        """Candidates reading table ``name`` (``base, const, dst`` as in ``CandidateStore``,
        sorted by ``dst``); those of bisected columns are dropped."""
        if self.bisected is not None and len(dst):
            keep = ~self.bisected[dst]
            base, const, dst = base[keep], const[keep], dst[keep]
        if len(dst):
            self.waiting.append((name, with_t, base, const, dst))

    def run(self) -> None:
        """Lower ``upper`` by every candidate added since the last run."""
        waiting, self.waiting = merged(self.waiting), []
        if not waiting:
            return
        ends = np.array([self.t0, self.t0 + len(self.upper) - 1])  # the block's first, last row
        at_ends = [self._values_at(ends, *source) for source in waiting]
        firsts = [values[0] for values in at_ends]
        dsts = [dst for *_, dst in waiting]
        runs = [segments(dst) for dst in dsts]
        columns = self.upper.shape[1]
        chosen = [
            np.union1d(at_first, at_last)
            for at_first, at_last in zip(
                leaders(columns, dsts, runs, firsts),
                leaders(columns, dsts, runs, [values[1] for values in at_ends]),
                strict=True,
            )
        ]
        self._evaluate(waiting, chosen)
        steps = np.asarray(GROWTH_STEPS, dtype=self.upper.dtype)
        ceiling = ceilings(self.upper, steps)
        rests = []
        for source, first, led in zip(waiting, firsts, chosen, strict=True):
            beaten = self._beaten(source, first, steps, ceiling)
            beaten[led] = True  # evaluated already
            rests.append(np.flatnonzero(~beaten))
        self._evaluate(waiting, rests)

    def _values_at(self, rows, name: str, with_t: bool, base, const, dst) -> np.ndarray:
        """The candidates' values at ``rows`` (more where they read a row not filled yet):
        one row of values per row."""
        values = self.flats[name].take(base + rows[:, None])
        values += const
        if with_t:
            values += rows[:, None].astype(values.dtype)
        return values

    def _beaten(self, source: Source, first, steps, ceiling) -> np.ndarray:
        """Which candidates of ``source`` cannot lower ``upper`` on any row."""
        name, with_t, base, _, dst = source
        beaten = np.zeros(len(dst), dtype=bool)
        undecided = np.arange(len(dst))
        if self.nondecreasing[name]:  # no rise read is below 0 (unfilled rows hold the
            # marker), so g >= with_t: most candidates are beaten without reading their floor
            level = np.searchsorted(steps, int(with_t), side="right") - 1
            beaten = first >= ceiling[level, dst]
            undecided = np.flatnonzero(~beaten)
        growth = self.rises[name].least(base[undecided] + self.t0, len(self.upper)) + with_t
        level = np.searchsorted(steps, growth, side="right") - 1  # -1: below every step
        at = ceiling[np.maximum(level, 0), dst[undecided]]
        beaten[undecided] = (level >= 0) & (first[undecided] >= at)
        return beaten

    def _evaluate(self, sources: list[Source], chosen) -> None:
        """Lower ``upper`` by the values on every row of the block of the candidates
        ``chosen`` (sorted indices into each source)."""
        rows = len(self.upper)
        for (name, with_t, base, const, dst), index in zip(sources, chosen, strict=True):
            if not len(index):
                continue
            base, const, dst = base[index], const[index], dst[index]
            runs = self.runs.get((name, rows))
            if runs is None:  # kept for the next blocks
                runs = sliding_window_view(self.flats[name], rows)
                self.runs[(name, rows)] = runs
            chunk = max(1, BLOCK_VALUES // rows)
            for low in range(0, len(dst), chunk):
                part = slice(low, low + chunk)
                values = run_values(runs, self.t0, base[part], const[part])
                if self.on_evaluate is not None:
                    self.on_evaluate(name, index[part], dst[part], values)
                starts, columns = segments(dst[part])
                lower_runs(self.upper, values, starts, columns, self.t0, with_t)
