"""The fast exact engine for the DP tables: each split is minimised over its breakpoints.

The tables and their options are those of ``dp_tables`` (``Run``, ``Single``,
``Same``, ``Split``); ``DPTables`` there evaluates every split point and stays
as the reference. Here a split

    X[t, M] = min_{y_min <= y <= t-1}  h(y),    h(y) = f(y) + g(y),
    f(y) = y + L[y + lo, M],   g(y) = R[t - y, M - shift]

is evaluated only at the ends ``y_min``, ``t - 1`` and at the *convex
breakpoints* of ``f`` and ``g``. Why that is exact:

* Call ``y`` (with ``y_min < y < t - 1``) a breakpoint of a sequence ``s`` unless
  either ``s(y-1), s(y), s(y+1)`` are finite and ``s(y+1) - 2 s(y) + s(y-1) <= 0``,
  or all three are infinite (infeasible). Adding the linear term ``y`` changes no
  second difference, so the breakpoints of ``f`` are those of column ``M`` of
  ``L`` (shifted by ``lo``), and those of ``g`` are ``t - r`` for the breakpoints
  ``r`` of column ``M - shift`` of ``R``.
* Cut ``[y_min, t-1]`` at every breakpoint of ``f`` or ``g``. Inside one piece
  ``[p, q]`` every interior point is, for each of ``f`` and ``g``, either
  finite with a second difference <= 0 or infinite with infinite neighbours;
  one finite interior point makes its neighbours finite, so on the piece each
  of ``f``, ``g`` is either infinite throughout or finite and concave. Then
  ``h`` is infinite or concave on ``[p, q]``, and a concave sequence takes its
  minimum at ``p`` or ``q``: ``min h`` over the range is the minimum over the
  piece ends, i.e. over the ends and the breakpoints.
* The smallest minimiser is a candidate too (a concave piece whose minimum is
  reached inside is constant, so its left end reaches it), so taking the first
  minimum over sorted candidates reproduces the full search's tie-breaking, and
  with it the same plans.

Rows are filled in blocks of up to ``BLOCK`` rows (``NARROW_BLOCK`` for narrow tables),
``t0 <= t < t1``. A breakpoint at row ``r`` is known once row ``r + 1`` is filled, so
at the start of a block the breakpoints of rows ``<= t0 - 2`` are known and turned
into *candidates*; they are evaluated for every row of the block at once (one gather
per block instead of one per row). The split points a block's candidates do not
cover are searched in full, row by row, in two windows:

* ``y >= t0 - 1``: left-part breakpoints of rows ``t0 - 1 .. t - 2`` (not known
  yet) and left candidates due inside the block (``y + 2 > t0``);
* ``y <= t - t0 + y_min``: right-part breakpoints ``r >= t0 - 1`` give
  ``y = t - r <= t - t0 + 1``, and right candidates due inside the block
  (``r + y_min + 1 > t0``) give ``y = t - r <= t - t0 + y_min``.

The two windows hold the ends ``t - 1`` and ``y_min``. A candidate of the block
may read a row of the block that is not filled yet; unfilled rows hold the
infeasible marker, so that candidate only overestimates, and its split point
lies in a window (left: ``t - y >= t0`` means ``y <= t - t0``; right:
``y + lo >= t0`` means ``y >= t0``), where it is evaluated exactly. So every
breakpoint and both ends are evaluated exactly, and every value offered is a
legal split's value or more: the minimum is exact. The first rows, while the
window of small ``y`` would read rows not filled yet, are searched in full.

A column whose breakpoints are dense (more than ``max(32, t / 2)``, e.g. the
quadratic one-slot columns) makes a split's candidates as many as its split points.
Where a part of a split is dense and both parts are convex (or infeasible) on every row
that the split points between the two windows read, the split's minimum there is found
by bisection instead (``_middle_minima``; the quadratic columns are convex), and none of
that column's candidates is offered in the block: the windows and the bisection cover
every split point. Elsewhere dense columns are read from their candidates like the
others (every breakpoint is kept as a candidate), so no split is searched in full after
the first rows.

At long sequences a column's breakpoints grow with ``t`` (a slope between two
integers is written by increments such as 4, 4, 4, 5, each 5 a breakpoint), so
the candidates of a part's rows ``r >= block + |lo| + 1`` are kept in *groups*,
one per coarse block of ``B = BOUND_ROWS`` rows of the part, and a group that
cannot hold the minimum is skipped (branch and bound). Why that is exact:

* For a complete coarse block of a column, rows ``kB .. kB + B``, let ``c`` be the
  chord through its two ends and ``d`` the chord's largest height above the
  column: every entry of the block is ``>= c - d``. Cut ``[y_min, t0 - 1]`` where
  either part's row crosses a block boundary; on each piece both parts lie in
  one block, so ``h >= y + c_L + c_R - d_L - d_R``, a linear function whose least
  value is at an end of the piece. A group's bound is the least over its pieces
  (unknown if a piece's block is incomplete or not finite: then it is offered).
* The bound is for row ``t0``. A left candidate ``y`` reads the right part at rows
  ``t0 - y .. t - y``, a right candidate ``r`` the left part at rows
  ``t0 - r + lo .. t - r + lo`` (and its ``y = t - r`` grows by one per row); all
  are filled before the block. When no entry of those tables is below the entry
  one row before (checked on every row, as breakpoints are searched, before the
  next block; otherwise no group is skipped),
  a candidate's value grows per row by at least the least rise between
  consecutive rows there (and 1 for ``y``), so ``bound + i * growth`` bounds it at
  row ``t0 + i``.
* Each group is skipped only if on every row of the block that bound is no less
  than the least value offered so far (``far``, itself a legal split's value or
  more). If the minimum were only in skipped groups it would equal ``far`` on
  that row: the result is unchanged. Every value is a whole number times ``B``.

Per block of rows, the group with the least bound of each column is offered
first, so the least value offered so far is close to the minimum. A split's
groups are bounded only once they hold ``BOUND_MINIMUM`` candidates per column
(the chords are found then); before, all are offered, as in the first rows.
The groups near the minimum hold most candidates (there both parts rise at
nearly the same slope, in small steps), so at T = 4 * 10^4 about a third of the
grouped candidates are still offered.

Within a block, a candidate is evaluated on every row only if it may lower the split's
value found so far. It is first read at the block's first row; on row ``t0 + i`` it is
worth at least that value plus ``i`` times the least rise between consecutive rows it
reads (``_Rises``: per column, the least rise within each chunk of a block's rows, known
once the chunk is filled; plus 1 when ``y`` grows with ``t``). Per column, the candidate
with the least value on the block's first row and the one with the least on its last row
are evaluated on every row; any other is skipped when that lower bound is no less than
the value found so far on every row of the block. The skipped ones could not have
lowered it, so the result is unchanged (``_Offer``). At T = 10^4 (5% of the steps,
alpha = 5) 9.5% of the candidates offered are evaluated on every row.

Cost: ``O(T * W * (K + block))`` for ``K`` breakpoints per column (tens at
T = 10^4), against ``O(T^2 * W)`` for the reference. Tables are stored
column-major, so a candidate reads a block's rows from one contiguous run of its
column; the windows read the last and the first rows, which are also kept
row-major.
"""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mini_bptt.planning import limits
from mini_bptt.planning.dp_tables import Progress, Run, Same, Single, Split, TableSpec
from mini_bptt.planning.limits import DPSize, dp_size

DENSE_MINIMUM = 32  # breakpoints a column may have before it is called dense, at least
# ... or t / 2, whichever is larger. Where both parts are convex, a dense split column's
# middle is bisected and its candidates are not offered. Side by side when this was set,
# alternating in fresh processes: cost(3000, 150, alpha=1, internal_has_output=False)
# 0.29 s with t / 2, 0.30 s with t / 8, 0.28 s with no column dense (t / 1);
# cost(5000, 60, alpha=4.5, strategy="ism"), whose dense columns are convex: 0.86, 0.88
# and 1.01 s
DENSE_FRACTION = 2
MINIMUM_WIDTH = 256  # budgets (units) a fresh table covers at least, when it is small:
# of at most SMALL_ENTRIES entries. Beyond, the extra columns cost more than the refills
# they may save: cost(3000, 150, alpha=1, internal_has_output=False) fills 150 columns,
# not 256, with 11% fewer instructions (valgrind; the figures, T <= 1000, keep 256)
SMALL_ENTRIES = 2**18
# rows whose candidates are evaluated together, at most. Per row, a block's windows cost in
# proportion to the block times the columns, its candidate offers about in proportion to
# the candidates over the block, so narrow tables take longer blocks. Single runs, side by
# side: cost(10**5, 200, alpha=5), 207 columns: 57.6 s with 64 rows, 47.5 s with 96, 51.8 s
# with 128; cost(10**4, 1000, alpha=5), 1,000 columns: 4.7 s with 32, 5.2 s with 96
BLOCK = 32
NARROW_BLOCK = 96  # ... for tables of at most NARROW_COLUMNS columns
NARROW_COLUMNS = 512
# candidate values computed at once, at most: a piece's values stay in the cache while
# they are reduced (measured with the values gathered row by row: cost(40_000, 200,
# alpha=5) 21.3 s with 2**22, 18.0 s with 2**16)
BLOCK_VALUES = 2**16
GROWTH_STEPS = (0, 1, 2, 3, 4, 6)  # growths per row that the skip test of a candidate uses
# growths per row (times the coarse block) that decide most groups' skip test at once
GROUP_GROWTHS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
# the least rise of rows not all filled yet: no candidate reading them is skipped
UNKNOWN_RISE = -(2**62)
BOUND_ROWS = 1024  # rows of a coarse block, whose chord bounds the candidates in it
# a split's groups are bounded once they hold this many per column. Bounding pays at long
# sequences only: cost(3000, 150, alpha=1, internal_has_output=False) runs 7% fewer
# instructions (valgrind) with 128 than with 64 (no group bounded), cost(10**4, 100) as
# many; cost(100_000, 200, alpha=5), alternating: 52.1, 49.5, 45.5 s with 128 and 49.6,
# 48.7, 46.0 s with 64
BOUND_MINIMUM = 128
NO_BOUND = -(2**62)  # the bound of a group that cannot be bounded: it is always offered
# The memory bound of a fill (``BreakpointTables.fill_bytes``): per breakpoint, its record
# (16 bytes) and, while they are read back, two copies, the sort's order and a sorted copy
# of each (48)
BREAKPOINT_BYTES = 64
# ... and per candidate made of it (held in a store that doubles, staged by coarse block,
# sorted into its groups, copied when offered): measured, 14 to 40 bytes on the fills with
# the most candidates per table entry (ISM, alpha = 100 and 1000)
CANDIDATE_BYTES = 48
BREAKPOINT_MARGIN = 2  # on the measured terms of ``_breakpoint_bound``
# ... whose columns past the one-state ones hold, in all, up to this many times as many
# breakpoints as those at most (measured: 0.3 for ISM at alpha = 10 and T = 300, 0.2 at
# alpha = 1000 and T = 50, less at longer sequences)
ONE_STATE_TAIL = 0.5
FILL_OVERHEAD = 2**18  # Python objects of a fill: dicts, lists, tuples, small arrays


class _Candidates:
    """Split points of one option that apply to every later row: flat, growable arrays.

    Candidate ``k`` adds ``const[k] + (t if with_t else 0)`` to the table entry at
    flat index ``base[k] + t`` and offers the sum to result column ``dst[k]``.
    The first ``n_sorted`` are sorted by ``dst``; newer ones are merged in when they
    reach a quarter of those.
    """

    INITIAL = 4096  # candidates a fresh store has room for

    def __init__(self, with_t: bool, dtype) -> None:
        self.with_t = with_t
        self.size = 0
        self.base = np.empty(self.INITIAL, dtype=np.int64)
        self.const = np.empty(self.INITIAL, dtype=dtype)  # the table's type: mixed types are slow
        self.dst = np.empty(self.INITIAL, dtype=np.intp)
        self.n_sorted = 0
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, first_row, base, const, dst) -> None:
        """Candidates that take part from row ``first_row`` on (one row, or one per candidate)."""
        if len(dst):
            first_row = np.broadcast_to(np.asarray(first_row, dtype=np.int64), np.shape(dst))
            self.pending.append((first_row, base, const, dst))

    def activate(self, t: int) -> None:
        """Let the candidates due by row ``t`` take part."""
        waiting = []
        for first_row, base, const, dst in self.pending:
            due = first_row <= t
            if not due.all():
                waiting.append((first_row[~due], base[~due], const[~due], dst[~due]))
                base, const, dst = base[due], const[due], dst[due]
            end = self.size + len(dst)
            if end > len(self.dst):
                self._reserve(2 * end)
            self.base[self.size : end] = base
            self.const[self.size : end] = const
            self.dst[self.size : end] = dst
            self.size = end
        self.pending = waiting
        if 4 * (self.size - self.n_sorted) > self.n_sorted + 4096:
            n = self.size
            order = np.argsort(self.dst[:n], kind="stable")
            for name in ("base", "const", "dst"):
                getattr(self, name)[:n] = getattr(self, name)[:n][order]
            self.n_sorted = n

    def _reserve(self, capacity: int) -> None:
        for name in ("base", "const", "dst"):
            old = getattr(self, name)
            new = np.empty(capacity, dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def active(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The candidates taking part, as runs of (base, const, dst) sorted by ``dst``."""
        size, n = self.size, self.n_sorted
        runs = [(self.base[:n], self.const[:n], self.dst[:n])] if n else []
        if n < size:  # the newer ones, sorted here (they are few)
            order = n + np.argsort(self.dst[n:size])
            runs.append((self.base[order], self.const[order], self.dst[order]))
        return runs


def _run_starts(values: np.ndarray) -> np.ndarray:
    """Whether each entry of ``values`` differs from the one before (the first does)."""
    starts = np.empty(len(values), dtype=bool)
    starts[:1] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    return starts


def _segments(dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts of the runs of equal values in sorted ``dst``, and those values."""
    starts = np.flatnonzero(_run_starts(dst))
    return starts, dst[starts]


def _ceilings(values: np.ndarray, growths: np.ndarray) -> np.ndarray:
    """``max_i (values[i] - i * g)`` for each growth ``g`` (one row per growth, one column
    per column of ``values``). A lower bound ``b`` that grows by ``g`` per row stays at least
    ``values[i]`` on every row ``i`` exactly when ``b`` is at least that ceiling; as
    ``i >= 0``, the ceiling never rises with ``g``, so any growth at most ``g`` gives one at
    least as high."""
    rows = np.arange(len(values), dtype=np.int64)
    return (values[None, :, :] - (growths[:, None] * rows)[:, :, None]).max(axis=1)


def _run_values(runs: np.ndarray, t0: int, base, const) -> np.ndarray:
    """The candidates' values on the rows of a block from ``t0``, without ``t``: one row per
    candidate. ``runs`` is the table's runs of a block's length (``sliding_window_view``),
    so each candidate's values are one contiguous run of its column, copied whole."""
    values = runs[base + t0]
    values += const[:, None]
    return values


def _lower_runs(into, values, starts, columns, t0: int, with_t: bool) -> None:
    """``into[:, columns]`` lowered to the least of ``values`` (one row per candidate) over
    each run of candidates from ``starts``; the row's own ``t`` is the same for every
    candidate of a run, so it is added after the minimum."""
    lowest = np.minimum.reduceat(values, starts, axis=0).T
    if with_t:
        lowest += np.arange(t0, t0 + len(into), dtype=lowest.dtype)[:, None]
    into[:, columns] = np.minimum(into[:, columns], lowest)


def _groups_beaten(bound, growth, upper, scale: int) -> np.ndarray:
    """Whether ``bound + i * growth >= upper[i]`` on every row ``i`` (``bound`` and
    ``growth``: one row per group, one column per column; ``upper``: one row per row of the
    block; a column holding int64's largest value is never beaten).

    Decided per column by the ceiling of ``upper`` (``_ceilings``) for the growths
    ``scale * GROUP_GROWTHS`` next below and next above ``growth``: at or above the lower
    one's ceiling is beaten, below the upper one's is not; the few between (and those
    beyond the growths listed) are checked row by row."""
    grid = scale * np.asarray(GROUP_GROWTHS, dtype=np.int64)
    ceiling = _ceilings(upper, grid)
    columns = np.broadcast_to(np.arange(bound.shape[1]), bound.shape)
    above = np.searchsorted(grid, growth)  # grid[above] >= growth; len(grid): beyond it
    below = np.searchsorted(grid, growth, side="right") - 1  # -1: below every growth
    beaten = (below >= 0) & (bound >= ceiling[np.maximum(below, 0), columns])
    beyond = above == len(grid)
    unknown = bound >= ceiling[np.minimum(above, len(grid) - 1), columns]
    undecided = ~beaten & (beyond | unknown)
    k, c = np.nonzero(undecided)
    steps = np.arange(len(upper), dtype=np.int64)[:, None]
    beaten[k, c] = (bound[k, c] + steps * growth[k, c] >= upper[:, c]).all(axis=0)
    return beaten


class _Groups:
    """The candidates of one side of a split, grouped by the coarse block of rows of the part
    they come from (``k * B <= row < k * B + B``), so that a group whose lower bound cannot
    beat the split's value is skipped.

    A block is *staged* (offered whole, block by block) until every candidate of it is
    found and due; then it is *finished*: sorted by result column, with the start of each
    column's run in ``offsets[k]``.
    """

    def __init__(self, with_t: bool, dtype, columns: int) -> None:
        self.with_t, self.dtype, self.columns = with_t, dtype, columns
        self.staged: dict[int, _Candidates] = {}
        self.finished = 0  # blocks 0 .. finished - 1 are sorted into the arrays below
        self.base = np.empty(0, dtype=np.int64)
        self.const = np.empty(0, dtype=dtype)
        self.dst = np.empty(0, dtype=np.intp)
        self.offsets = np.zeros((0, columns + 1), dtype=np.int64)
        self.every: tuple | None = None  # selected(None), kept until the next finish

    def add(self, block: np.ndarray, first_row: np.ndarray, base, const, dst) -> None:
        """Candidates of coarse blocks ``block`` that take part from ``first_row`` on."""
        for k in np.unique(block):
            if k < self.finished:
                raise AssertionError(f"a candidate of coarse block {k}, already finished")
            here = block == k
            store = self.staged.setdefault(int(k), _Candidates(self.with_t, self.dtype))
            store.add(first_row[here], base[here], const[here], dst[here])

    def finish(self, blocks: int, t: int) -> None:
        """Sort blocks up to ``blocks - 1`` in: each has all its candidates, due by row ``t``."""
        if blocks <= self.finished:
            return
        parts, offsets, start = [(self.base, self.const, self.dst)], [self.offsets], len(self.dst)
        for k in range(self.finished, blocks):
            store = self.staged.pop(k, None) or _Candidates(self.with_t, self.dtype)
            store.activate(t)
            if store.pending:
                raise AssertionError(f"coarse block {k} finished with candidates not due")
            n = store.size
            order = np.argsort(store.dst[:n], kind="stable")
            dst = store.dst[:n][order]
            parts.append((store.base[:n][order], store.const[:n][order], dst))
            offsets.append(start + np.searchsorted(dst, np.arange(self.columns + 1))[None, :])
            start += n
        self.base, self.const, self.dst = (np.concatenate(p) for p in zip(*parts, strict=True))
        self.offsets = np.concatenate(offsets)
        self.finished = blocks
        self.every = None

    def staged_runs(self, t0: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The staged candidates due by row ``t0``, as runs sorted by result column."""
        runs = []
        for store in self.staged.values():
            store.activate(t0)
            runs += store.active()
        return runs

    def selected(self, keep: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates of the finished groups ``keep[k, column]`` (None: every one, kept
        for the next blocks), sorted by column."""
        if keep is not None:
            return self._pick(keep)
        if self.every is None:
            self.every = self._pick(np.ones((self.finished, self.columns), dtype=bool))
        return self.every

    def _pick(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # column-major order: the chosen runs come out sorted by result column
        columns, blocks = np.nonzero(keep.T)
        starts = self.offsets[blocks, columns]
        lengths = self.offsets[blocks, columns + 1] - starts
        total = int(lengths.sum())
        index = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        return self.base[index], self.const[index], self.dst[index]


class _Rises:
    """For each column of one table, the least rise from a row to the next within each
    chunk of rows ``k * C .. k * C + C`` (``C`` at least the rows of a block, so the rows a
    candidate reads in a block lie in two chunks); ``UNKNOWN_RISE`` until a chunk is filled.

    The table's rows are a whole number of chunks, so the chunk of flat index ``i`` (column
    ``c``, row ``r``) is ``i // C = c * rows / C + r // C``: no division by the row count."""

    def __init__(self, table: np.ndarray, chunk: int) -> None:
        self.table, self.chunk = table, chunk
        cols, rows = table.shape
        if rows % chunk:
            raise ValueError(f"rows={rows} is not a whole number of chunks of {chunk}")
        self.least = np.full((cols, rows // chunk), UNKNOWN_RISE, dtype=np.int64)
        self.known = 0  # chunks 0 .. known - 1 are filled

    def update(self, steps: int) -> None:
        """Find the least rises of every chunk whose rows are filled (rows 0..``steps``)."""
        C = self.chunk
        while (self.known + 1) * C <= steps:
            k = self.known
            part = self.table[:, k * C : k * C + C + 1].astype(np.int64)
            self.least[:, k] = np.diff(part, axis=1).min(axis=1)
            self.known += 1

    def floor(self, index: np.ndarray, rows: int) -> np.ndarray:
        """The least rise over the entries ``index .. index + rows - 1`` (flat indices into the
        table, one run of a column each): the chunks of their first and last rise."""
        flat = self.least.reshape(-1)
        first = flat.take(index // self.chunk)
        return np.minimum(first, flat.take((index + max(rows - 2, 0)) // self.chunk), out=first)


class _Offer:
    """Candidates offered to one split for a block of rows, evaluated in two rounds.

    Each candidate is first read at the block's first row only (its *first* value), and
    gets a floor ``g`` on its rise per row: the least rise between consecutive rows it
    reads (``_Rises``), plus 1 when its value holds ``t``. Round 1 evaluates, on every row,
    one candidate per column with the least first value and one with the least value on
    the block's last row (the split point that wins moves within a block, and the two
    bound ``into`` from above at both ends). Round 2 evaluates the others,
    except those that cannot lower ``into``: on row ``t0 + i`` a candidate is worth at
    least ``first + i * g``, so it is skipped when ``first >= into[i] - i * g`` on every
    row. ``g`` is rounded down to a step of ``GROWTH_STEPS`` (a smaller growth only weakens
    the floor), and ``max_i (into[i] - i * step)``, a column's *ceiling* for that step, is
    found once per run. ``into`` only falls, and each value in it is a legal split's value
    or more, so what is skipped could not have changed it.
    """

    def __init__(
        self,
        into: np.ndarray,
        t0: int,
        flats: dict,
        rises: dict,
        never_falls: dict,
        bisected: np.ndarray | None = None,
        runs: dict | None = None,
    ) -> None:
        self.into, self.t0, self.flats, self.rises = into, t0, flats, rises
        # per table and block length: its runs of that many entries (``_run_values``)
        self.runs = {} if runs is None else runs
        self.never_falls = never_falls  # per table: no entry below the one a row before
        self.bisected = bisected  # per column: its minimum is found without candidates
        self.waiting: list[tuple[str, bool, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, name: str, with_t: bool, base, const, dst) -> None:
        """Candidates reading table ``name`` (``base, const, dst`` as in ``_Candidates``,
        sorted by ``dst``); those of bisected columns are dropped."""
        if self.bisected is not None and len(dst):
            keep = ~self.bisected[dst]
            base, const, dst = base[keep], const[keep], dst[keep]
        if len(dst):
            self.waiting.append((name, with_t, base, const, dst))

    def run(self) -> None:
        """Lower ``into`` by every candidate added since the last run."""
        waiting, self.waiting = _merged(self.waiting), []
        if not waiting:
            return
        ends = np.array([self.t0, self.t0 + len(self.into) - 1])  # the block's first, last row
        at_ends = [self._values_at(ends, *source) for source in waiting]
        firsts = [values[0] for values in at_ends]
        segments = [_segments(dst) for *_, dst in waiting]
        seeds = [  # per end, the least there per column (a third seed, on the middle row,
            # evaluated as many candidates in all)
            np.union1d(at_first, at_last)
            for at_first, at_last in zip(
                self._seeds(waiting, segments, firsts),
                self._seeds(waiting, segments, [values[1] for values in at_ends]),
                strict=True,
            )
        ]
        self._evaluate(waiting, seeds)
        steps = np.asarray(GROWTH_STEPS, dtype=self.into.dtype)
        ceiling = _ceilings(self.into, steps)
        rests = []
        for source, first, seed in zip(waiting, firsts, seeds, strict=True):
            beaten = self._beaten(source, first, steps, ceiling)
            beaten[seed] = True  # evaluated already
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

    def _seeds(self, sources, segments, values) -> list[np.ndarray]:
        """Per source, the indices of its seeds: one candidate per column (over all sources)
        with the column's least value in ``values`` (per source, its values on one row;
        ``segments``: per source, ``_segments`` of its ``dst``)."""
        least = np.full(self.into.shape[1], np.iinfo(self.into.dtype).max, self.into.dtype)
        for (starts, columns), at_row in zip(segments, values, strict=True):
            least[columns] = np.minimum(least[columns], np.minimum.reduceat(at_row, starts))
        claimed = np.zeros(len(least), dtype=bool)
        seeds = []
        for (*_, dst), at_row in zip(sources, values, strict=True):
            hit = np.flatnonzero((at_row == least[dst]) & ~claimed[dst])
            hit = hit[_run_starts(dst[hit])]  # the first hit per column
            claimed[dst[hit]] = True
            seeds.append(hit)
        return seeds

    def _beaten(self, source, first, steps, ceiling) -> np.ndarray:
        """Which candidates of ``source`` cannot lower ``into`` on any row."""
        name, with_t, base, _, dst = source
        beaten = np.zeros(len(dst), dtype=bool)
        undecided = np.arange(len(dst))
        if self.never_falls[name]:  # no rise read is below 0 (unfilled rows hold the marker),
            # so g >= with_t: most candidates are beaten without reading their floor
            level = np.searchsorted(steps, int(with_t), side="right") - 1
            beaten = first >= ceiling[level, dst]
            undecided = np.flatnonzero(~beaten)
        growth = self.rises[name].floor(base[undecided] + self.t0, len(self.into)) + with_t
        level = np.searchsorted(steps, growth, side="right") - 1  # -1: below every step
        at = ceiling[np.maximum(level, 0), dst[undecided]]
        beaten[undecided] = (level >= 0) & (first[undecided] >= at)
        return beaten

    def _evaluate(self, sources, chosen) -> None:
        """Lower ``into`` by the values on every row of the block of the candidates
        ``chosen`` (sorted indices into each source)."""
        for (name, with_t, base, const, dst), index in zip(sources, chosen, strict=True):
            if not len(index):
                continue
            base, const, dst = base[index], const[index], dst[index]
            runs = self.runs.get((name, len(self.into)))
            if runs is None:  # kept for the next blocks: making one takes about 70 us
                runs = sliding_window_view(self.flats[name], len(self.into))
                self.runs[(name, len(self.into))] = runs
            chunk = max(1, BLOCK_VALUES // len(self.into))
            for low in range(0, len(dst), chunk):
                part = slice(low, low + chunk)
                values = _run_values(runs, self.t0, base[part], const[part])
                starts, columns = _segments(dst[part])
                _lower_runs(self.into, values, starts, columns, self.t0, with_t)


def _merged(sources: list) -> list:
    """``sources`` (name, with_t, base, const, dst) with one per table and ``with_t``, sorted
    by ``dst``: each is then tested and evaluated in one pass."""
    together: dict[tuple[str, bool], list] = {}
    for name, with_t, *arrays in sources:
        together.setdefault((name, with_t), []).append(arrays)
    merged = []
    for (name, with_t), parts in together.items():
        base, const, dst = (np.concatenate(p) for p in zip(*parts, strict=True))
        if len(parts) > 1:
            order = np.argsort(dst, kind="stable")
            base, const, dst = base[order], const[order], dst[order]
        merged.append((name, with_t, base, const, dst))
    return merged


def _shift(option) -> int:
    """The units an option's right part has fewer than its table (0 for Run and Same)."""
    return option.shift if isinstance(option, Single | Split) else 0


class _Layout(NamedTuple):
    """The shapes of a table set allocated for some rows and budgets (``_layout``)."""

    specs: tuple[TableSpec, ...]  # the tables with the options that can reach an entry
    off: int  # columns in front of budget 0
    cols: int
    block: int  # rows filled together
    stride: int  # rows stored per column
    ring: int  # rows of ``recent`` (twice) and ``early``
    coarse: int  # coarse blocks of BOUND_ROWS rows with chords
    dtype: type


def _breakpoint_bound(spec: TableSpec, steps: int, width: int, zones: dict) -> int:
    """A bound on the breakpoints a fill up to row ``steps`` records in table ``spec`` (its
    options those kept for ``width``): per column at most its interior rows, and in all at
    most ``worth`` columns' worth of rows plus two per column (where a column turns
    feasible or infeasible).

    Measured, not proven. A column where the table holds one state at most is a quadratic,
    a breakpoint on every row: ``Q`` columns (``zones``, see ``_one_state_budgets``); the
    columns past them have up to ``ONE_STATE_TAIL`` times as many in all. Where a split's
    right part is a chain (it never holds two states: ISM without the output), the next
    ``Q`` columns have one on every second row, the next on every third, and so on: a
    harmonic sum, ``Q (1 + ln(columns / Q))``. The other columns have few, slowly more at
    long sequences and in wide tables: ``1 + ln(1 + columns)`` columns' worth. Each of the
    last two terms is taken ``BREAKPOINT_MARGIN`` times. A chain itself is linear where it
    is feasible. On the 93 tables with breakpoints of 41 requests (T = 40 to 20,000, alpha 1
    to 10**6, both models and flags, 30 to 2,500 budgets) the bound was the count where
    every interior row or only the edges are breakpoints, and elsewhere 1.35 (ISM at alpha =
    1000, T = 50) to 12.6 times the count; for MSM without the output at alpha = 1, T = 10^5
    and 100 budgets (8.1 columns' worth), 1.6 times."""
    columns = width + 1
    interior = max(steps - 1, 0)  # rows 1 .. steps - 1 have rows on both sides
    if columns > 10**12:  # far past any limit (and past floats): every interior row
        return interior * columns
    q = zones.get(spec.name, columns)
    worth = q * (1 + ONE_STATE_TAIL) + BREAKPOINT_MARGIN * (1 + math.log1p(columns)) if q else 0
    if any(isinstance(o, Split) and zones.get(o.right) == 0 for o in spec.options):
        worth += BREAKPOINT_MARGIN * q * math.log1p(columns / max(q, 1))
    return min(interior * columns, interior * math.ceil(worth) + 2 * columns)


def _one_state_budgets(specs: tuple[TableSpec, ...]) -> dict[str, int]:
    """Per table, how many budgets from its least feasible one hold one state at most (the
    start): a breakpoint on every row. 0 for a table that never holds two states and has no
    Run (a chain, linear where feasible: breakpoints only at its edges); absent (every
    column) for one that never holds two states and has a Run (a quadratic everywhere).

    From the options alone: ``feasible[X]``, the least budget where ``X[2, M]`` is finite,
    and ``two[X]``, the least budget where a Split holds both its parts' starts (a Single
    or a Same reads a table at the same budget less its shift; a Run adds no state)."""
    never = math.inf
    least = {spec.name: spec.min_units for spec in specs}
    feasible = dict.fromkeys(least, never)
    two = dict.fromkeys(least, never)
    quadratic = dict.fromkeys(least, False)
    for _ in range(2 * len(specs) + 2):  # a fixed point of a few tables
        for spec in specs:
            reach, both = [], []
            for o in spec.options:
                if isinstance(o, Run):
                    reach.append(least[o.table])
                    quadratic[spec.name] = True
                elif isinstance(o, Same):
                    reach.append(feasible[o.table])
                    both.append(two[o.table])
                    quadratic[spec.name] |= quadratic[o.table]
                elif isinstance(o, Single):
                    reach.append(o.shift + least[o.table])
                    both.append(o.shift + two[o.table])
                    quadratic[spec.name] |= quadratic[o.table]
                else:
                    reach.append(max(least[o.left], o.shift + least[o.right]))
                    both.append(max(feasible[o.left], o.shift + feasible[o.right]))
            feasible[spec.name] = max(spec.min_units, min(reach, default=never))
            two[spec.name] = max(spec.min_units, min(both, default=never))
    zones = {}
    for name in least:
        if two[name] < never:
            zones[name] = max(1, int(two[name] - min(feasible[name], two[name])))
        elif not quadratic[name]:
            zones[name] = 0
    return zones


def _block_rows(columns: int) -> int:
    """The rows of a block of a table of ``columns`` columns."""
    return NARROW_BLOCK if columns <= NARROW_COLUMNS else BLOCK


def _stored_rows(rows: int, block: int) -> int:
    """The rows a column stores: ``rows`` rounded up to whole blocks."""
    return -(-rows // block) * block


class BreakpointTables:
    """Cost tables for one set of ``TableSpec`` s, equal entry for entry to ``DPTables``.

    ``tab[name][off + M, t]`` is the entry for ``t`` steps and ``M`` units; the
    ``off`` columns in front are infeasible, so ``M - shift`` needs no bounds check.
    Grown on demand: a request beyond the filled rows or width refills the tables
    at twice the size, so a sequence of growing requests costs at most twice the last.
    """

    def __init__(self, specs: tuple[TableSpec, ...]) -> None:
        self.specs = specs
        self.by_name = {spec.name: spec for spec in specs}
        # set per allocation (``_layout``): the columns in front of budget 0, and the options
        # that can reach a budget of the width allocated
        self.off = 1
        self.live = specs
        self.steps = -1  # rows filled: 0..steps
        self.width = -1  # budgets 0..width
        self.capacity = 0  # rows allocated
        self.tab: dict[str, np.ndarray] = {}
        # False from a fill's first write to its last: a set cut short there by an exception
        # or an interrupt is never read again (``table_cache``), which also holds ``lock``
        # for the whole of a request
        self.intact = True
        self.lock = threading.RLock()

    # -- public interface (the same as DPTables) ------------------------------------------------

    def ensure(self, steps: int, width: int, progress: Progress | None = None) -> None:
        """Fill rows up to ``steps`` for budgets 0..``width`` units.

        ``steps``, the rows that answer, grows only once a block's rows are in the tables;
        and ``intact`` is False from the first write to the last, so a fill cut short
        anywhere (``progress`` raising, Ctrl-C) leaves a set that is never read again.
        """
        if steps <= self.steps and width <= self.width:
            return
        self.intact = False
        target = self.allocation(steps, width)
        if target is not None:
            self._allocate(*target)
        while self.steps < steps:
            t0 = self.steps + 1
            t1 = min(t0 + self.block, steps + 1)
            self._begin_block(t0, t1)
            for t in range(t0, t1):
                self._fill_row(t, t0)
            for name, table in self.tab.items():  # the block's rows, a run per column
                table[:, t0:t1] = self._rows(name, t1 - 1, t0)[::-1].T
            self.steps = t1 - 1
            self._find_breakpoints(self.searched + 1, t1 - 2)
            for rises in self.rises.values():
                rises.update(self.steps)
            if progress is not None:  # every 64th row and the last, once they answer
                for t in range(t0, t1):
                    if t % 64 == 0 or t == steps:
                        progress(t, steps)
        self._index_breakpoints()
        self.intact = True

    def allocation(self, steps: int, width: int) -> tuple[int, int] | None:
        """(rows, width) that ``ensure(steps, width)`` would refill the tables at, or None
        when the tables it has are large enough. Each dimension that grows at least
        doubles, so a sequence of growing requests costs at most twice the last."""
        if (
            width <= self.width
            and steps < self.capacity
            and limits.table_dtype(steps) == self.dtype
        ):
            return None
        rows = self.capacity if steps < self.capacity else max(steps + 1, 2 * self.capacity)
        wide = self.width if width <= self.width else max(width, 2 * self.width)
        # a row costs a fixed ~0.1 ms besides its entries, so small tables start wide
        # enough to serve a sweep over budgets without refilling (up to SMALL_ENTRIES)
        return rows, max(wide, min(MINIMUM_WIDTH, SMALL_ENTRIES // rows))

    def size(self, steps: int, width: int) -> DPSize:
        """What ``ensure(steps, width)`` would take from here (nothing if filled already):
        the bytes the fill holds at its peak, the whole set's arrays included
        (``fill_bytes``; a set that is refilled releases its old arrays first), and the
        estimated time."""
        if steps <= self.steps and width <= self.width:
            return DPSize(0, 0.0)
        rows, wide = self.allocation(steps, width) or (self.capacity, self.width)
        layout = self._layout(rows, wide)
        splits = sum(isinstance(o, Split) for spec in layout.specs for o in spec.options)
        tables = len(self.specs)
        table_bytes = tables * layout.cols * layout.stride * np.dtype(layout.dtype).itemsize
        working = self.fill_bytes(rows, wide, steps) - table_bytes
        return dp_size(tables, splits, rows - 1, layout.cols, layout.stride, working)

    def _layout(self, rows: int, width: int) -> _Layout:
        """The shapes of the set allocated for ``rows`` rows and budgets 0..``width``.

        An option of shift ``s > width`` reads budget ``M - s < 0`` for every budget of the
        table, an infeasible one: it can lower no entry, so it is left out of the fill, and
        the columns in front of budget 0 are only as many as the largest shift kept needs
        (with alpha = 10**6 and a small budget, a few instead of a million)."""
        live = tuple(
            replace(spec, options=tuple(o for o in spec.options if _shift(o) <= width))
            for spec in self.specs
        )
        off = max((_shift(o) for spec in live for o in spec.options), default=0) + 1
        cols = off + width + 1
        block = _block_rows(cols)
        y_min = max([o.y_min for s in live for o in s.options if isinstance(o, Split)] + [1])
        return _Layout(
            specs=live,
            off=off,
            cols=cols,
            block=block,
            stride=_stored_rows(rows, block),
            # a window reads back up to block + y_min rows, the breakpoint search block + 2
            ring=block + y_min + 4,
            coarse=rows // BOUND_ROWS + 2,
            dtype=limits.table_dtype(rows - 1),
        )

    def allocated_bytes(self, rows: int, width: int) -> int:
        """The bytes of the arrays ``_allocate(rows, width)`` makes (exact)."""
        layout = self._layout(rows, width)
        cols, item = layout.cols, np.dtype(layout.dtype).itemsize
        per_table = (
            cols * layout.stride * item  # tab
            + 3 * layout.ring * cols * item  # recent (each row twice) and early
            + cols * (layout.stride // layout.block) * 8  # _Rises.least
            + cols * (8 + 1 + 8)  # bp_count, dense, last_bad
            + layout.coarse * cols * (3 * 8 + 1 + 8)  # chords and least_rise
        )
        splits = sum(isinstance(o, Split) for spec in layout.specs for o in spec.options)
        stores = 2 * splits * _Candidates.INITIAL * (8 + item + 8)  # by_left, by_right
        return len(self.specs) * per_table + stores

    def fill_bytes(self, rows: int, width: int, steps: int) -> int:
        """A bound on the bytes that filling rows up to ``steps`` of a set allocated for
        ``rows`` rows and budgets 0..``width`` holds at once: ``allocated_bytes``, the arrays
        each split keeps from block to block, the largest temporaries of one step of the
        fill (``_step_bytes``, from their shapes), and what grows with the breakpoints.

        The breakpoints are not known before the fill: their count per table is bounded by a
        measured rule (``_breakpoint_bound``), and each costs ``BREAKPOINT_BYTES`` plus
        ``CANDIDATE_BYTES`` per split that makes a candidate of it (measured as well). On 29
        fills (alpha 1 to 10**6, both models and flags, T = 10 to 10^4, 70 to 4,100 columns)
        the bound was 1.15 to 3.7 times tracemalloc's peak; tests/planning/test_limits.py
        checks a grid of them."""
        layout = self._layout(rows, width)
        cols, block, item = layout.cols, layout.block, np.dtype(layout.dtype).itemsize
        filled = min(steps, rows - 1)
        splits = [(spec, o) for spec in layout.specs for o in spec.options if isinstance(o, Split)]
        wide = [cols - self._first_column(spec, o, layout.off) for spec, o in splits]
        # per split, from one block to the next: the two windows' constant parts and the
        # bisected middle's minima (block rows, the split's columns), and the block's values
        # ``far`` (block rows, every column); one more ``far`` and minima while a split's
        # are replaced
        kept = sum(3 * block * w * item + block * cols * item for w in wide)
        kept += (block * cols + block * max(wide, default=0)) * item if splits else 0
        zones = _one_state_budgets(layout.specs)
        count = {spec.name: _breakpoint_bound(spec, filled, width, zones) for spec in layout.specs}
        # a breakpoint of a split's left part is a candidate of that split, one of its right
        # part another
        sides = {
            name: sum((o.left == name) + (o.right == name) for _, o in splits) for name in count
        }
        grows = sum(
            n * (BREAKPOINT_BYTES + CANDIDATE_BYTES * sides[name]) for name, n in count.items()
        )
        # windowed blocks (candidates offered, middles bisected) start at row y_min + block;
        # groups are bounded once a split's candidates are 2 * BOUND_MINIMUM per column
        windowed = [filled >= o.y_min + block for _, o in splits]
        bounded = [
            ok and filled > BOUND_ROWS and count[o.left] + count[o.right] >= 2 * BOUND_MINIMUM * w
            for ok, (_, o), w in zip(windowed, splits, wide, strict=True)
        ]
        step = self._step_bytes(
            layout,
            filled,
            max((w for w, ok in zip(wide, windowed, strict=True) if ok), default=0),
            max((w for w, ok in zip(wide, bounded, strict=True) if ok), default=0),
        )
        return self.allocated_bytes(rows, width) + kept + step + grows + FILL_OVERHEAD

    def _step_bytes(self, layout: _Layout, filled: int, windowed: int, bounded: int) -> int:
        """The largest temporaries of one step of a fill up to row ``filled`` (a step's are
        freed before the next), from their shapes: ``block`` rows by every column (``cols``)
        or by a split's columns from its first, for the widest split read from its windows
        (``windowed``) or whose groups are bounded (``bounded``; 0: none); int64 unless
        said otherwise."""
        cols, block, item = layout.cols, layout.block, np.dtype(layout.dtype).itemsize
        steps = [
            # breakpoint search of one table: its rows as int64, three int64 differences,
            # eight masks
            (block + 2) * cols * (8 + 3 * 8 + 8),
            # least rises of a chunk: the rows as int64 and their differences
            2 * (block + 1) * cols * 8,
            # a row's two windows (or, in the first rows, every split point)
            2 * block * cols * item + 4 * cols * 8,
            # reading back the breakpoints: a search over every column
            2 * (cols + 1) * 8,
        ]
        if windowed:
            steps += [
                # a block's offer: the ceilings of ``far`` for each growth step
                len(GROWTH_STEPS) * block * cols * 8 + block * cols,
                # the middle by bisection: its bounds and two evaluations of the split
                12 * block * windowed * 8,
            ]
        if bounded:
            B, coarse = BOUND_ROWS, filled // BOUND_ROWS + 2
            pieces = 2 * (filled // B) + 3
            steps += [
                # chords of a coarse block: its rows as int64 and four int64 expressions
                (B + 1) * cols * (5 * 8 + 4 + 1),
                # group bounds: per piece and column the chords of both parts and the
                # bound; per coarse block the bounds and least rises
                pieces * bounded * 24 * 8 + coarse * bounded * 8 * 8,
                # groups beaten: the ceilings of the block for each group growth, the
                # values scaled, and per coarse block the bounds, growths and masks
                (len(GROUP_GROWTHS) + 2) * block * bounded * 8 + coarse * cols * 12 * 8,
            ]
        return max(steps)

    def value(self, name: str, t: int, units: int) -> int:
        """Entry for ``t`` steps and ``units`` free (after ``ensure``); >= ``inf`` if infeasible."""
        return int(self.tab[name][self.off + units, t])

    @property
    def dtype(self):
        return self._dtype if self.tab else None

    # -- filling --------------------------------------------------------------------------------

    def _allocate(self, rows: int, width: int) -> None:
        self._release()  # the old set's arrays go before the new ones are made
        layout = self._layout(rows, width)
        self.live, self.off, self.cols = layout.specs, layout.off, layout.cols
        self._dtype = layout.dtype
        self.inf = limits.infinity(self._dtype)
        self.capacity, self.width, self.steps = rows, width, -1
        # read once per allocation: the windows and left_plus_y are sized by it
        self.block = layout.block
        # unfilled rows must hold the marker: a block's candidates may read them. Each column
        # holds whole blocks of rows (``stride``), the chunks of ``_Rises``
        self.stride = layout.stride
        self.tab = {
            s.name: np.full((self.cols, self.stride), self.inf, self._dtype) for s in self.specs
        }
        self.flat = {name: table.reshape(-1) for name, table in self.tab.items()}
        self.runs: dict[tuple[str, int], np.ndarray] = {}  # views of ``flat``, made once
        self.rises = {name: _Rises(table, max(self.block, 1)) for name, table in self.tab.items()}
        # the last rows and the first ones, row-major: the windows and the breakpoint search
        # read whole rows, which the column-major table holds one entry per cache line
        self.ring = layout.ring
        # each row twice (at k and k + ring), so that any ring rows in a row are one slice
        self.recent = {
            s.name: np.full((2 * self.ring, self.cols), self.inf, self._dtype) for s in self.specs
        }
        self.early = {
            s.name: np.full((self.ring, self.cols), self.inf, self._dtype) for s in self.specs
        }
        self.searched = 0  # breakpoints are known for rows 1..searched
        self.bp_count = {s.name: np.zeros(self.cols, dtype=np.int64) for s in self.specs}
        self.dense = {s.name: np.zeros(self.cols, dtype=bool) for s in self.specs}
        # per table and column: the last row searched that is not a convex point (its entry
        # and both neighbours finite, second difference >= 0) nor infinite with both
        # neighbours; -1 if none
        self.last_bad = {s.name: np.full(self.cols, -1, dtype=np.int64) for s in self.specs}
        self.bp_found: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
            s.name: [] for s in self.specs
        }
        self.candidates = {}
        self.groups = {}  # per split: the candidates of coarse blocks, (left, right) _Groups
        self.bound_rows = BOUND_ROWS  # read once per allocation, like the block size
        blocks = layout.coarse
        # per table and coarse block k (rows kB .. kB + B), for each column: the entry at
        # row kB, its rise to row kB + B, B times the chord's largest height above the
        # column, and whether the block is finite throughout
        self.chords = {
            s.name: (
                np.zeros((blocks, self.cols), dtype=np.int64),
                np.zeros((blocks, self.cols), dtype=np.int64),
                np.zeros((blocks, self.cols), dtype=np.int64),
                np.zeros((blocks, self.cols), dtype=bool),
            )
            for s in self.specs
        }
        # ... and the least rise from one row to the next within the block
        self.least_rise = {
            s.name: np.zeros((blocks, self.cols), dtype=np.int64) for s in self.specs
        }
        self.chord_blocks = 0  # coarse blocks whose chords are known (found once needed)
        self.monotone = {s.name: True for s in self.specs}  # no entry below the one before
        self.first_column = {}  # per split: the least column where both parts can be feasible
        self.left_plus_y = {}  # per split: L[y + lo] + y for the window of small y
        self.right_minus_j = {}  # per split: R[j, M - shift] - j, j = t - y, for large y
        # per split: what its rows read in this block (first column; from it, the block's
        # candidates' minimum, one row per block row; the two windows' constant parts; the
        # bisected middle: (columns - first, their minima per row) or None), or None if no
        # column is feasible
        self.window = {}
        for spec in self.live:
            for option in spec.options:
                if isinstance(option, Split):
                    key = (spec.name, option)
                    self.candidates[key] = (
                        _Candidates(False, self._dtype),
                        _Candidates(True, self._dtype),
                    )
                    self.groups[key] = (
                        _Groups(False, self._dtype, self.cols),
                        _Groups(True, self._dtype, self.cols),
                    )
                    self.first_column[key] = self._first_column(spec, option, self.off)

    def _release(self) -> None:
        """Drop the arrays of the set (before a refill makes new ones)."""
        for name in (
            "tab", "flat", "runs", "rises", "recent", "early", "bp_count", "dense", "last_bad",
            "bp_found", "bp_rows", "candidates", "groups", "chords", "least_rise",
            "left_plus_y", "right_minus_j", "window",
        ):  # fmt: skip
            if hasattr(self, name):
                setattr(self, name, {})

    def _least_grouped_row(self, option: Split) -> int:
        """The least row of a part whose candidates are kept by group: through a whole block
        of rows they read only rows filled before it (``y`` and ``r`` above the block size)."""
        return self.block + abs(option.lo) + 1

    def _add_chords(self, k: int) -> None:
        """Chords of coarse block ``k`` (rows ``kB .. kB + B``, all filled) of every table."""
        B = self.bound_rows
        steps = np.arange(B + 1, dtype=np.int64)
        for name, (start, rise, dip, finite) in self.chords.items():
            part = self.tab[name][:, k * B : k * B + B + 1]
            ok = (part < self.inf).all(axis=1)
            part = np.where(ok[:, None], part, 0).astype(np.int64)
            start[k] = part[:, 0]
            rise[k] = part[:, -1] - part[:, 0]
            # B (chord - entry), whole numbers: the chord's largest height above the column
            dip[k] = (B * part[:, :1] + rise[k][:, None] * steps - B * part).max(axis=1)
            finite[k] = ok
            self.least_rise[name][k] = np.diff(part, axis=1).min(axis=1)

    def _group_bounds(self, option: Split, t0: int, rows: int, first: int):
        """For the coarse blocks of the split's left part and of its right part: B times a
        lower bound of the split's value at row ``t0`` over the split points of each block,
        and B times the least that value grows by from one row to the next, for rows
        ``t0 .. t0 + rows - 1``. Arrays of one row per block and one column per result
        column from ``first``; the bound is NO_BOUND where unknown."""
        B, s, lo, y_min = self.bound_rows, option.shift, option.lo, option.y_min
        low, high = y_min, t0 - 1
        # cut [low, high] where either part's row crosses a block boundary: on each piece
        # [p, q] both parts lie in one (closed) block, above their chords minus the dips
        left_cuts = np.arange(B, high + lo + 1, B) - lo
        right_cuts = t0 - np.arange(B, t0 - low + 1, B)
        cuts = np.unique(np.concatenate(([low, high], left_cuts, right_cuts)))
        p, q = cuts[:-1], cuts[1:]
        # a block whose chord is not known yet has its finite flag False: no bound there
        k_left, k_right = (p + lo) // B, (t0 - q) // B
        l_start, l_rise, l_dip, l_ok = (a[k_left, first:] for a in self.chords[option.left])
        r_start, r_rise, r_dip, r_ok = (
            a[k_right, first - s : self.cols - s] for a in self.chords[option.right]
        )

        def chords_at(y: np.ndarray) -> np.ndarray:  # B (y + both chords), y one per piece
            left = B * l_start + l_rise * (y + lo - B * k_left)[:, None]
            right = B * r_start + r_rise * (t0 - y - B * k_right)[:, None]
            return left + right + (B * y)[:, None]

        # y + both chords is linear on a piece: its least value is at an end
        bound = np.minimum(chords_at(p), chords_at(q)) - l_dip - r_dip
        bound[~(l_ok & r_ok)] = NO_BOUND
        by_block = []
        for blocks in (k_left, k_right):
            by = np.full((len(self.chords[option.left][0]), bound.shape[1]), NO_BOUND)
            starts, runs = _segments(blocks)  # blocks run monotonically along y
            by[runs] = np.minimum.reduceat(bound, starts, axis=0)
            by_block.append(by)
        # from row t0 to t, a left candidate y reads the right part at rows t0 - y .. t - y,
        # a right candidate r the left part at rows t0 - r + lo .. t - r + lo (and y grows
        # by one): all filled before the block, and no entry is below the one before
        k = np.arange(len(by_block[0]))
        low, high = t0 - B * k - B + 1 + lo, t0 + rows - 2 - B * k + lo
        left_growth = self._least_rise(option.right, low, high, first - s, self.cols - s)
        right_growth = 1 + self._least_rise(option.left, low, high, first, self.cols)
        return (by_block[0], B * left_growth), (by_block[1], B * right_growth)

    def _least_rise(self, name: str, low, high, first: int, end: int) -> np.ndarray:
        """Per block of rows ``low[k] .. high[k]`` of table ``name``: the least rise from one
        row to the next in columns ``first .. end - 1`` (0 where a coarse block is not known:
        rows of a table with no entry below the one before never fall)."""
        B, least = self.bound_rows, self.least_rise[name]
        low, high = np.maximum(low, 0), np.maximum(high, 0)
        out = np.full((len(low), end - first), np.iinfo(np.int64).max)
        for step in range(int((high - low).max()) // B + 2):
            j = low // B + step
            rise = least[np.minimum(j, len(least) - 1), first:end]  # 0 until a block is known
            np.minimum(out, np.where((j <= high // B)[:, None], rise, out), out=out)
        return out

    def _offer_groups(self, key, option: Split, offer: _Offer, t0: int) -> None:
        """Add the grouped candidates to ``offer``: first, per column and side, the group
        with the least bound (and every group without one); then, once those are run, only
        the groups whose bound is below the split's value found so far, on every row of
        the block."""
        by_left, by_right = self.groups[key]
        B, lo, y_min = self.bound_rows, option.lo, option.y_min
        # finished: every row of the block searched, every candidate due (left: y + 2 <= t0,
        # right: r + y_min + 1 <= t0)
        found = (self.searched + 1) // B
        by_left.finish(min(found, (t0 - 1 + lo) // B), t0)
        by_right.finish(min(found, (t0 - y_min) // B), t0)
        # groups, the table they read, whether their values hold t
        sides = ((by_left, option.right, False), (by_right, option.left, True))
        for groups, part, with_t in sides:
            for run in groups.staged_runs(t0):
                offer.add(part, with_t, *run)
        if not (by_left.finished or by_right.finished):
            return
        first = self.first_column[key]
        held = len(by_left.dst) + len(by_right.dst)
        # bounding costs about as much per column as offering a few dozen candidates (and
        # the chords are found only once needed): few candidates are offered all
        if held < 2 * BOUND_MINIMUM * (self.cols - first) or not (
            self.monotone[option.left] and self.monotone[option.right]
        ):
            for groups, part, with_t in sides:
                offer.add(part, with_t, *groups.selected(None))
            return
        while (self.chord_blocks + 1) * B <= self.steps:  # every complete coarse block
            self._add_chords(self.chord_blocks)
            self.chord_blocks += 1
        bounds = self._group_bounds(option, t0, len(offer.into), first)
        later = []
        for (groups, part, with_t), (bound, growth) in zip(sides, bounds, strict=True):
            if groups.finished == 0:
                continue
            bound, growth = bound[: groups.finished], growth[: groups.finished]
            now = np.zeros((groups.finished, self.cols), dtype=bool)
            now[:, first:] = bound == NO_BOUND
            now[np.argmin(bound, axis=0), np.arange(first, self.cols)] = True
            offer.add(part, with_t, *groups.selected(now))
            later.append((groups, part, with_t, bound, growth, now))
        offer.run()
        # a group is skipped when on every row of the block its bound there is no less than
        # the split's value found so far (which the final value can only be below)
        upper = offer.into[:, first:]
        feasible = upper < self.inf
        scaled = np.where(feasible, upper, 0).astype(np.int64) * B
        scaled[:, ~feasible.all(axis=0)] = np.iinfo(np.int64).max  # never beaten
        for groups, part, with_t, bound, growth, now in later:
            keep = np.zeros_like(now)
            keep[:, first:] = ~_groups_beaten(bound, growth, scaled, B)
            offer.add(part, with_t, *groups.selected(keep & ~now))

    def _first_column(self, spec: TableSpec, option: Split, off: int) -> int:
        """The least column where both parts of a split can be feasible (``off`` columns in
        front of budget 0)."""
        right = self.by_name[option.right].min_units + option.shift
        return off + max(spec.min_units, self.by_name[option.left].min_units, right)

    def _begin_block(self, t0: int, t1: int) -> None:
        """Evaluate every split's active candidates for rows ``t0..t1-1`` at once.

        The table is column-major, so a block's rows are written to it at the block's end,
        a run per column, unless a split is searched in full on every split point
        (``searched_in_full``, the first rows)."""
        self.searched_in_full = False
        for (name, option), (by_left, by_right) in self.candidates.items():
            key = (name, option)
            if not self._windowed(option, t0):
                self.searched_in_full = True
                continue
            s, first = option.shift, self.first_column[key]
            if key not in self.left_plus_y:  # rows up to y_min + block + lo are filled
                y = np.arange(option.y_min, option.y_min + self.block, dtype=self._dtype)
                left = self.early[option.left][y + option.lo, first:]
                self.left_plus_y[key] = left + y[:, None]
                j = np.arange(1, self.block + 1, dtype=self._dtype)
                right = self.early[option.right][j, first - s : self.cols - s]
                self.right_minus_j[key] = right - j[:, None]
            # columns with many breakpoints in a part, both parts convex on the middle: the
            # middle's minimum by bisection, and no candidate of theirs is offered
            left, right = self.dense[option.left], self.dense[option.right]
            dense = first + np.flatnonzero(left[first:] | right[first - s : self.cols - s])
            columns = dense[self._convex_middle(option, dense)]
            middle = bisected = None
            if len(columns):
                minima = self._middle_minima(option, columns, t0, t1).astype(self._dtype)
                index = columns - first  # mostly a run of columns: a slice reads faster
                if index[-1] - index[0] + 1 == len(index):
                    index = slice(index[0], index[-1] + 1)
                middle = (index, minima)
                bisected = np.zeros(self.cols, dtype=bool)
                bisected[columns] = True
            far = np.full((t1 - t0, self.cols), self.inf, dtype=self._dtype)
            offer = _Offer(far, t0, self.flat, self.rises, self.monotone, bisected, self.runs)
            for store, part, with_t in (
                (by_left, option.right, False),
                (by_right, option.left, True),
            ):
                store.activate(t0)
                for run in store.active():
                    offer.add(part, with_t, *run)
            self._offer_groups(key, option, offer, t0)
            offer.run()
            self.window[key] = (
                (first, far[:, first:], self.left_plus_y[key], self.right_minus_j[key], middle)
                if first < self.cols
                else None
            )

    def _convex_middle(self, option: Split, columns: np.ndarray) -> np.ndarray:
        """Whether both parts of the split at ``columns`` are convex on the rows that the
        middle split points of a block read (see ``_middle_minima``): no point that is not
        convex above row ``y_min + 1 + lo`` of the left part, or row 2 of the right part,
        among the rows searched (every row the middle reads is, but the block's)."""
        left = self.last_bad[option.left][columns] <= option.y_min + 1 + option.lo
        return left & (self.last_bad[option.right][columns - option.shift] <= 2)

    def _middle_minima(self, option: Split, columns: np.ndarray, t0: int, t1: int) -> np.ndarray:
        """The split's minimum over the middle split points ``t - t0 + y_min + 1 .. t0 - 2``
        (those the windows leave out) at rows ``t0 .. t1 - 1``, for ``columns`` where both
        parts are convex there: one row per block row, one column per column.

        The middle reads left rows ``t - t0 + y_min + 1 + lo .. t0 - 2 + lo`` and right rows
        ``t - t0 + 2 .. t0 - y_min - 1``, all filled and searched before the block. Both parts
        are infinite throughout there or finite and convex (one finite point makes its
        neighbours finite), so their sum is infeasible throughout or convex on the middle,
        where its least value is at the first split point from which it does not fall:
        found by bisection (the windows search the other split points exactly)."""
        lo, y_min, s, cap = option.lo, option.y_min, option.shift, self.stride
        left, right = self.flat[option.left], self.flat[option.right]
        t = np.arange(t0, t1, dtype=np.int64)[:, None]
        low = np.broadcast_to(t - t0 + y_min + 1, (len(t), len(columns))).copy()
        high = np.full_like(low, t0 - 2)

        def value(y: np.ndarray) -> np.ndarray:
            # an empty middle reads y = t0 - 2, a split point of the small window: its
            # value is a legal split's
            y = np.minimum(y, t0 - 2)
            split = left[columns * cap + y + lo].astype(np.int64) + y
            return split + right[(columns - s) * cap + t - y]

        while (searching := low < high).any():
            middle = (low + high) // 2
            rising = value(middle + 1) >= value(middle)
            high = np.where(searching & rising, middle, high)
            low = np.where(searching & ~rising, middle + 1, low)
        return value(low)

    def _windowed(self, option: Split, t0: int) -> bool:
        """Whether a block from row ``t0`` reads the split from its candidates and windows
        (the window of small ``y`` reads rows up to ``y_min + block - 1 + lo < t0``)."""
        return t0 >= option.y_min + self.block

    def _rows(self, name: str, high: int, low: int) -> np.ndarray:
        """Rows ``high, high - 1, ..., low`` of table ``name`` (of the last ``ring``): a view."""
        top = high % self.ring + self.ring
        return self.recent[name][top - (high - low) : top + 1][::-1]

    def _fill_row(self, t: int, t0: int) -> None:
        k = t % self.ring
        previous = (t - 1) % self.ring
        recent = self.recent
        shifted: dict[tuple[str, int, int], np.ndarray] = {}  # Single's values, shared
        for spec in self.live:
            # filled in place in the ring (of the table's type: every sum of two entries and
            # t fits it), then copied to its twin; the options write only the columns from
            # ``start``, so the ones below stay infeasible
            row = recent[spec.name][k]
            row.fill(self.inf)
            start = self.off + spec.min_units
            if t <= 1:
                row[start:] = t  # nothing to reverse, or forward once and reverse from the core
            else:
                feasible = row[start:]
                for option in spec.options:
                    kind = type(option)
                    if kind is Run:
                        before = recent[option.table][previous, start:]
                        np.minimum(feasible, before + t, out=feasible)
                    elif kind is Same:
                        np.minimum(feasible, recent[option.table][k, start:], out=feasible)
                    elif kind is Single:
                        s = option.shift
                        c = max(s, start)
                        key = (option.table, s, c)
                        if key not in shifted:
                            before = recent[option.table][previous, c - s : self.cols - s]
                            shifted[key] = before + 1
                        np.minimum(row[c:], shifted[key], out=row[c:])
                    elif option.y_min <= t - 1:
                        self._lower_by_split(row, spec, option, t, t0)
                np.minimum(feasible, self.inf, out=feasible)
            if self.searched_in_full:  # else the block is written at its end (in ``ensure``)
                self.tab[spec.name][:, t] = row
            recent[spec.name][k + self.ring] = row
            if t < len(self.early[spec.name]):
                self.early[spec.name][t] = row

    def _lower_by_split(
        self, row: np.ndarray, spec: TableSpec, option: Split, t: int, t0: int
    ) -> None:
        s, lo, y_min = option.shift, option.lo, option.y_min
        key = (spec.name, option)
        if not self._windowed(option, t0):  # the first rows: every split point
            first = self.first_column[key]
            if first < self.cols:
                found = self._search(option, first, t)
                np.minimum(row[first:], found, out=row[first:])
            return
        window = self.window[key]  # read once per row: one lookup of the split's state
        if window is None:  # no column where both parts can be feasible
            return
        first, far, left_plus_y, right_minus_j, middle = window
        found = far[t - t0]  # columns from first; read at this row only: lowered in place
        # both windows lie inside [y_min, t - 1]: a windowed block has t0 >= y_min + block
        # small y, y_min..t - t0 + y_min: right-part breakpoints not known yet, right
        # candidates not due yet
        small = t - t0 + 1
        right = self._rows(option.right, t - y_min, t - y_min - small + 1)
        block = left_plus_y[:small] + right[:, first - s : self.cols - s]
        np.minimum(found, block.min(axis=0), out=found)
        # large y, t0 - 1..t - 1: left-part breakpoints not known yet, left candidates not
        # due yet (y = t - j for the right part's rows j = 1 .. t - a: y's t added after)
        a = t0 - 1
        block = self._rows(option.left, t - 1 + lo, a + lo)[:, first:] + right_minus_j[: t - a]
        least = block.min(axis=0)
        least += t
        np.minimum(found, least, out=found)
        if middle is not None:  # the middle split points, by bisection
            index, minima = middle
            if isinstance(index, slice):
                np.minimum(found[index], minima[t - t0], out=found[index])
            else:
                found[index] = np.minimum(found[index], minima[t - t0])
        np.minimum(row[first:], found, out=row[first:])

    def _search(self, option: Split, first: int, t: int) -> np.ndarray:
        """The split's minimum over every ``y`` in ``[y_min, t-1]``, for the columns from
        ``first``."""
        s, lo, y_min = option.shift, option.lo, option.y_min
        block = np.add(
            self.tab[option.left][first:, y_min + lo : t + lo],
            self.tab[option.right][first - s : self.cols - s, t - y_min : 0 : -1],
        )
        block += np.arange(y_min, t, dtype=block.dtype)
        return block.min(axis=1)

    def _find_breakpoints(self, low: int, high: int) -> None:
        """Record the breakpoints at rows ``low..high`` (rows up to ``high + 1`` are filled)
        and the candidates they give every split."""
        if high < low:
            return
        fresh = {}
        for spec in self.specs:
            rows = self._rows(spec.name, high + 1, low - 1)[::-1].astype(np.int64)
            # the rows searched so far follow each other: rows 0 .. high + 1 are checked
            self.monotone[spec.name] &= bool((rows[1:] >= rows[:-1]).all())
            below, at, above = rows[:-2], rows[1:-1], rows[2:]
            finite = (below < self.inf) & (at < self.inf) & (above < self.inf)
            infinite = (below >= self.inf) & (at >= self.inf) & (above >= self.inf)
            second = above - 2 * at + below  # the second difference at each row
            concave = finite & (second <= 0)
            bad = ~((finite & (second >= 0)) | infinite)
            last = len(bad) - 1 - np.argmax(bad[::-1], axis=0)
            self.last_bad[spec.name] = np.where(
                bad.any(axis=0), low + last, self.last_bad[spec.name]
            )
            offsets, cols = np.nonzero(~(concave | infinite))
            self.bp_found[spec.name].append((cols, low + offsets))
            count = self.bp_count[spec.name]
            count += np.bincount(cols, minlength=self.cols)
            self.dense[spec.name] = count > max(DENSE_MINIMUM, (high + 1) // DENSE_FRACTION)
            fresh[spec.name] = (cols, low + offsets)
        self.searched = high
        for name, option in self.candidates:
            self._add_candidates(self.by_name[name], option, fresh)

    def _add_candidates(self, spec, option: Split, fresh) -> None:
        """Candidates from the breakpoints ``fresh[table] = (columns, rows)``."""
        key = (spec.name, option)
        s, lo, y_min = option.shift, option.lo, option.y_min
        first = self.first_column[key]
        cap, L, R = self.stride, option.left, option.right
        least = self._least_grouped_row(option)
        (by_left, by_right), (group_left, group_right) = self.candidates[key], self.groups[key]
        # breakpoint r of column M of the left part: split point y = r - lo, for rows t > y + 1
        cols, r = fresh[L]
        y = r - lo
        keep = (cols >= first) & (y > y_min)
        cols, r, y = cols[keep], r[keep], y[keep]
        const = self.tab[L][cols, r].astype(np.int64) + y
        self._route(by_left, group_left, r, least, y + 2, (cols - s) * cap - y, const, cols)
        # breakpoint r of column M' of the right part: split point y = t - r, for rows t > r + y_min
        cols, r = fresh[R]
        cols = cols + s
        keep = (cols >= first) & (cols < self.cols) & (r >= 2)
        cols, r = cols[keep], r[keep]
        const = self.tab[R][cols - s, r].astype(np.int64) - r
        self._route(
            by_right, group_right, r, least, r + y_min + 1, cols * cap - r + lo, const, cols
        )

    def _route(self, store, groups, r, least, first_row, base, const, dst) -> None:
        """Candidates from rows ``r`` of a part: below row ``least`` to the store offered
        whole, from it on to ``groups``, by coarse block."""
        grouped = r >= least
        store.add(first_row[~grouped], base[~grouped], const[~grouped], dst[~grouped])
        if grouped.any():
            block = r[grouped] // self.bound_rows
            groups.add(block, first_row[grouped], base[grouped], const[grouped], dst[grouped])

    # -- reading a policy back ------------------------------------------------------------------

    def _index_breakpoints(self) -> None:
        """Per-column sorted breakpoint rows, for ``best_option``."""
        self.bp_rows = {}
        for name, found in self.bp_found.items():
            cols = np.concatenate([c for c, _ in found] or [np.empty(0, np.intp)])
            rows = np.concatenate([r for _, r in found] or [np.empty(0, np.intp)])
            order = np.lexsort((rows, cols))
            starts = np.searchsorted(cols[order], np.arange(self.cols + 1))
            self.bp_rows[name] = (rows[order], starts)

    def breakpoints(self, name: str, col: int, low: int, high: int) -> np.ndarray:
        """Breakpoint rows of column ``col`` of table ``name`` within ``[low, high]``."""
        rows, starts = self.bp_rows[name]
        column = rows[starts[col] : starts[col + 1]]
        return column[(column >= low) & (column <= high)]

    def split_values(self, option: Split, t: int, units: int) -> tuple[np.ndarray, np.ndarray]:
        """(split points, values) of ``option`` at ``(t, units)``, over a set of split points
        that contains the smallest minimiser (sorted ascending)."""
        s, lo, y_min = option.shift, option.lo, option.y_min
        col = self.off + units
        inner_left = self.breakpoints(option.left, col, y_min + 1 + lo, t - 2 + lo) - lo
        inner_right = t - self.breakpoints(option.right, col - s, 2, t - y_min - 1)
        y = np.unique(np.concatenate(([y_min, t - 1], inner_left, inner_right)))
        left = self.tab[option.left][col, y + lo].astype(np.int64)
        return y, left + self.tab[option.right][col - s, t - y] + y


def best_split_option(tables: BreakpointTables, spec: TableSpec, t: int, units: int):
    """An option reaching ``spec.name[t, units]`` and its split point (0 when it has none).

    The first option in ``spec.options`` that reaches the entry, and for a split
    the smallest split point: the same choice as ``dp_tables.best_option``.
    """
    target = tables.value(spec.name, t, units)
    col = tables.off + units
    for option in spec.options:
        if _shift(option) > tables.width:  # left out of the fill: it reaches no entry
            continue
        if isinstance(option, Run):
            if t + int(tables.tab[option.table][col, t - 1]) == target:
                return option, 0
        elif isinstance(option, Same):
            if int(tables.tab[option.table][col, t]) == target:
                return option, 0
        elif isinstance(option, Single):
            if 1 + int(tables.tab[option.table][col - option.shift, t - 1]) == target:
                return option, 0
        elif option.y_min <= t - 1:
            y, values = tables.split_values(option, t, units)
            k = int(np.argmin(values))
            if int(values[k]) == target:
                return option, int(y[k])
    raise AssertionError(f"no option reaches {spec.name}[{t}, {units}] = {target}")
