"""The reference engine: every split point of every split is evaluated.

``DPTables`` fills the tables of ``table_spec`` by the recursion as written, with no
argument beyond the definition of a minimum: each row ``t`` is the minimum over every
option and every split point ``y``. ``BreakpointTables`` (``engine.tables``) must equal it
entry for entry, and ``best_split_option`` must make the choice ``best_option`` makes here;
the tests compare them.

Rows are filled one ``t`` at a time, vectorised over both the split point ``y`` and
every budget ``M`` at once (a (y, M) block, one add and one column-wise min), so the
Python loop runs only ``T`` times. Tables grow in ``t`` and are reused across calls; a
larger budget rebuilds them.
"""

from __future__ import annotations

import numpy as np

from mini_bptt.planning import limits
from mini_bptt.planning.table_spec import Progress, Run, Same, Single, Split, TableSpec


class DPTables:
    """Cost tables for one set of ``TableSpec`` s, grown on demand.

    Column ``off + M`` holds budget ``M`` grains; the ``off`` columns in front are
    infeasible, so ``M - shift`` never needs a bounds check.
    """

    def __init__(self, specs: tuple[TableSpec, ...]) -> None:
        self.specs = specs
        shifts = [o.shift for s in specs for o in s.options if isinstance(o, Single | Split)]
        self.off = max(shifts) + 1  # every table set has a Single or a Split
        self.steps = -1  # rows filled: 0..steps
        self.width = -1  # budgets 0..width
        self.tab: dict[str, np.ndarray] = {}
        self.plus_y: dict[str, np.ndarray] = {}  # plus_y[L][y] = L[y] + y

    def ensure(self, steps: int, width: int, progress: Progress | None = None) -> None:
        """Fill rows up to ``steps`` for budgets 0..``width`` grains."""
        too_narrow_type = (
            self.tab and limits.table_dtype(steps) == np.int64 and self.dtype == np.int32
        )
        if width > self.width or too_narrow_type:
            # widen geometrically, so a sequence of growing budgets costs at most twice the last
            wider = width if self.width < 0 else max(width, 2 * self.width)
            self._allocate(max(steps, self.steps, 1), wider)
        elif steps >= len(next(iter(self.tab.values()))):
            self._grow(steps)
        for t in range(self.steps + 1, steps + 1):
            self._fill_row(t)
            self.steps = t
            if progress is not None and (t % 64 == 0 or t == steps):
                progress(t, steps)

    def value(self, name: str, t: int, grains: int) -> int:
        """Entry for ``t`` steps and ``grains`` free (after ``ensure``); >= ``inf`` if
        infeasible."""
        return int(self.tab[name][t, self.off + grains])

    @property
    def inf(self) -> int:
        return limits.infinity(self.dtype)

    # -- internals ----------------------------------------------------------------------------

    def _allocate(self, steps: int, width: int) -> None:
        self.dtype = limits.table_dtype(steps)
        self.width, self.steps = width, -1
        cols = self.off + width + 1
        self._buffer = np.empty((steps + 1, width + 1), dtype=self.dtype)
        for spec in self.specs:
            self.tab[spec.name] = np.full((steps + 1, cols), self.inf, dtype=self.dtype)
            self.plus_y[spec.name] = np.full((steps + 1, cols), self.inf, dtype=self.dtype)

    def _grow(self, steps: int) -> None:
        rows = max(steps + 1, 2 * len(next(iter(self.tab.values()))))
        for store in (self.tab, self.plus_y):
            for name, old in store.items():
                new = np.full((rows, old.shape[1]), self.inf, dtype=self.dtype)
                new[: len(old)] = old
                store[name] = new
        self._buffer = np.empty((rows, self.width + 1), dtype=self.dtype)

    def _fill_row(self, t: int) -> None:
        cols = slice(self.off, self.off + self.width + 1)
        for spec in self.specs:
            row = self.tab[spec.name][t]
            start = self.off + spec.min_grains
            if t <= 1:
                row[start:] = t  # nothing to reverse, or forward once and reverse from the core
            else:
                best = None
                for option in spec.options:
                    found = self.option_values(option, t, cols)
                    if found is not None:
                        values = found[0].min(axis=0) + found[1]
                        best = values if best is None else np.minimum(best, values)
                row[cols] = self.inf if best is None else np.minimum(best, self.inf)
                row[:start] = self.inf
            self.plus_y[spec.name][t] = np.minimum(row + t, self.inf)

    def option_values(self, option, t: int, cols):
        """Values of ``option`` at ``t``: shape (n_y, n_cols) (or (n_y,) for one column).

        Returns (block, add): the option's values are ``block + add`` (adding
        after the min saves a pass). For a Split, row k of the block is split
        point ``y = option.y_min + k``. None if the option has no split point.
        """
        if isinstance(option, Run):
            return self.tab[option.table][t - 1, cols][None], t
        if isinstance(option, Same):
            return self.tab[option.table][t, cols][None], 0
        if isinstance(option, Single):
            return self.tab[option.table][t - 1, _shifted(cols, option.shift)][None], 1
        y_min, lo = option.y_min, option.lo
        if y_min > t - 1:
            return None
        left = self.plus_y[option.left][y_min + lo : t + lo, cols]  # (y + lo) + L[y + lo]
        right = self.tab[option.right][t - y_min : 0 : -1, _shifted(cols, option.shift)]
        # a reused buffer: fresh (y, M) blocks of a megabyte each would cost a page fault per page
        out = self._buffer[: t - y_min, : left.shape[1]] if left.ndim == 2 else None
        return np.add(left, right, out=out), -lo


def _shifted(cols, shift: int):
    if isinstance(cols, slice):
        return slice(cols.start - shift, cols.stop - shift)
    return cols - shift


def best_option(tables: DPTables, spec: TableSpec, t: int, grains: int) -> tuple[object, int]:
    """An option reaching ``spec.name[t, grains]`` and its split point (0 when it has none):
    the first option in ``spec.options`` that reaches it, and the smallest split point."""
    target = tables.value(spec.name, t, grains)
    col = tables.off + grains
    for option in spec.options:
        found = tables.option_values(option, t, col)
        if found is None:
            continue
        k = int(np.argmin(found[0]))
        if int(found[0][k]) + found[1] == target:
            return option, (option.y_min + k if isinstance(option, Split) else 0)
    raise AssertionError(f"no option reaches {spec.name}[{t}, {grains}] = {target}")
