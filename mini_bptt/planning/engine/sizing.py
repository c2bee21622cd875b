"""Sizing: the shapes of a table set, and a bound on the bytes a fill holds at once.

``allocated_bytes`` is exact: it counts the arrays ``BreakpointTables.allocate`` makes,
from the same ``layout``. ``fill_bytes`` adds what the fill holds besides them, term by
term (``fill_terms``): the arrays each split keeps from block to block, and one more of a
split's while they are replaced (from their shapes); the temporaries of each step
(``step_terms``, from their shapes; a step's are freed before the next, so only the
largest counts); and what grows with the breakpoints. That last term is not known before
the fill: the breakpoints per table are bounded by a rule (``breakpoint_bound``), exact at
its two caps and between them measured on the table sets the planner builds, not proven.
The rule and each term are checked against what their part of a grid of fills holds, from
above and within a stated factor (``docs/engine.md``, *Sizing*, says what is pinned).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from mini_bptt.planning import limits
from mini_bptt.planning.engine import chords, pruning
from mini_bptt.planning.engine.candidates import CandidateStore
from mini_bptt.planning.table_spec import Run, Same, Single, Split, TableSpec, option_shift

BLOCK = 32  # rows whose candidates are evaluated together, at most
NARROW_BLOCK = 96  # ... for tables of at most NARROW_COLUMNS columns
NARROW_COLUMNS = 512
# per breakpoint: its record and, while they are read back, two copies, the sort's order
# and a sorted copy of each
BREAKPOINT_BYTES = 64
# ... and per candidate made of it: its record in a store or a group, with room to grow,
# and an offer's copies of it (measured, with the margin of ``breakpoint_bound``)
CANDIDATE_BYTES = 48
BREAKPOINT_MARGIN = 2  # on the measured terms of ``breakpoint_bound``
# ... whose columns past the one-state ones hold, in all, up to this many times as many
# breakpoints as those at most (measured)
ONE_STATE_TAIL = 0.5
# Python objects of a fill (dicts, lists, tuples, small arrays), and NumPy's buffers of the
# operands a ufunc casts or reads strided (``np.getbufsize()`` elements of each)
FILL_OVERHEAD = 2**18


class Layout(NamedTuple):
    """The shapes of a table set allocated for some rows and budgets (``layout``)."""

    specs: tuple[TableSpec, ...]  # the tables with the options that can reach an entry
    off: int  # columns in front of budget 0
    cols: int
    block: int  # rows filled together
    stride: int  # rows stored per column
    ring: int  # rows of ``recent`` (twice) and ``early``
    coarse: int  # coarse blocks of ``chords.BOUND_ROWS`` rows with chords
    dtype: type


def block_rows(columns: int) -> int:
    """The rows of a block of a table of ``columns`` columns."""
    return NARROW_BLOCK if columns <= NARROW_COLUMNS else BLOCK


def layout(specs: tuple[TableSpec, ...], rows: int, width: int) -> Layout:
    """The shapes of the set allocated for ``rows`` rows and budgets 0..``width`` grains.

    An option of shift ``s > width`` reads budget ``M - s < 0`` for every budget of the
    table, an infeasible one: it can lower no entry, so it is left out of the fill, and
    the columns in front of budget 0 are only as many as the largest shift kept needs.

    The ring of recent rows holds every row read back at once, the newest included (row
    ``t`` of a table is written in place while row ``t`` is filled). At row ``t`` of a
    block from ``t0`` (``t - t0 < block``) the small window reads a split's right part
    down to row ``t0 - y_min`` and the large window its left part down to ``t0 - 1 + lo
    >= t0 - 2`` (``lo`` is 0 or -1); after the block the breakpoint search reads rows
    ``t0 - 2 .. t0 + block - 1``. So at most ``block + max(y_min, 2)`` rows, and the ring
    has that many. ``early`` keeps as many first rows: the windows' constants read its
    rows up to ``y_min + block - 1 + lo`` and ``1 .. block``."""
    live = tuple(
        replace(spec, options=tuple(o for o in spec.options if option_shift(o) <= width))
        for spec in specs
    )
    off = max((option_shift(o) for spec in live for o in spec.options), default=0) + 1
    cols = off + width + 1
    block = block_rows(cols)
    splits = [o for spec in live for o in spec.options if isinstance(o, Split)]
    return Layout(
        specs=live,
        off=off,
        cols=cols,
        block=block,
        stride=-(-rows // block) * block,  # whole blocks: the chunks of ``ChunkRises``
        ring=block + max([2] + [o.y_min for o in splits]),
        coarse=rows // chords.BOUND_ROWS + 2,
        dtype=limits.table_dtype(rows - 1),
    )


def first_column(by_name: dict[str, TableSpec], spec: TableSpec, option: Split, off: int) -> int:
    """The least column where both parts of a split can be feasible (``off`` columns in
    front of budget 0)."""
    right = by_name[option.right].min_grains + option.shift
    return off + max(spec.min_grains, by_name[option.left].min_grains, right)


def allocated_bytes(shape: Layout, tables: int) -> int:
    """The bytes of the arrays a set of ``tables`` tables allocated with ``shape`` holds."""
    cols, item = shape.cols, np.dtype(shape.dtype).itemsize
    per_table = (
        cols * shape.stride * item  # tab
        + 3 * shape.ring * cols * item  # recent (each row twice) and early
        + cols * (shape.stride // shape.block) * 8  # ChunkRises.per_chunk
        + cols * (8 + 1 + 8)  # breakpoint count, dense, nonconvex
        + shape.coarse * cols * (3 * 8 + 1 + 8)  # chords and their least rises
    )
    splits = sum(isinstance(o, Split) for spec in shape.specs for o in spec.options)
    stores = 2 * splits * CandidateStore.INITIAL * (8 + item + 8)  # one per side
    return tables * per_table + stores


class FillTerms(NamedTuple):
    """The terms of ``fill_bytes``, each a bound on one part of what a fill holds."""

    allocated: int  # the set's arrays (``allocated_bytes``, exact)
    kept: int  # what every split keeps from one block to the next (``split_kept_bytes``)
    replaced: int  # one more of a split's arrays while they are replaced (``replaced_bytes``)
    steps: dict[str, int]  # the temporaries of each step (``step_terms``); one at a time
    grows: int  # what grows with the breakpoints (``breakpoint_bytes``)
    overhead: int  # ``FILL_OVERHEAD``

    def total(self) -> int:
        """Their sum, with the largest step only: a step's temporaries are freed before
        the next step makes its own."""
        parts = (self.allocated, self.kept, self.replaced, self.grows, self.overhead)
        return sum(parts) + max(self.steps.values())


def fill_bytes(specs: tuple[TableSpec, ...], rows: int, width: int, steps: int) -> int:
    """A bound on the bytes that filling rows up to ``steps`` of a set of ``specs``
    allocated for ``rows`` rows and budgets 0..``width`` holds at once."""
    return fill_terms(specs, rows, width, steps).total()


def fill_terms(specs: tuple[TableSpec, ...], rows: int, width: int, steps: int) -> FillTerms:
    """The terms of ``fill_bytes`` for the same arguments."""
    shape = layout(specs, rows, width)
    by_name = {spec.name: spec for spec in specs}
    cols, block, item = shape.cols, shape.block, np.dtype(shape.dtype).itemsize
    filled = min(steps, rows - 1)
    splits = [(spec, o) for spec in shape.specs for o in spec.options if isinstance(o, Split)]
    wide = [cols - first_column(by_name, spec, o, shape.off) for spec, o in splits]
    zones = one_state_budgets(shape.specs)
    count = {spec.name: breakpoint_bound(spec, filled, width, zones) for spec in shape.specs}
    # a breakpoint of a split's left part is a candidate of that split, one of its right
    # part another
    sides = {name: sum((o.left == name) + (o.right == name) for _, o in splits) for name in count}
    # windowed blocks start at row y_min + block; groups are bounded once a split's
    # candidates are 2 * BOUND_MINIMUM per column
    windowed = [filled >= o.y_min + block for _, o in splits]
    bounded = [
        ok
        and filled > chords.BOUND_ROWS
        and count[o.left] + count[o.right] >= 2 * chords.BOUND_MINIMUM * w
        for ok, (_, o), w in zip(windowed, splits, wide, strict=True)
    ]
    return FillTerms(
        allocated=allocated_bytes(shape, len(specs)),
        kept=sum(split_kept_bytes(block, cols, w, item) for w in wide),
        replaced=replaced_bytes(block, cols, max(wide), item) if splits else 0,
        steps=step_terms(
            shape,
            filled,
            max((w for w, ok in zip(wide, windowed, strict=True) if ok), default=0),
            max((w for w, ok in zip(wide, bounded, strict=True) if ok), default=0),
        ),
        grows=sum(breakpoint_bytes(n, sides[name]) for name, n in count.items()),
        overhead=FILL_OVERHEAD,
    )


def breakpoint_bytes(count: int, sides: int) -> int:
    """A bound on what ``count`` breakpoints of a table hold, with the candidates they give
    the ``sides`` split parts that read the table (``BREAKPOINT_BYTES``, ``CANDIDATE_BYTES``)."""
    return count * (BREAKPOINT_BYTES + CANDIDATE_BYTES * sides)


def replaced_bytes(block: int, cols: int, wide: int, item: int) -> int:
    """A bound on what a split holds besides what it keeps while its arrays are replaced
    for the next block (the widest split, ``wide`` columns), in entries of ``item`` bytes:
    its new bisected middle (``block`` rows by ``wide`` columns, with its columns and mask)
    while the last one is held, then its block's new values (``block`` rows by every
    column) while the last block's are. Not at once: their sum bounds either, as a block
    row of every column is more than the middle's nine bytes per column."""
    return (block * cols + block * wide) * item


def split_kept_bytes(block: int, cols: int, wide: int, item: int) -> int:
    """A bound on what one split keeps from one block to the next (``SplitState``): the
    two windows' constant parts and the bisected middle's minima (``block`` rows by its
    ``wide`` columns), the block's values found so far (``block`` rows by at most every one
    of the ``cols`` columns), in entries of ``item`` bytes; the middle's columns when they
    are not one run (int64) and the mask of the columns bisected (a byte per column)."""
    return 3 * block * wide * item + block * cols * item + wide * 8 + cols


def step_terms(shape: Layout, filled: int, windowed: int, bounded: int) -> dict[str, int]:
    """Per step of a fill up to row ``filled``, a bound on the temporaries it holds at
    once, from their shapes: ``block`` rows by every column (``cols``) or by a split's
    columns from its first, for the widest split read from its windows (``windowed``) or
    whose groups are bounded (``bounded``; 0: none, and the step is not taken); int64
    unless said otherwise. What a step keeps for later (breakpoints, candidates, a
    split's arrays) is counted by the terms of ``fill_bytes``, not here."""
    cols, block, item = shape.cols, shape.block, np.dtype(shape.dtype).itemsize
    terms = {
        # one table's rows low - 1 .. high + 1 (block + 2) as int64; of ``above - 2 at +
        # below`` and the second differences at most three int64 arrays; eight masks
        "breakpoint search": (block + 2) * cols * (8 + 3 * 8 + 8),
        # a chunk's block + 1 rows as int64 and their differences, or the next chunk's
        # rows while the last's are still held
        "least rises": 2 * (block + 1) * cols * 8,
        # a row's windows, or in the first rows every split point: fewer than 2 block
        # rows of split points by every column, of the table's type; and a few rows of
        # every column: a Run's, the Singles' (shared by shift), the minima
        "windows": 2 * block * cols * item + 4 * cols * 8,
        # reading back the breakpoints: where each column's start (two int64 per column;
        # the copies per breakpoint are counted by BREAKPOINT_BYTES)
        "reading back": 2 * (cols + 1) * 8,
    }
    if windowed:
        terms |= {
            # a block's offer: the ceilings of its values, for each growth step the block's
            # values less the step's rise on every row (int64) and their maxima; the
            # copies of its candidates are counted by CANDIDATE_BYTES
            "offer": len(pruning.GROWTH_STEPS) * (block + 1) * cols * 8,
            # the middle by bisection: its bounds and two evaluations of the split
            "bisected middle": 12 * block * windowed * 8,
        }
    if bounded:
        B = chords.BOUND_ROWS
        coarse = filled // B + 2
        pieces = 2 * (filled // B) + 3
        terms |= {
            # chords of a coarse block: its rows as int64 and four int64 expressions
            "chords": (B + 1) * cols * (5 * 8 + 4 + 1),
            # group bounds: per piece and column the chords of both parts and the
            # bound; per coarse block the bounds and least rises
            "group bounds": pieces * bounded * 24 * 8 + coarse * bounded * 8 * 8,
            # groups beaten: the ceilings of the block for each group growth, the
            # values scaled, and per coarse block the bounds, growths and masks
            "groups beaten": (len(chords.GROUP_GROWTHS) + 2) * block * bounded * 8
            + coarse * cols * 12 * 8,
        }
    return terms


def breakpoint_bound(spec: TableSpec, steps: int, width: int, zones: dict) -> int:
    """A bound on the breakpoints a fill up to row ``steps`` records in table ``spec`` (its
    options those kept for ``width``): per column at most its interior rows, and in all at
    most ``worth`` columns' worth of rows plus two per column (where a column turns
    feasible or infeasible). Only the columns from the table's least budget count: below
    it every entry is infeasible, which is no breakpoint. Both caps are attained: a table
    quadratic everywhere has a breakpoint on every interior row of each of these columns,
    a chain long enough to turn infeasible in each has exactly two.

    A column where the table holds one state at most is a quadratic, a breakpoint on every
    row: ``Q`` columns (``zones``, see ``one_state_budgets``); the columns past them have
    up to ``ONE_STATE_TAIL`` times as many in all. Where a split's right part is a chain
    (it never holds two states), the next ``Q`` columns have one on every second row, the
    next on every third, and so on: a harmonic sum, ``Q (1 + ln(columns / Q))``. The other
    columns have few, slowly more at long sequences and in wide tables:
    ``1 + ln(1 + columns)`` columns' worth. Each of the last two terms is taken
    ``BREAKPOINT_MARGIN`` times. A chain itself is linear where it is feasible."""
    columns = max(width + 1 - spec.min_grains, 0)
    interior = max(steps - 1, 0)  # rows 1 .. steps - 1 have rows on both sides
    if columns > 10**12:  # far past any limit (and past floats): every interior row
        return interior * columns
    q = zones.get(spec.name, columns)
    worth = q * (1 + ONE_STATE_TAIL) + BREAKPOINT_MARGIN * (1 + math.log1p(columns)) if q else 0
    if any(isinstance(o, Split) and zones.get(o.right) == 0 for o in spec.options):
        worth += BREAKPOINT_MARGIN * q * math.log1p(columns / max(q, 1))
    return min(interior * columns, interior * math.ceil(worth) + 2 * columns)


def row_two_budgets(specs: tuple[TableSpec, ...]) -> dict[str, float]:
    """Per table, the least budget where its entry at row 2 is finite (``inf``: none),
    from the options alone: rows 0 and 1 are finite from a table's least budget, a Run or
    a Single reads row 1 (a Single at the budget less its shift), a Same row 2 of a table
    filled before it (so one pass in the fill's order), and a Split ``y = 1`` only (the
    left part at row ``1 + lo``, the right part at row 1, less the shift): a Split from
    ``y = 2`` on has no split point at row 2."""
    least = {spec.name: spec.min_grains for spec in specs}
    feasible: dict[str, float] = {}
    for spec in specs:
        reach = []
        for o in spec.options:
            if isinstance(o, Run):
                reach.append(least[o.table])
            elif isinstance(o, Same):
                reach.append(feasible[o.table])
            elif isinstance(o, Single):
                reach.append(o.shift + least[o.table])
            elif o.y_min <= 1:
                reach.append(max(least[o.left], o.shift + least[o.right]))
        feasible[spec.name] = max(spec.min_grains, min(reach, default=math.inf))
    return feasible


def one_state_budgets(specs: tuple[TableSpec, ...]) -> dict[str, int]:
    """Per table, how many budgets from its least feasible one hold one state at most (the
    start): a breakpoint on every row. 0 for a table that never holds two states and has no
    Run (a chain, linear where feasible: breakpoints only at its edges); absent (every
    column) for one that never holds two states and has a Run (a quadratic everywhere).

    From the options alone: ``feasible[X]``, the least budget where ``X[2, M]`` is finite
    (``row_two_budgets``), and ``two[X]``, the least budget where a Split holds both its
    parts' starts (a Single or a Same reads a table at the same budget less its shift; a
    Run adds no state)."""
    never = math.inf
    feasible = row_two_budgets(specs)
    two = dict.fromkeys(feasible, never)
    quadratic = dict.fromkeys(feasible, False)
    for _ in range(2 * len(specs) + 2):  # a fixed point of a few tables
        for spec in specs:
            both = []
            for o in spec.options:
                if isinstance(o, Run):
                    quadratic[spec.name] = True
                elif isinstance(o, Same):
                    both.append(two[o.table])
                    quadratic[spec.name] |= quadratic[o.table]
                elif isinstance(o, Single):
                    both.append(o.shift + two[o.table])
                    quadratic[spec.name] |= quadratic[o.table]
                else:
                    both.append(max(feasible[o.left], o.shift + feasible[o.right]))
            two[spec.name] = max(spec.min_grains, min(both, default=never))
    zones = {}
    for name in feasible:
        if two[name] < never:
            zones[name] = max(1, int(two[name] - min(feasible[name], two[name])))
        elif not quadratic[name]:
            zones[name] = 0
    return zones
