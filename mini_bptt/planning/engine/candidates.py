"""Candidates: the split points a breakpoint gives a split, kept until they fall due.

Claim: a split point ``y`` that the concavity lemma (``breakpoints``) names for a row
``t`` is named for every later row too, with a value that is one table entry plus a
constant. So it is stored once, when its breakpoint is found, as a *candidate*, and read
on every row from the first one it applies to.

* A breakpoint at row ``r`` of column ``M`` of a split's left part is the split point
  ``y = r - lo``, interior for every row ``t > y + 1``; there the split is worth
  ``L[r, M] + y + R[t - y, M - shift]``: the entry at flat index ``base + t`` of the
  right part, with ``base = (M - shift) * stride - y``, plus ``const = L[r, M] + y``.
* A breakpoint at row ``r`` of column ``M - shift`` of the right part is the split point
  ``y = t - r``, interior for every row ``t > r + y_min``; there the split is worth
  ``L[t - r + lo, M] + R[r, M - shift] - r + t``: the entry at ``base + t`` of the left
  part, with ``base = M * stride - r + lo``, plus ``const = R[r, M - shift] - r``, plus
  ``t`` (``with_t``).

Every candidate is added with the first row it applies to and takes part only from that
row on (``CandidateStore.activate``), so no split point is offered for a row where it
lies outside ``[y_min, t - 1]``: every value offered is a legal split's value. The
candidates of a part's rows from ``least_grouped_row`` on are kept by coarse block of
rows instead (``CandidateGroups``), so that ``chords`` may skip a whole group.
"""

from __future__ import annotations

import numpy as np

from mini_bptt.planning.table_spec import Split

# one candidate source: (table read, with_t, base, const, dst), sorted by ``dst``
Source = tuple[str, bool, np.ndarray, np.ndarray, np.ndarray]
Run = tuple[np.ndarray, np.ndarray, np.ndarray]  # (base, const, dst), sorted by ``dst``


class CandidateStore:
    """Split points of one side of a split that apply to every later row: growable arrays.

    Candidate ``k`` adds ``const[k] + (t if with_t else 0)`` to the table entry at flat
    index ``base[k] + t`` and offers the sum to result column ``dst[k]``. The first
    ``n_sorted`` are sorted by ``dst``; newer ones are merged in when they reach a quarter
    of those.

    Parameters
    ----------
    with_t : bool
        Whether a candidate's value holds the row ``t`` (right-part candidates).
    dtype : numpy dtype
        The table's type, that of ``const`` (mixed types are slow).
    """

    INITIAL = 4096  # candidates a fresh store has room for

    def __init__(self, with_t: bool, dtype) -> None:
        self.with_t = with_t
        self.size = 0
        self.base = np.empty(self.INITIAL, dtype=np.int64)
        self.const = np.empty(self.INITIAL, dtype=dtype)
        self.dst = np.empty(self.INITIAL, dtype=np.intp)
        self.n_sorted = 0
        self.pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, first_row, base: np.ndarray, const: np.ndarray, dst: np.ndarray) -> None:
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

    def active(self) -> list[Run]:
        """The candidates taking part, as runs of (base, const, dst) sorted by ``dst``."""
        size, n = self.size, self.n_sorted
        runs = [(self.base[:n], self.const[:n], self.dst[:n])] if n else []
        if n < size:  # the newer ones, sorted here (they are few)
            order = n + np.argsort(self.dst[n:size])
            runs.append((self.base[order], self.const[order], self.dst[order]))
        return runs


class CandidateGroups:
    """The candidates of one side of a split, grouped by the coarse block of rows of the part
    they come from (``k * B <= row < k * B + B``), so that a group whose lower bound cannot
    beat the split's value is skipped (``chords``).

    A block is *staged* (offered whole, block by block) until every candidate of it is
    found and due; then it is *finished*: sorted by result column, with the start of each
    column's run in ``offsets[k]``.

    Parameters
    ----------
    with_t : bool
        As in ``CandidateStore``.
    dtype : numpy dtype
        The table's type.
    columns : int
        The result columns.
    """

    def __init__(self, with_t: bool, dtype, columns: int) -> None:
        self.with_t, self.dtype, self.columns = with_t, dtype, columns
        self.staged: dict[int, CandidateStore] = {}
        self.finished = 0  # blocks 0 .. finished - 1 are sorted into the arrays below
        self.base = np.empty(0, dtype=np.int64)
        self.const = np.empty(0, dtype=dtype)
        self.dst = np.empty(0, dtype=np.intp)
        self.offsets = np.zeros((0, columns + 1), dtype=np.int64)
        self.every: Run | None = None  # selected(None), kept until the next finish
        self.handed_out = 0  # finished candidates ``selected`` has returned, in all

    def add(
        self,
        block: np.ndarray,
        first_row: np.ndarray,
        base: np.ndarray,
        const: np.ndarray,
        dst: np.ndarray,
    ) -> None:
        """Candidates of coarse blocks ``block`` that take part from ``first_row`` on."""
        for k in np.unique(block):
            if k < self.finished:
                raise AssertionError(f"a candidate of coarse block {k}, already finished")
            here = block == k
            store = self.staged.setdefault(int(k), CandidateStore(self.with_t, self.dtype))
            store.add(first_row[here], base[here], const[here], dst[here])

    def finish(self, blocks: int, t: int) -> None:
        """Sort blocks up to ``blocks - 1`` in: each has all its candidates, due by row ``t``."""
        if blocks <= self.finished:
            return
        parts, offsets, start = [(self.base, self.const, self.dst)], [self.offsets], len(self.dst)
        for k in range(self.finished, blocks):
            store = self.staged.pop(k, None) or CandidateStore(self.with_t, self.dtype)
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

    def staged_runs(self, t0: int) -> list[Run]:
        """The staged candidates due by row ``t0``, as runs sorted by result column."""
        runs = []
        for store in self.staged.values():
            store.activate(t0)
            runs += store.active()
        return runs

    def selected(self, keep: np.ndarray | None) -> Run:
        """The candidates of the finished groups ``keep[k, column]`` (None: every one, kept
        for the next blocks), sorted by column."""
        if keep is not None:
            chosen = self._pick(keep)
        else:
            if self.every is None:
                self.every = self._pick(np.ones((self.finished, self.columns), dtype=bool))
            chosen = self.every
        self.handed_out += len(chosen[2])
        return chosen

    def _pick(self, keep: np.ndarray) -> Run:
        # column-major order: the chosen runs come out sorted by result column
        columns, blocks = np.nonzero(keep.T)
        starts = self.offsets[blocks, columns]
        lengths = self.offsets[blocks, columns + 1] - starts
        total = int(lengths.sum())
        index = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        return self.base[index], self.const[index], self.dst[index]


def run_starts(values: np.ndarray) -> np.ndarray:
    """Whether each entry of ``values`` differs from the one before (the first does)."""
    starts = np.empty(len(values), dtype=bool)
    starts[:1] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    return starts


def segments(dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts of the runs of equal values in sorted ``dst``, and those values."""
    starts = np.flatnonzero(run_starts(dst))
    return starts, dst[starts]


def merged(sources: list[Source]) -> list[Source]:
    """``sources`` with one per table and ``with_t``, each sorted by ``dst``: each is then
    tested and evaluated in one pass."""
    together: dict[tuple[str, bool], list] = {}
    for name, with_t, *arrays in sources:
        together.setdefault((name, with_t), []).append(arrays)
    out = []
    for (name, with_t), parts in together.items():
        base, const, dst = (np.concatenate(p) for p in zip(*parts, strict=True))
        if len(parts) > 1:
            order = np.argsort(dst, kind="stable")
            base, const, dst = base[order], const[order], dst[order]
        out.append((name, with_t, base, const, dst))
    return out


def least_grouped_row(option: Split, block: int) -> int:
    """The least row of a part whose candidates are kept by group: through a whole block
    of rows they read only rows filled before it (``y`` and ``r`` above the block size)."""
    return block + abs(option.lo) + 1


def add_candidates(
    option: Split,
    first: int,
    tab: dict[str, np.ndarray],
    found: dict[str, tuple[np.ndarray, np.ndarray]],
    stores: tuple[CandidateStore, CandidateStore],
    groups: tuple[CandidateGroups, CandidateGroups],
    block: int,
    bound_rows: int,
) -> None:
    """Add to a split the candidates of the breakpoints ``found[table] = (columns, rows)``
    (result columns from ``first``; ``tab`` the column-major tables, ``block`` rows filled
    together, coarse blocks of ``bound_rows`` rows)."""
    s, lo, y_min = option.shift, option.lo, option.y_min
    cols, stride = tab[option.left].shape
    least = least_grouped_row(option, block)
    # left part: y = r - lo, from row y + 2 on, interior only (y > y_min)
    columns, r = found[option.left]
    y = r - lo
    keep = (columns >= first) & (y > y_min)
    columns, r, y = columns[keep], r[keep], y[keep]
    const = tab[option.left][columns, r].astype(np.int64) + y
    base = (columns - s) * stride - y
    _route(stores[0], groups[0], r, least, y + 2, base, const, columns, bound_rows)
    # right part: y = t - r, from row r + y_min + 1 on, interior only (r >= 2)
    columns, r = found[option.right]
    columns = columns + s
    keep = (columns >= first) & (columns < cols) & (r >= 2)
    columns, r = columns[keep], r[keep]
    const = tab[option.right][columns - s, r].astype(np.int64) - r
    base = columns * stride - r + lo
    _route(stores[1], groups[1], r, least, r + y_min + 1, base, const, columns, bound_rows)


def _route(store, groups, r, least, first_row, base, const, dst, bound_rows: int) -> None:
    """Candidates from rows ``r`` of a part: below row ``least`` to the store offered
    whole, from it on to ``groups``, by coarse block."""
    grouped = r >= least
    store.add(first_row[~grouped], base[~grouped], const[~grouped], dst[~grouped])
    if grouped.any():
        block = r[grouped] // bound_rows
        groups.add(block, first_row[grouped], base[grouped], const[grouped], dst[grouped])
