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

Every breakpoint needed at row ``t`` lies in rows ``<= t - 2`` (interior points
only), so it is known once row ``t - 1`` is filled. A column whose breakpoints
are dense (more than ``max(32, t / 8)``, e.g. the quadratic one-slot columns)
would make the candidate lists as long as the range; a split touching such a
column is evaluated over its whole range instead, as the reference does.

Cost: ``O(T * W * K)`` for ``K`` breakpoints per column (tens at T = 10^4),
against ``O(T^2 * W)`` for the reference. Tables are stored column-major, so
the candidates of one column are read from one contiguous block.
"""

from __future__ import annotations

import numpy as np

from mini_bptt.planning import limits
from mini_bptt.planning.dp_tables import Progress, Run, Same, Single, Split, TableSpec
from mini_bptt.planning.limits import DPSize, dp_size

DENSE_MINIMUM = 32  # breakpoints a column may have before it is called dense, at least
DENSE_FRACTION = 8  # ... or t / 8, whichever is larger
MINIMUM_WIDTH = 256  # budgets (units) a fresh table covers at least, when it is small


class _Candidates:
    """Split points of one option that apply to every later row: flat, growable arrays.

    Candidate ``k`` adds ``const[k] + (t if with_t else 0)`` to the table entry at
    flat index ``base[k] + t`` and offers the sum to result column ``dst[k]``.
    The first ``n_sorted`` are sorted by ``dst`` (one ``minimum.reduceat`` per row);
    newer ones are merged in when they reach a quarter of those.
    """

    def __init__(self, with_t: bool, dtype) -> None:
        self.with_t = with_t
        self.size = 0
        self.base = np.empty(4096, dtype=np.int64)
        self.const = np.empty(4096, dtype=dtype)  # the table's type: mixed types are slow
        self.dst = np.empty(4096, dtype=np.intp)
        self.n_sorted = 0
        self.starts = np.empty(0, dtype=np.intp)  # segment starts of the sorted part
        self.columns = np.empty(0, dtype=np.intp)  # their result columns
        self.pending: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}

    def add(self, first_row: int, base, const, dst) -> None:
        """Candidates that take part from row ``first_row`` on."""
        if len(dst):
            self.pending.setdefault(first_row, []).append((base, const, dst))

    def activate(self, t: int) -> None:
        """Let the candidates due by row ``t`` take part."""
        for row in [row for row in self.pending if row <= t]:
            for base, const, dst in self.pending.pop(row):
                end = self.size + len(dst)
                if end > len(self.dst):
                    self._reserve(2 * end)
                self.base[self.size : end] = base
                self.const[self.size : end] = const
                self.dst[self.size : end] = dst
                self.size = end
        if 4 * (self.size - self.n_sorted) > self.n_sorted + 4096:
            n = self.size
            order = np.argsort(self.dst[:n], kind="stable")
            for name in ("base", "const", "dst"):
                getattr(self, name)[:n] = getattr(self, name)[:n][order]
            self.n_sorted = n
            dst = self.dst[:n]
            self.starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
            self.columns = dst[self.starts]

    def _reserve(self, capacity: int) -> None:
        for name in ("base", "const", "dst"):
            old = getattr(self, name)
            new = np.empty(capacity, dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def offer(self, into: np.ndarray, flat: np.ndarray, t: int) -> None:
        """Lower ``into[dst]`` to each candidate's value at row ``t``."""
        size, n = self.size, self.n_sorted
        if size == 0:
            return
        values = flat.take(self.base[:size] + t)
        values += self.const[:size]
        if self.with_t:
            values += t
        if n:
            lowest = np.minimum.reduceat(values[:n], self.starts)
            np.minimum(into[self.columns], lowest, out=lowest)
            into[self.columns] = lowest
        if n < size:
            np.minimum.at(into, self.dst[n:size], values[n:])


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
        shifts = [o.shift for s in specs for o in s.options if isinstance(o, Single | Split)]
        self.off = max(shifts) + 1  # every table set has a Single or a Split
        self.steps = -1  # rows filled: 0..steps
        self.width = -1  # budgets 0..width
        self.capacity = 0  # rows allocated
        self.tab: dict[str, np.ndarray] = {}

    # -- public interface (the same as DPTables) ------------------------------------------------

    def ensure(self, steps: int, width: int, progress: Progress | None = None) -> None:
        """Fill rows up to ``steps`` for budgets 0..``width`` units."""
        if steps <= self.steps and width <= self.width:
            return
        target = self.allocation(steps, width)
        if target is not None:
            self._allocate(*target)
        for t in range(self.steps + 1, steps + 1):
            self._fill_row(t)
            self.steps = t
            if progress is not None and (t % 64 == 0 or t == steps):
                progress(t, steps)
        self._index_breakpoints()

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
        # enough to serve a sweep over budgets without refilling (up to a million entries)
        return rows, max(wide, min(MINIMUM_WIDTH, 2**20 // rows))

    def size(self, steps: int, width: int, alpha: float) -> DPSize:
        """What ``ensure(steps, width)`` would take from here (nothing if filled already)."""
        if steps <= self.steps and width <= self.width:
            return DPSize(0, 0.0)
        splits = sum(isinstance(o, Split) for spec in self.specs for o in spec.options)
        rows, wide = self.allocation(steps, width) or (self.capacity, self.width)
        return dp_size(len(self.specs), splits, rows - 1, self.off + wide + 1, alpha)

    def value(self, name: str, t: int, units: int) -> int:
        """Entry for ``t`` steps and ``units`` free (after ``ensure``); >= ``inf`` if infeasible."""
        return int(self.tab[name][self.off + units, t])

    @property
    def dtype(self):
        return self._dtype if self.tab else None

    # -- filling --------------------------------------------------------------------------------

    def _allocate(self, rows: int, width: int) -> None:
        self._dtype = limits.table_dtype(rows - 1)
        self.inf = limits.infinity(self._dtype)
        self.capacity, self.width, self.steps = rows, width, -1
        self.cols = self.off + width + 1
        self.tab = {s.name: np.full((self.cols, rows), self.inf, self._dtype) for s in self.specs}
        self.flat = {name: table.reshape(-1) for name, table in self.tab.items()}
        self.early = {s.name: np.full((3, self.cols), self.inf, self._dtype) for s in self.specs}
        self.recent = {s.name: np.full((3, self.cols), self.inf, self._dtype) for s in self.specs}
        self.bp_count = {s.name: np.zeros(self.cols, dtype=np.int64) for s in self.specs}
        self.dense = {s.name: np.zeros(self.cols, dtype=bool) for s in self.specs}
        self.bp_found: dict[str, list[tuple[np.ndarray, int]]] = {s.name: [] for s in self.specs}
        self.candidates = {}
        self.first_column = {}  # per split: the least column where both parts can be feasible
        for spec in self.specs:
            for option in spec.options:
                if isinstance(option, Split):
                    key = (spec.name, option)
                    self.candidates[key] = (
                        _Candidates(False, self._dtype),
                        _Candidates(True, self._dtype),
                    )
                    self.first_column[key] = self._first_column(spec, option)

    def _first_column(self, spec: TableSpec, option: Split) -> int:
        """The least column where both parts of a split can be feasible."""
        right = self.by_name[option.right].min_units + option.shift
        return self.off + max(spec.min_units, self.by_name[option.left].min_units, right)

    def _row(self, name: str, k: int) -> np.ndarray:
        """Row ``k`` of table ``name``, while row ``steps + 1`` is filled. Rows 0..2 and the
        last three are kept as contiguous rows (the column-major table is slow to read
        along a row); the ring's oldest row may already hold the new one, so only rows from
        ``steps - 1`` on are read from it. Other rows, which only a split from ``y >= 3``
        reads at its ends, come from the table itself."""
        if k <= 2:
            return self.early[name][k]
        if k >= self.steps - 1:
            return self.recent[name][k % 3]
        return self.tab[name][:, k]

    def _fill_row(self, t: int) -> None:
        for spec in self.specs:
            row = np.full(self.cols, self.inf, dtype=np.int64)
            start = self.off + spec.min_units
            if t <= 1:
                row[start:] = t  # nothing to reverse, or forward once and reverse from the core
            else:
                for option in spec.options:
                    self._lower_by_option(row, spec, option, t)
                row[:start] = self.inf
                np.minimum(row, self.inf, out=row)
            self.tab[spec.name][:, t] = row
            self.recent[spec.name][t % 3] = row
            if t <= 2:
                self.early[spec.name][t] = row
        if t >= 2:
            self._find_breakpoints(t - 1)

    def _lower_by_option(self, row: np.ndarray, spec: TableSpec, option, t: int) -> None:
        if isinstance(option, Run):
            np.minimum(row, self._row(option.table, t - 1) + np.int64(t), out=row)
        elif isinstance(option, Same):
            np.minimum(row, self._row(option.table, t), out=row)
        elif isinstance(option, Single):
            s = option.shift
            shifted = self._row(option.table, t - 1)[: self.cols - s] + np.int64(1)
            np.minimum(row[s:], shifted, out=row[s:])
        elif option.y_min <= t - 1:
            self._lower_by_split(row, spec, option, t)

    def _lower_by_split(self, row: np.ndarray, spec: TableSpec, option: Split, t: int) -> None:
        s, lo, y_min = option.shift, option.lo, option.y_min
        first = self.first_column[(spec.name, option)]
        if first >= self.cols:
            return
        # sums of two entries below 2 * inf + t fit the table's type
        found = np.full(self.cols, self.inf, dtype=self._dtype)
        for y in {y_min, t - 1}:  # the two ends of the range
            value = (
                self._row(option.left, y + lo)[first:]
                + self._row(option.right, t - y)[first - s : self.cols - s]
            )
            value += y
            np.minimum(found[first:], value, out=found[first:])
        by_left, by_right = self.candidates[(spec.name, option)]
        by_left.activate(t)
        by_right.activate(t)
        by_left.offer(found, self.flat[option.right], t)
        by_right.offer(found, self.flat[option.left], t)
        # a column stays dense once it is (its breakpoints stop being candidates), so the
        # split is searched in full wherever either part has a dense column
        left, right = self.dense[option.left], self.dense[option.right]
        dense = first + np.flatnonzero(left[first:] | right[first - s : self.cols - s])
        if len(dense):  # the whole range, as the reference does: a (column, y) block
            block = self.tab[option.left][dense, y_min + lo : t + lo]
            block += np.arange(y_min, t, dtype=block.dtype)
            block += self.tab[option.right][dense - s, t - y_min : 0 : -1]
            found[dense] = np.minimum(found[dense], block.min(axis=1))
        np.minimum(row, found, out=row)

    def _find_breakpoints(self, r: int) -> None:
        """Record the breakpoints at row ``r`` (rows r-1..r+1 are filled) and the candidates
        they give every split."""
        fresh = {}
        for spec in self.specs:
            below, at, above = (self._row(spec.name, k).astype(np.int64) for k in (r - 1, r, r + 1))
            finite = (below < self.inf) & (at < self.inf) & (above < self.inf)
            infinite = (below >= self.inf) & (at >= self.inf) & (above >= self.inf)
            concave = finite & (above - 2 * at + below <= 0)
            cols = np.flatnonzero(~(concave | infinite))
            self.bp_found[spec.name].append((cols, r))
            count = self.bp_count[spec.name]
            count[cols] += 1
            limit = max(DENSE_MINIMUM, (r + 1) // DENSE_FRACTION)
            self.dense[spec.name] |= count > limit
            fresh[spec.name] = cols[~self.dense[spec.name][cols]]
        for (name, option), (by_left, by_right) in self.candidates.items():
            self._add_candidates(self.by_name[name], option, by_left, by_right, fresh, r)

    def _add_candidates(self, spec, option: Split, by_left, by_right, fresh, r: int) -> None:
        s, lo, y_min = option.shift, option.lo, option.y_min
        first = self.first_column[(spec.name, option)]
        cap, L, R = self.capacity, option.left, option.right
        # breakpoint r of column M of the left part: split point y = r - lo, for rows t > y + 1
        y = r - lo
        cols = fresh[L]
        cols = cols[cols >= first]
        if y > y_min and len(cols):
            const = self.tab[L][cols, r].astype(np.int64) + y
            by_left.add(y + 2, (cols - s) * cap - y, const, cols)
        # breakpoint r of column M' of the right part: split point y = t - r, for rows t > r + y_min
        cols = fresh[R] + s
        cols = cols[(cols >= first) & (cols < self.cols)]
        if r >= 2 and len(cols):
            const = self.tab[R][cols - s, r].astype(np.int64) - r
            by_right.add(r + y_min + 1, cols * cap - r + lo, const, cols)

    # -- reading a policy back ------------------------------------------------------------------

    def _index_breakpoints(self) -> None:
        """Per-column sorted breakpoint rows, for ``best_option``."""
        self.bp_rows = {}
        for name, found in self.bp_found.items():
            cols = np.concatenate([c for c, _ in found] or [np.empty(0, np.intp)])
            rows = np.concatenate([np.full(len(c), r) for c, r in found] or [np.empty(0, int)])
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
