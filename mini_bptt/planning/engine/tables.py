"""The fast exact engine's storage and fill loop: ``BreakpointTables``.

Claim: ``ensure`` leaves every entry equal to the reference engine's (``reference``),
and a set is read only if its last fill ran to the end.

* Each row is the minimum of its options, in the order of ``spec.options``; Run, Single
  and Same read one entry each, exactly as the reference does. A split's value is the
  least over its ends and breakpoints (``breakpoints``), found as the least of its
  windows (``windows``), its candidates (``candidates``, skipped only where they cannot
  win: ``pruning`` and ``chords``) and, for dense convex columns, its bisected middle
  (``bisection``). Each of those modules states why its part is exact.
* Each row is filled in a ring of recent rows, row-major; a block's rows are written to
  the column-major table, a run per column, when the block ends, and only then does
  ``steps`` advance. Until the fill's last write ``intact`` is False, so a fill cut
  short anywhere (an exception, Ctrl-C) leaves a set that ``table_cache`` never reads
  again.
* Unfilled rows hold the infeasible marker (``limits.infinity``): a candidate that reads
  one only overestimates (``windows``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mini_bptt.planning import limits
from mini_bptt.planning.engine import chords, sizing, windows
from mini_bptt.planning.engine.bisection import bisected_middle
from mini_bptt.planning.engine.breakpoints import TableBreakpoints, split_points
from mini_bptt.planning.engine.candidates import CandidateGroups, CandidateStore, add_candidates
from mini_bptt.planning.engine.pruning import ChunkRises, OnEvaluate, PrunedMinimum
from mini_bptt.planning.limits import DPSize, dp_size
from mini_bptt.planning.table_spec import Progress, Run, Same, Single, Split, TableSpec

MINIMUM_WIDTH = 256  # budgets (grains) a fresh table covers at least, when it is small:
SMALL_ENTRIES = 2**18  # ... of at most this many entries


@dataclass(eq=False)
class SplitState:
    """What the engine keeps for one split option of one table.

    ``stores`` and ``groups`` hold its candidates (left part, right part); the rest is
    set per block: the windows' constant parts (once the first rows are filled), the
    block's values from candidates and bisection (``best_so_far``: one row per block row,
    columns from ``first``) and the bisected middle (``windows`` and ``bisection``).
    """

    name: str
    option: Split
    first: int  # the least column where both parts can be feasible
    stores: tuple[CandidateStore, CandidateStore]
    groups: tuple[CandidateGroups, CandidateGroups]
    left_plus_y: np.ndarray | None = None
    right_minus_j: np.ndarray | None = None
    best_so_far: np.ndarray | None = None
    middle: tuple | None = None  # (columns less first, their minima per row), or None
    bisected: np.ndarray | None = None  # per column: bisected in this block


# told of each split after its block's candidates and middle are evaluated, with the block's
# first row (tests read the engine's state there)
OnBlock = Callable[["BreakpointTables", SplitState, int], None]


class BreakpointTables:
    """Cost tables for one set of ``TableSpec`` s, equal entry for entry to ``DPTables``.

    ``tab[name][off + M, t]`` is the entry for ``t`` steps and ``M`` grains; the ``off``
    columns in front are infeasible, so ``M - shift`` needs no bounds check. Grown on
    demand: a request beyond the filled rows or width refills the tables at twice the
    size, so a sequence of growing requests costs at most twice the last.

    Parameters
    ----------
    specs : tuple of TableSpec
        The tables, in fill order.
    on_evaluate : callable, optional
        Passed to every ``PrunedMinimum`` (for tests).
    on_block : callable, optional
        Called for each split at each block (``OnBlock``, for tests).
    """

    def __init__(
        self,
        specs: tuple[TableSpec, ...],
        on_evaluate: OnEvaluate | None = None,
        on_block: OnBlock | None = None,
    ) -> None:
        self.specs = specs
        self.by_name = {spec.name: spec for spec in specs}
        self.on_evaluate, self.on_block = on_evaluate, on_block
        # set per allocation (``sizing.layout``): the columns in front of budget 0, and the
        # options that can reach a budget of the width allocated
        self.off = 1
        self.live = specs
        self.steps = -1  # rows filled: 0..steps
        self.width = -1  # budgets 0..width
        self.capacity = 0  # rows allocated
        self.tab: dict[str, np.ndarray] = {}
        # False from a fill's first write to its last: a set cut short there by an exception
        # or an interrupt is never read again (``table_cache``, which also holds ``lock``
        # for the whole of a request)
        self.intact = True
        self.lock = threading.RLock()

    def ensure(self, steps: int, width: int, progress: Progress | None = None) -> None:
        """Fill rows up to ``steps`` for budgets 0..``width`` grains.

        ``steps``, the rows that answer, grows only once a block's rows are in the tables;
        and ``intact`` is False from the first write to the last, so a fill cut short
        anywhere (``progress`` raising, Ctrl-C) leaves a set that is never read again.
        """
        if steps <= self.steps and width <= self.width:
            return
        self.intact = False
        target = self.allocation(steps, width)
        if target is not None:
            self.allocate(*target)
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
        for found in self.table_breakpoints.values():
            found.index()
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
        # a row costs a fixed time besides its entries, so small tables start wide enough
        # to serve a sweep over budgets without refilling (up to SMALL_ENTRIES)
        return rows, max(wide, min(MINIMUM_WIDTH, SMALL_ENTRIES // rows))

    def size(self, steps: int, width: int) -> DPSize:
        """What ``ensure(steps, width)`` would take from here (nothing if filled already):
        the bytes the fill holds at its peak, the whole set's arrays included
        (``fill_bytes``; a set that is refilled releases its old arrays first), and the
        estimated time."""
        if steps <= self.steps and width <= self.width:
            return DPSize(0, 0.0)
        rows, wide = self.allocation(steps, width) or (self.capacity, self.width)
        shape = self.layout(rows, wide)
        splits = sum(isinstance(o, Split) for spec in shape.specs for o in spec.options)
        tables = len(self.specs)
        table_bytes = tables * shape.cols * shape.stride * np.dtype(shape.dtype).itemsize
        working = self.fill_bytes(rows, wide, steps) - table_bytes
        return dp_size(tables, splits, rows - 1, shape.cols, shape.stride, working)

    def layout(self, rows: int, width: int) -> sizing.Layout:
        """The shapes of the set allocated for ``rows`` rows and budgets 0..``width``."""
        return sizing.layout(self.specs, rows, width)

    def allocated_bytes(self, rows: int, width: int) -> int:
        """The bytes of the arrays ``allocate(rows, width)`` makes (exact)."""
        return sizing.allocated_bytes(self.layout(rows, width), len(self.specs))

    def fill_bytes(self, rows: int, width: int, steps: int) -> int:
        """A bound on the bytes that filling rows up to ``steps`` of a set allocated for
        ``rows`` rows and budgets 0..``width`` holds at once (``sizing.fill_bytes``)."""
        return sizing.fill_bytes(self.specs, rows, width, steps)

    def value(self, name: str, t: int, grains: int) -> int:
        """Entry for ``t`` steps and ``grains`` free (after ``ensure``); >= ``inf`` if
        infeasible."""
        return int(self.tab[name][self.off + grains, t])

    @property
    def dtype(self):
        """The tables' integer type (None before the first fill)."""
        return self._dtype if self.tab else None

    def allocate(self, rows: int, width: int) -> None:
        """Make the arrays of a set of ``rows`` rows and budgets 0..``width`` (releasing the
        old set's first), with no row filled."""
        self._release()
        shape = self.layout(rows, width)
        self.live, self.off, self.cols = shape.specs, shape.off, shape.cols
        self._dtype = shape.dtype
        self.inf = limits.infinity(self._dtype)
        self.capacity, self.width, self.steps = rows, width, -1
        self.block, self.stride, self.ring = shape.block, shape.stride, shape.ring
        names = [s.name for s in self.specs]
        # unfilled rows must hold the marker: a block's candidates may read them
        self.tab = {n: np.full((self.cols, self.stride), self.inf, self._dtype) for n in names}
        self.flat = {name: table.reshape(-1) for name, table in self.tab.items()}
        self.runs: dict[tuple[str, int], np.ndarray] = {}  # views of ``flat``, made once
        self.rises = {
            name: ChunkRises(table, max(self.block, 1)) for name, table in self.tab.items()
        }
        # the last rows and the first ones, row-major: the windows and the breakpoint search
        # read whole rows, which the column-major table holds one entry per cache line;
        # each recent row twice (at k and k + ring), so that any ring rows are one slice
        self.recent = {n: np.full((2 * self.ring, self.cols), self.inf, self._dtype) for n in names}
        self.early = {n: np.full((self.ring, self.cols), self.inf, self._dtype) for n in names}
        self.searched = 0  # breakpoints are known for rows 1..searched
        self.table_breakpoints = {n: TableBreakpoints(self.cols, self.inf) for n in names}
        self.bound_rows = chords.BOUND_ROWS  # read once per allocation, like the block size
        self.chords = chords.Chords(self.tab, shape.coarse, self.bound_rows, self.inf)
        self.splits = [
            SplitState(
                name=spec.name,
                option=option,
                first=sizing.first_column(self.by_name, spec, option, self.off),
                stores=(CandidateStore(False, self._dtype), CandidateStore(True, self._dtype)),
                groups=(
                    CandidateGroups(False, self._dtype, self.cols),
                    CandidateGroups(True, self._dtype, self.cols),
                ),
            )
            for spec in self.live
            for option in spec.options
            if isinstance(option, Split)
        ]
        self.split_of = {(state.name, state.option): state for state in self.splits}

    def _release(self) -> None:
        """Drop the arrays of the set (before a refill makes new ones)."""
        for name in (
            "tab", "flat", "runs", "rises", "recent", "early", "table_breakpoints", "chords",
            "splits", "split_of",
        ):  # fmt: skip
            if hasattr(self, name):
                setattr(self, name, {})

    def _begin_block(self, t0: int, t1: int) -> None:
        """Evaluate every split's candidates and bisected middle for rows ``t0..t1-1``.

        The table is column-major, so a block's rows are written to it at the block's end,
        a run per column, unless a split is searched in full on every split point
        (``searched_in_full``, the first rows)."""
        self.searched_in_full = False
        found = self.table_breakpoints
        for state in self.splits:
            option, first = state.option, state.first
            if not windows.windowed(option, t0, self.block):
                self.searched_in_full = True
                continue
            if state.left_plus_y is None:  # rows up to y_min + block + lo are filled
                state.left_plus_y, state.right_minus_j = windows.window_constants(
                    self.early[option.left], self.early[option.right], option, first,
                    self.block, self._dtype,
                )  # fmt: skip
            left, right = found[option.left], found[option.right]
            state.middle, state.bisected = bisected_middle(
                left.dense, right.dense, left.nonconvex, right.nonconvex,
                self.flat[option.left], self.flat[option.right], self.stride,
                option, first, t0, t1, self._dtype,
            )  # fmt: skip
            best = np.full((t1 - t0, self.cols), self.inf, dtype=self._dtype)
            nondecreasing = {name: found[name].nondecreasing for name in found}
            offer = PrunedMinimum(
                best, t0, self.flat, self.rises, nondecreasing, state.bisected, self.runs,
                self.on_evaluate,
            )  # fmt: skip
            sides = zip(state.stores, (option.right, option.left), (False, True), strict=True)
            for store, part, with_t in sides:
                store.activate(t0)
                for run in store.active():
                    offer.add(part, with_t, *run)
            chords.offer_groups(
                state.groups, option, first, offer, t0, self.searched,
                nondecreasing[option.left] and nondecreasing[option.right],
                self.chords, self.steps,
            )  # fmt: skip
            offer.run()
            state.best_so_far = best[:, first:]
            if self.on_block is not None:
                self.on_block(self, state, t0)

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
            start = self.off + spec.min_grains
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
                        self._lower_by_split(row, self.split_of[(spec.name, option)], t, t0)
                np.minimum(feasible, self.inf, out=feasible)
            if self.searched_in_full:  # else the block is written at its end (in ``ensure``)
                self.tab[spec.name][:, t] = row
            recent[spec.name][k + self.ring] = row
            if t < len(self.early[spec.name]):
                self.early[spec.name][t] = row

    def _lower_by_split(self, row: np.ndarray, state: SplitState, t: int, t0: int) -> None:
        option, first = state.option, state.first
        if first >= self.cols:  # no column where both parts can be feasible
            return
        if not windows.windowed(option, t0, self.block):  # the first rows: every split point
            tab = self.tab
            found = windows.search_in_full(tab[option.left], tab[option.right], option, first, t)
            np.minimum(row[first:], found, out=row[first:])
            return
        found = state.best_so_far[t - t0]  # read at this row only: lowered in place
        windows.lower_by_windows(
            found, self._rows, option, t, t0, first, state.left_plus_y, state.right_minus_j
        )
        if state.middle is not None:  # the middle split points, by bisection
            index, minima = state.middle
            if isinstance(index, slice):
                np.minimum(found[index], minima[t - t0], out=found[index])
            else:
                found[index] = np.minimum(found[index], minima[t - t0])
        np.minimum(row[first:], found, out=row[first:])

    def _find_breakpoints(self, low: int, high: int) -> None:
        """Record the breakpoints at rows ``low..high`` (rows up to ``high + 1`` are filled)
        and the candidates they give every split."""
        if high < low:
            return
        fresh = {}
        for spec in self.specs:
            rows = self._rows(spec.name, high + 1, low - 1)[::-1].astype(np.int64)
            fresh[spec.name] = self.table_breakpoints[spec.name].search(rows, low)
        self.searched = high
        for state in self.splits:
            add_candidates(
                state.option, state.first, self.tab, fresh, state.stores, state.groups,
                self.block, self.bound_rows,
            )  # fmt: skip

    def split_values(self, option: Split, t: int, grains: int) -> tuple[np.ndarray, np.ndarray]:
        """(split points, values) of ``option`` at ``(t, grains)``, over a set of split points
        that contains the smallest minimiser (sorted ascending)."""
        col = self.off + grains
        found = self.table_breakpoints
        y = split_points(found[option.left], found[option.right], option, t, col)
        left = self.tab[option.left][col, y + option.lo].astype(np.int64)
        return y, left + self.tab[option.right][col - option.shift, t - y] + y
