"""The concavity lemma: a split is minimised over its ends and breakpoints only.

A split of ``table_spec``

    X[t, M] = min_{y_min <= y <= t-1}  h(y),    h(y) = f(y) + g(y),
    f(y) = y + L[y + lo, M],   g(y) = R[t - y, M - shift]

is evaluated only at the ends ``y_min``, ``t - 1`` and at the *breakpoints* of ``f``
and ``g``. Claim: the least of those values is ``X[t, M]``, and the first split point
reaching it is the smallest minimiser.

* Call ``y`` (with ``y_min < y < t - 1``) a breakpoint of a sequence ``s`` unless either
  ``s(y-1), s(y), s(y+1)`` are finite and ``s(y+1) - 2 s(y) + s(y-1) <= 0``, or all three
  are infinite. Adding the linear term ``y`` changes no second difference, so the
  breakpoints of ``f`` are those of column ``M`` of ``L`` (shifted by ``lo``), and those
  of ``g`` are ``t - r`` for the breakpoints ``r`` of column ``M - shift`` of ``R``.
* Cut ``[y_min, t-1]`` at every breakpoint of ``f`` or ``g``. Inside one piece ``[p, q]``
  every interior point is, for each of ``f`` and ``g``, either finite with a second
  difference ``<= 0`` or infinite with infinite neighbours; one finite interior point
  makes its neighbours finite, so on the piece each of ``f``, ``g`` is either infinite
  throughout or finite and concave. Then ``h`` is infinite or concave on ``[p, q]``, and
  a concave sequence takes its minimum at ``p`` or ``q``: ``min h`` over the range is the
  minimum over the piece ends, i.e. over the ends and the breakpoints.
* A concave piece whose minimum is reached inside is constant, so its left end reaches
  it too: taking the first minimum over the sorted split points reproduces the full
  search's tie-breaking (``best_split_option``), and with it the same plans.

``TableBreakpoints.search`` finds them row by row as the table is filled; the same pass
records what ``bisection`` and ``chords`` rely on: the last row of each column that is
not convex, whether a column is dense, and whether the table never falls from a row to
the next.
"""

from __future__ import annotations

import numpy as np

from mini_bptt.planning.engine import bisection
from mini_bptt.planning.table_spec import Run, Same, Single, Split, TableSpec, option_shift


class TableBreakpoints:
    """The breakpoints of one table's columns, found as its rows are filled.

    Parameters
    ----------
    cols : int
        The table's columns.
    inf : int
        The infeasible marker.
    """

    def __init__(self, cols: int, inf: int) -> None:
        self.inf = inf
        self.count = np.zeros(cols, dtype=np.int64)  # per column
        self.dense = np.zeros(cols, dtype=bool)  # per column (``bisection.dense_columns``)
        # per column: the last row searched that is not convex (its entry and both
        # neighbours finite, second difference >= 0, or all three infinite); -1 if none
        self.nonconvex = np.full(cols, -1, dtype=np.int64)
        self.nondecreasing = True  # no entry searched is below the one a row before
        self.found: list[tuple[np.ndarray, np.ndarray]] = []  # (columns, rows), by search
        self.rows = np.empty(0, dtype=np.intp)  # sorted by column, then row (``index``)
        self.starts = np.empty(0, dtype=np.intp)  # per column, from ``index``

    def search(self, rows: np.ndarray, low: int) -> tuple[np.ndarray, np.ndarray]:
        """Record the breakpoints at rows ``low .. low + len(rows) - 3`` from ``rows``, the
        table's rows ``low - 1 .. low + len(rows) - 2`` (one row each, int64); return them
        as (columns, rows)."""
        self.nondecreasing &= bool((rows[1:] >= rows[:-1]).all())
        below, at, above = rows[:-2], rows[1:-1], rows[2:]
        inf = self.inf
        finite = (below < inf) & (at < inf) & (above < inf)
        infinite = (below >= inf) & (at >= inf) & (above >= inf)
        second = above - 2 * at + below
        concave = finite & (second <= 0)
        nonconvex = ~((finite & (second >= 0)) | infinite)
        last = len(nonconvex) - 1 - np.argmax(nonconvex[::-1], axis=0)
        self.nonconvex = np.where(nonconvex.any(axis=0), low + last, self.nonconvex)
        offsets, columns = np.nonzero(~(concave | infinite))
        found = (columns, low + offsets)
        self.found.append(found)
        self.count += np.bincount(columns, minlength=len(self.count))
        self.dense = bisection.dense_columns(self.count, low + len(rows) - 2)
        return found

    def index(self) -> None:
        """Sort the breakpoints found by column and row, for ``within``."""
        empty = np.empty(0, np.intp)
        columns = np.concatenate([c for c, _ in self.found] or [empty])
        rows = np.concatenate([r for _, r in self.found] or [empty])
        order = np.lexsort((rows, columns))
        self.starts = np.searchsorted(columns[order], np.arange(len(self.count) + 1))
        self.rows = rows[order]

    def within(self, col: int, low: int, high: int) -> np.ndarray:
        """Breakpoint rows of column ``col`` within ``[low, high]`` (after ``index``)."""
        column = self.rows[self.starts[col] : self.starts[col + 1]]
        return column[(column >= low) & (column <= high)]


def split_points(
    left: TableBreakpoints, right: TableBreakpoints, option: Split, t: int, col: int
) -> np.ndarray:
    """The split points of ``option`` at row ``t``, column ``col``: its ends and the
    breakpoints of both parts, sorted ascending."""
    s, lo, y_min = option.shift, option.lo, option.y_min
    inner_left = left.within(col, y_min + 1 + lo, t - 2 + lo) - lo
    inner_right = t - right.within(col - s, 2, t - y_min - 1)
    return np.unique(np.concatenate(([y_min, t - 1], inner_left, inner_right)))


def best_split_option(tables, spec: TableSpec, t: int, grains: int) -> tuple[object, int]:
    """An option reaching ``spec.name[t, grains]`` and its split point (0 when it has none).

    Parameters
    ----------
    tables : BreakpointTables
        Filled up to row ``t`` and budget ``grains``.
    spec : TableSpec
        The table whose entry is read back.
    t : int
        Steps.
    grains : int
        Budget, in grains.

    Returns
    -------
    tuple
        The first option in ``spec.options`` that reaches the entry and, for a split, its
        smallest minimising split point: the choice ``reference.best_option`` makes.

    Raises
    ------
    AssertionError
        If no option reaches the entry (the tables are not filled there).
    """
    target = tables.value(spec.name, t, grains)
    col = tables.off + grains
    for option in spec.options:
        if option_shift(option) > tables.width:  # left out of the fill: it reaches no entry
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
            y, values = tables.split_values(option, t, grains)
            k = int(np.argmin(values))
            if int(values[k]) == target:
                return option, int(y[k])
    raise AssertionError(f"no option reaches {spec.name}[{t}, {grains}] = {target}")
