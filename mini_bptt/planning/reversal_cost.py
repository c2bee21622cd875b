"""The cost of ``reversal.Reversal`` with a bounded ``depth`` and ``drops``, kept up to date
as a stored set changes a little from one T to the next (no plan: the cost only).

``Reversal`` fills ``V[j][r, e]`` item by item for every T afresh. Two facts make most of
that work the same from one T to the next:

* ``V[j][:, e]`` depends only on items 1..j, their ``free`` (the budget less the items
  left of them), the reaches of items 1..j (``V[i][:, e]`` is infinite past reach ``i``)
  and ``e`` itself, not on ``T``: so where the items 1..j and their reaches are those of
  the last call, the columns are those of the last call.
* Column ``e`` of item ``j`` reads item ``j - 1`` at columns ``<= e`` only, and item
  ``j + 1`` (at position ``c' >= c``) reads item ``j`` at columns ``>= c' - 1``; so item
  ``j`` is kept as a window of columns ``c - 1 .. reach``.

``ReversalCost.cost(steps, hidden, internal)`` walks the items: an item equal to the last
call's (position, kind, free) keeps its columns up to the first column that may have
changed (the least of the previous item's and of its own old and new reach), and only the
columns after it are computed; an item that differs is computed whole, and so is every
item after it. A planner that adds one state at the end and frees one costs a few
columns of the last items per T, each O(L) for segments of L steps, instead of
``Reversal``'s O(k * L^2).

Every entry is the one ``Reversal`` computes (same options, same order of minima, same
tables), so ``cost`` equals ``Reversal(..., depth, drops).cost`` for every stored set;
``tests/planning/test_online.py`` compares the two on every T of planner runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from mini_bptt.planning.engine import BreakpointTables
from mini_bptt.planning.reversal import BIG, HIDDEN, INTERNAL, LAUNCH_BLOCK, _validate
from mini_bptt.planning.units import Grains


class Window(NamedTuple):
    """``V[j][:, lo .. reach]`` of one item, with what it was computed for."""

    item: tuple[int, str]
    free: int
    reach: int
    lo: int
    values: np.ndarray  # (rows, reach - lo + 1)


class ReversalCost:
    """``Reversal(steps, hidden, internal, budget, units, flag, tables, depth, drops).cost``
    for a sequence of stored sets, reusing the columns that did not change.

    ``tables``: the optimal model's MSM tables for ``units`` and the flag, filled to the
    longest T asked and to ``budget`` grains (``tables.ensure(steps, budget)``)."""

    def __init__(
        self,
        budget: int,
        units: Grains,
        internal_has_output: bool,
        tables: BreakpointTables,
        depth: int,
        drops: int,
    ) -> None:
        self.budget, self.units, self.flag, self.tables = budget, units, internal_has_output, tables
        self.depth = depth
        self.size = {HIDDEN: units.hidden, INTERNAL: units.internal}
        # Reversal's rows are min(held, drops * largest) + 1; rows past the units held are
        # infinite there and here, and a downgrade's row r + (A - H) stays below the units
        # held, so the wider array holds the same finite entries
        self.rows = drops * max(units.hidden, units.internal) + 1
        self.windows: list[Window] = []
        self.columns: dict[tuple[str, int], np.ndarray] = {}

    def cost(self, steps: int, hidden: Iterable[int], internal: Iterable[int]) -> int:
        hidden, internal = set(hidden), set(internal)
        _validate(steps, hidden, internal, self.budget, self.units, self.flag)
        if steps <= 1:
            return 0
        self.tables.ensure(steps, self.budget)
        last = steps - 1
        items = [(p, HIDDEN) for p in hidden if p < last]
        items += [(p, INTERNAL) for p in internal if p <= last]
        items.sort(key=lambda item: (item[0], item[1] == INTERNAL))
        k = len(items)
        windows: list[Window] = []
        previous = Window((0, ""), 0, 0, 0, np.full((self.rows, 1), BIG, dtype=np.int64))
        previous.values[0, 0] = 0  # V[0]: nothing reversed costs nothing
        unchanged = last  # the columns of the previous item equal to the last call's
        held = 0
        for j, item in enumerate(items):
            c, kind = item
            free = self.budget - held
            held += self.size[kind]
            far = last if j + self.depth >= k else items[j + self.depth][0]
            reach = min(last, max(far, c))
            lo = max(0, c - 1)
            old = self.windows[j] if j < len(self.windows) else None
            if old is None or old.item != item or old.free != free:
                unchanged = lo - 1
            elif old.reach != reach:
                unchanged = min(unchanged, old.reach, reach)
            start = max(lo, unchanged + 1)
            if start > reach:  # every column as before, some dropped past the new reach
                window = Window(item, free, reach, lo, old.values[:, : reach - lo + 1])
            else:
                fresh = self._columns(previous, item, free, reach, start, reach)
                kept = old.values[:, : start - lo] if start > lo else fresh[:, :0]
                window = Window(item, free, reach, lo, np.concatenate([kept, fresh], axis=1))
            windows.append(window)
            previous = window
        self.windows = windows
        value = int(previous.values[:, last - previous.lo].min())
        if value >= BIG:
            raise AssertionError("reversal bug: no continuation found")
        return value

    # -- one item's columns, as Reversal._fill computes them ---------------------------------

    def _table(self, name: str, units: int, length: int) -> np.ndarray:
        """Entries ``name[0..length-1, units]`` as int64, infeasible as BIG."""
        units = min(units, self.budget)
        key = (name, units)
        column = self.columns.get(key)
        if column is None or len(column) < length:
            grow = max(length, 2 * len(column) if column is not None else 64)
            grow = min(grow, self.tables.steps + 1)
            raw = np.asarray(self.tables.tab[name][self.tables.off + units, :grow], np.int64)
            column = np.where(raw >= self.tables.inf, BIG, raw)
            self.columns[key] = column
        return column[:length]

    def _columns(self, previous: Window, item, free: int, reach: int, e0: int, e1: int):
        """``V[j][:, e0..e1]`` of item ``item`` from the previous item's window."""
        c, kind = item
        size = self.size[kind]
        rows = self.rows
        first = max(0, c - 1)  # the previous item's columns read: first .. e1
        before = _read(previous, first, e1)
        here = before[:, e0 - first :]
        out = np.full((rows, e1 - e0 + 1), BIG, dtype=np.int64)
        out[size:] = here[: rows - size]  # drop: r grows by size
        served = c + 1 if kind == HIDDEN else c
        if e0 < served:  # e the item cannot serve: free it when reached
            n = min(e1 + 1, served) - e0
            out[:, :n] = np.minimum(out[:, :n], here[:, :n])
        if kind == INTERNAL and e0 <= c <= e1:  # at once: s[c] reverses step c
            out[:, c - e0] = np.minimum(out[:, c - e0], before[:, c - 1 - first])
        s0 = max(e0, c + 1)
        if s0 > e1 or reach <= c:
            return out
        saved = self.units.internal - self.units.hidden
        for r in range(rows):
            row = before[r]
            if row.min() >= BIG:
                continue
            values = self._starts(kind, c, free + r, s0, e1, row, first)
            out[r, s0 - e0 :] = np.minimum(out[r, s0 - e0 :], values)
            if kind == INTERNAL and self.flag and r + saved < rows:
                values = self._starts(HIDDEN, c, free + r, s0, e1, row, first)
                out[r + saved, s0 - e0 :] = np.minimum(out[r + saved, s0 - e0 :], values)
        return out

    def _starts(self, kind, c, free, s0, e1, row, first) -> np.ndarray:
        """The least of *use* and *launch* for e = s0 .. e1 (``row``: the previous item's
        row r from column ``first``)."""
        n = e1 - s0 + 1
        if kind == HIDDEN:
            segment = self._table("S", free, e1 - c + 1)[s0 - c :]
            use = segment + row[c - first]
        elif self.flag:
            segment = self._table("R", free - self.units.internal, e1 - c + 1)[s0 - c :]
            use = segment + row[c - 1 - first]
        else:
            return np.full(n, BIG, dtype=np.int64)
        # launch: min over c <= b < e of (b - c) + P[e - b, free] + V[j-1][r, b]
        right = self._table("P", free, e1 - c + 1)
        m = e1 - c  # b = c .. e1 - 1
        start = row[c - first : c - first + m] + np.arange(m)
        # padded[m + d] = P[d] for d >= 1, BIG for d <= 0 (b >= e is no launch)
        padded = np.concatenate([np.full(m + 1, BIG, dtype=np.int64), right[1:]])
        launch = np.empty(n, dtype=np.int64)
        for a in range(0, n, LAUNCH_BLOCK):
            e = np.arange(s0 + a, min(e1 + 1, s0 + a + LAUNCH_BLOCK))[:, None]
            b = np.arange(c, e1)[None, :]
            launch[a : a + len(e)] = (start[None, :] + padded[m + e - b]).min(axis=1)
        return np.minimum(np.minimum(use, launch), BIG)


def _read(window: Window, a: int, b: int) -> np.ndarray:
    """Columns a..b of a window, infinite outside it."""
    out = np.full((window.values.shape[0], b - a + 1), BIG, dtype=np.int64)
    lo, hi = max(a, window.lo), min(b, window.lo + window.values.shape[1] - 1)
    if lo <= hi:
        out[:, lo - a : hi - a + 1] = window.values[:, lo - window.lo : hi - window.lo + 1]
    return out


__all__ = ["ReversalCost"]
