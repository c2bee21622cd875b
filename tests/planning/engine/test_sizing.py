"""Sizing: the arrays a set allocates are counted exactly, the estimate of a fill bounds
its measured peak, each of its terms bounds what its part of a fill holds and is near it,
and options whose shift is past the width are left out."""

from __future__ import annotations

import math
import tracemalloc
from fractions import Fraction
from typing import NamedTuple

import numpy as np
import pytest

from mini_bptt.planning.dp_paper import paper_spec
from mini_bptt.planning.engine import BreakpointTables, best_split_option, chords, pruning, sizing
from mini_bptt.planning.engine import tables as tables_module
from mini_bptt.planning.engine.breakpoints import TableBreakpoints
from mini_bptt.planning.engine.pruning import ChunkRises, PrunedMinimum
from mini_bptt.planning.engine.reference import DPTables, best_option
from mini_bptt.planning.engine.sizing import (
    BREAKPOINT_BYTES,
    breakpoint_bound,
    breakpoint_bytes,
    fill_terms,
    one_state_budgets,
    row_two_budgets,
    split_kept_bytes,
    step_terms,
)
from mini_bptt.planning.table_spec import Run, Same, Single, Split, TableSpec
from mini_bptt.planning.units import grains_for
from tests.planning.engine.common import (
    UNUSUAL_TABLE_SETS,
    assert_engines_agree,
    assert_nonconvex_rows_are_the_last_rows_not_convex,
    configurations,
    entries,
    specs_of,
    use_blocks,
)


def fresh_tables(model, strategy, output, alpha) -> BreakpointTables:
    return BreakpointTables(specs_of(model, strategy, output, grains_for(alpha)))


def arrays_of(tables) -> int:
    """Bytes of every array a table set holds (each buffer once, views not counted)."""
    return owned_bytes(vars(tables))


def peak_of_fill(tables, steps: int, budget: int) -> int:
    """The most ``tables.ensure(steps, budget)`` holds at once (NumPy reports its buffers to
    tracemalloc)."""
    tracemalloc.start()
    try:
        tables.ensure(steps, budget)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "model, strategy, output, alpha, steps, budget",
    [
        ("optimal", "msm", True, 7 / 3, 300, 500),  # narrow
        ("optimal", "msm", True, 7 / 3, 300, 2000),  # wide: other blocks
        ("optimal", "ism", False, 4.5, 2500, 120),  # past a coarse block of rows
        ("paper", "msm", True, 2000, 20, 2100),  # a shift of 2,000 grains kept
        ("optimal", "msm", True, 10**6, 10, 30),  # a shift of 10**6 grains left out
    ],
)
def test_the_arrays_a_set_allocates_are_counted_exactly(
    model, strategy, output, alpha, steps, budget
):
    tables = fresh_tables(model, strategy, output, alpha)
    rows, width = tables.allocation(steps, budget)
    tables.allocate(rows, width)
    assert arrays_of(tables) == tables.allocated_bytes(rows, width)


# (model, strategy, internal_has_output, alpha, steps, budget grains): alpha = 10**6 with its
# shift left out, shifts of thousands of columns kept, narrow tables (at most 512 columns,
# blocks of 96 rows) and wide ones (32 rows), short fills and long ones (groups bounded past
# 1,024 rows), dense columns (ISM at large alpha), the harmonic ones (ISM without the output)
PEAK_GRID = [
    ("optimal", "msm", True, 10**6, 10, 30),
    ("optimal", "ism", False, 10**6, 40, 30),
    ("paper", "msm", True, 10**6, 40, 30),
    ("paper", "ism", True, 10**6, 200, 300),
    ("optimal", "msm", True, 2000, 100, 2100),
    ("optimal", "msm", False, 7, 200, 3000),
    pytest.param("optimal", "ism", True, 1000, 300, 1500, marks=pytest.mark.slow),
    ("paper", "ism", True, 100, 1000, 90),
    ("optimal", "msm", True, 7 / 3, 300, 500),
    ("optimal", "msm", True, 2000, 10, 2100),  # about one breakpoint in two columns
    # a one-state zone of nine columns, then a thousand whose breakpoints thin out
    # harmonically: the rule's harmonic term is needed
    ("optimal", "ism", False, 4.5, 1000, 1000),
    pytest.param("optimal", "msm", False, 1, 3000, 150, marks=pytest.mark.slow),
    pytest.param("optimal", "ism", False, 4.5, 3000, 120, marks=pytest.mark.slow),
    pytest.param("optimal", "ism", True, 4.5, 2000, 120, marks=pytest.mark.slow),
    pytest.param("paper", "msm", True, 1.5, 3000, 900, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("model, strategy, output, alpha, steps, budget", PEAK_GRID)
def test_the_size_estimate_bounds_the_measured_peak_of_a_fill(
    model, strategy, output, alpha, steps, budget
):
    """``size()`` is compared with the ``table_bytes`` limit before a fill: it must be at
    least the most the fill holds at once (NumPy reports its buffers to tracemalloc), and
    not far above it."""
    tables = fresh_tables(model, strategy, output, alpha)
    estimate = tables.size(steps, budget).table_bytes
    peak = peak_of_fill(tables, steps, budget)
    assert peak <= estimate <= 4 * peak, (peak, estimate)
    assert tables.size(steps, budget - 1).table_bytes == 0  # filled already
    # the measured rule the estimate rests on: no table has more breakpoints
    zones = one_state_budgets(tables.live)
    for spec in tables.live:
        bound = breakpoint_bound(spec, steps, tables.width, zones)
        assert tables.table_breakpoints[spec.name].count.sum() <= bound, spec.name


def test_a_size_past_any_limit_is_sized_without_overflow():
    tables = fresh_tables("optimal", "msm", True, 2)
    for steps, width in [(10, 10**400), (10**400, 10), (10**13, 10**13)]:
        size = tables.size(steps, width)
        assert size.seconds == math.inf and size.table_bytes > 10**13


def test_a_refill_is_bounded_too():
    """A request past the filled rows refills the set at twice the rows, having released
    the old arrays first: the estimate bounds what the process then holds in all."""
    tables = fresh_tables("optimal", "msm", True, 2.5)
    tracemalloc.start()
    try:
        tables.ensure(400, 200)
        held = tracemalloc.get_traced_memory()[0]
        estimate = tables.size(1500, 200).table_bytes
        assert tables.allocation(1500, 200) is not None
        tracemalloc.reset_peak()
        tables.ensure(1500, 200)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= estimate and held < estimate


@pytest.mark.parametrize("model, strategy, output", [("paper", "msm", True)] + [
    pytest.param("optimal", s, f, marks=pytest.mark.slow)
    for s in ("ism", "msm") for f in (True, False)
])  # fmt: skip
def test_a_shift_past_the_width_is_left_out_and_the_entries_are_unchanged(model, strategy, output):
    """alpha = 1000 with budgets below 1,000 grains: no internal state fits, so the options
    that save one are left out, and the set has 3 columns in front of budget 0 instead of
    1,001; every entry and every choice read back equal the full search's."""
    units = grains_for(1000)
    specs = specs_of(model, strategy, output, units)
    full, fast = DPTables(specs), BreakpointTables(specs)
    steps, width = 150, 600
    full.ensure(steps, width)
    fast.ensure(steps, width)
    assert fast.width < units.internal and fast.off == units.hidden + 1
    for spec in specs:
        for t in range(steps + 1):
            for m in range(width + 1):
                expected = min(full.value(spec.name, t, m), full.inf)
                got = min(fast.value(spec.name, t, m), fast.inf)
                assert (expected >= full.inf) == (got >= fast.inf), (spec.name, t, m)
                if expected < full.inf:
                    assert got == expected, (spec.name, t, m)
                    if t >= 2 and m % 7 == 0:
                        chosen = best_split_option(fast, spec, t, m)
                        assert chosen == best_option(full, spec, t, m), (spec.name, t, m)


# ---------------------------------------------------------------------------------------
# Each term against what its part of a fill really holds: the sum above could hide a term
# too low on a shape the grid does not hold (a fill let past the limit), or one far too
# high (requests refused early).


def owned_bytes(value) -> int:
    """Bytes of the buffers the arrays in ``value`` (nested in dicts, lists, tuples and the
    engine's objects) keep alive: a view counts its whole buffer, each buffer once."""
    seen, total, stack = set(), 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            owner = item
            while isinstance(owner.base, np.ndarray):
                owner = owner.base
            if id(owner) not in seen:
                seen.add(id(owner))
                total += owner.nbytes
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__") and type(item).__module__.startswith("mini_bptt"):
            stack.append(vars(item))
    return total


class Call(NamedTuple):
    """One call of a step: the bytes it held, what its term allows besides (per breakpoint
    it reads), and ``step_terms``' arguments at the call's own shape (``term_at``)."""

    held: int
    besides: int = 0
    at: dict = {}


class StepTracer:
    """Wraps the functions a fill calls for its steps and measures with tracemalloc what
    each call holds at its peak. Calls may nest (an offer inside a group offer): each
    resets tracemalloc's peak, so an outer call keeps its own peak up to an inner call and
    takes the inner call's after it."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.frames: list[list[int]] = []  # per call under way: traced bytes before, peak
        self.calls: dict[str, list[Call]] = {}

    def wrap(self, owner, name: str, step: str, measure) -> None:
        """Measure every call of ``owner.name`` (its result unchanged) as step ``step``:
        ``measure(peak, left, args, result)`` makes its ``Call`` from the call's peak above
        the bytes traced before it, and the part of that peak the call did not leave
        behind (what it keeps is counted by another term)."""
        function, frames = getattr(owner, name), self.frames

        def measured(*args, **kwargs):
            if frames:
                frames[-1][1] = max(frames[-1][1], tracemalloc.get_traced_memory()[1])
            tracemalloc.reset_peak()
            frame = [tracemalloc.get_traced_memory()[0]] * 2
            frames.append(frame)
            try:
                result = function(*args, **kwargs)
            finally:
                frames.pop()
                after, peak = tracemalloc.get_traced_memory()
                peak = max(frame[1], peak)
                if frames:
                    frames[-1][1] = max(frames[-1][1], peak)
                tracemalloc.reset_peak()
            call = measure(peak - frame[0], peak - after, args, result)
            if call is not None:
                self.calls.setdefault(step, []).append(call)
            return result

        self.monkeypatch.setattr(owner, name, measured)

    def fill(self, tables: BreakpointTables, steps: int, budget: int) -> None:
        """``tables.ensure(steps, budget)`` traced. NumPy buffers ``np.getbufsize()``
        elements of each operand a ufunc casts or reads strided, a fixed cost per call
        whatever the shapes, which ``FILL_OVERHEAD`` counts: the fill runs with small
        buffers, so that what is measured is the arrays the terms count (the values are
        the same with any buffer size)."""
        saved = np.getbufsize()
        np.setbufsize(16)
        tracemalloc.start()
        try:
            tables.ensure(steps, budget)
        finally:
            tracemalloc.stop()
            np.setbufsize(saved)


def traced_fill(monkeypatch, specs, steps: int, budget: int) -> tuple[BreakpointTables, StepTracer]:
    """A set of ``specs`` filled to ``steps`` and ``budget``, with every call of each step of
    ``step_terms`` measured: the function the fill calls for it, wrapped where the fill
    looks it up."""
    tracer = StepTracer(monkeypatch)
    bounds: dict = {}  # the last group bounds: held through their groups' offer

    def search(peak, left, args, result):  # its rows are made as int64 for it by the caller
        return Call(left + args[1].nbytes, at={"block": len(args[1]) - 2})

    def row(peak, left, args, result):
        # row t searches at most t - 1 split points in full, 2 (t // 2) rows of the term
        tables, t = args[0], args[1]
        return Call(left, at={"block": min(tables.block, max(t // 2, 1))})

    def reading_back(peak, left, args, result):
        # the records are held before and after: they and their copies, per breakpoint,
        # are what BREAKPOINT_BYTES counts
        found = args[0]
        return Call(owned_bytes(found.found) + peak, BREAKPOINT_BYTES * int(found.count.sum()))

    def offer(peak, left, args, result):  # the ceilings, held by the offer to its end
        return Call(peak, at={"block": len(args[0])})

    def middle(peak, left, args, result):
        return Call(left, at={"windowed": 0 if result[0] is None else result[0][1].shape[1]})

    def group_bounds(peak, left, args, result):  # made for the groups' offer, held by it
        bounds.update(result=result, at={"filled": args[2], "bounded": args[5] - args[4]})
        return Call(peak, at=bounds["at"])

    def groups_beaten(peak, left, args, result):  # with the bounds and the values scaled
        return Call(left + owned_bytes([bounds["result"], args[2]]), at=bounds["at"])

    def own(peak, left, args, result):
        return Call(left)

    tracer.wrap(TableBreakpoints, "search", "breakpoint search", search)
    tracer.wrap(ChunkRises, "update", "least rises", own)
    # the row is the step (``_fill_row``): its options' temporaries besides the windows'
    tracer.wrap(BreakpointTables, "_fill_row", "windows", row)
    tracer.wrap(TableBreakpoints, "index", "reading back", reading_back)
    # an offer's temporaries that are not per candidate (those are CANDIDATE_BYTES')
    tracer.wrap(pruning, "ceilings", "offer", offer)
    tracer.wrap(tables_module, "bisected_middle", "bisected middle", middle)
    tracer.wrap(chords.Chords, "update", "chords", own)
    tracer.wrap(chords, "group_bounds", "group bounds", group_bounds)
    tracer.wrap(chords, "groups_beaten", "groups beaten", groups_beaten)
    tables = BreakpointTables(specs)
    tracer.fill(tables, steps, budget)
    return tables, tracer


def term_at(shape, filled: int, call: Call, step: str) -> int:
    """Step ``step``'s term at the call's own shape (``call.at``: a block of fewer rows, the
    columns bisected, the row and columns of a bounded offer); 0 if it has none there."""
    at = {"filled": filled, "windowed": 1, "bounded": 1} | call.at
    rows = at.pop("block", shape.block)
    return step_terms(shape._replace(block=rows), **at).get(step, 0)


# a call's Python objects besides its arrays' buffers (array headers of about a hundred
# bytes, tuples, ints: a few dozen), which FILL_OVERHEAD counts
OBJECTS = 2**12

# fills whose groups are bounded within a few hundred rows: coarse blocks of 128 rows, and
# bounds from 8 candidates per column (the estimate reads the same)
BOUNDED = {"BOUND_ROWS": 128, "BOUND_MINIMUM": 8}
BOUNDED_GRID = [
    ("optimal", "ism", False, 4.5, 700, 120),  # narrow: blocks of 96 rows
    ("optimal", "ism", False, 4.5, 500, 600),  # wide: blocks of 32 rows
    ("paper", "ism", True, 100, 700, 90),  # dense columns
    pytest.param("optimal", "msm", False, 1, 700, 150, marks=pytest.mark.slow),
]


def assert_steps_within_terms(monkeypatch, model, strategy, output, alpha, steps, budget):
    """Every call of every step of a fill holds at most that step's term in the estimate
    (with what the term allows per breakpoint it reads, and the call's Python objects),
    and at most the term at the call's own shape; a step the fill takes is in the estimate."""
    specs = specs_of(model, strategy, output, grains_for(alpha))
    tables, tracer = traced_fill(monkeypatch, specs, steps, budget)
    rows, width = tables.capacity, tables.width
    estimate = fill_terms(specs, rows, width, steps).steps
    shape, filled = tables.layout(rows, width), min(steps, rows - 1)
    assert tracer.calls.keys() <= estimate.keys(), (tracer.calls.keys(), estimate.keys())
    for step, calls in tracer.calls.items():
        for call in calls:
            allowed = call.besides + OBJECTS
            assert call.held <= estimate[step] + allowed, (step, call, estimate[step])
            if step != "bisected middle":  # its temporaries go by dense column, not bisected
                assert call.held <= term_at(shape, filled, call, step) + allowed, (step, call)


@pytest.mark.parametrize("model, strategy, output, alpha, steps, budget", PEAK_GRID)
def test_each_step_of_a_fill_holds_at_most_its_term(
    monkeypatch, model, strategy, output, alpha, steps, budget
):
    """``step_terms`` against what each step of the fills of PEAK_GRID holds."""
    assert_steps_within_terms(monkeypatch, model, strategy, output, alpha, steps, budget)


@pytest.mark.parametrize("model, strategy, output, alpha, steps, budget", BOUNDED_GRID)
def test_each_step_of_a_fill_with_groups_bounded_holds_at_most_its_term(
    monkeypatch, model, strategy, output, alpha, steps, budget
):
    """The same with groups bounded early (chords, group bounds, groups beaten)."""
    for name, value in BOUNDED.items():
        monkeypatch.setattr(chords, name, value)
    assert_steps_within_terms(monkeypatch, model, strategy, output, alpha, steps, budget)


# How far a term may be above the most its step holds, from what the term counts beyond
# what the step holds at once, with about a tenth to spare for other NumPy versions: the
# search holds two of the three int64 arrays of second differences the term counts
# (CPython frees ``2 at`` once ``above - 2 at`` is made); a row, 2 block - 2 rows of split
# points of 2 block, and two or three rows of every column of four; the bisection about
# eight int64 per entry of twelve; the chords three int64 expressions of five; the group
# bounds a third of theirs; reading back, 56 bytes per breakpoint of 64. The least rises
# and the offer hold exactly the arrays their terms count, and the call's Python objects.
NEAR = {
    "breakpoint search": 1.75,
    "least rises": 1.02,
    "windows": 1.25,
    "reading back": 1.25,
    "offer": 1.02,
    "bisected middle": 1.6,
    "chords": 2.0,
    "group bounds": 3.2,
    "groups beaten": 1.2,
}
NEAR_GRID = [  # fills, the constants they are filled with, the steps near their terms
    ("optimal", "ism", False, 4.5, 700, 120, BOUNDED, tuple(NEAR)),  # narrow
    ("optimal", "ism", False, 4.5, 500, 600, BOUNDED, tuple(NEAR)),  # wide
    # a breakpoint in about two columns: reading back, the term of its columns shows
    ("optimal", "msm", True, 2000, 10, 2100, {}, ("reading back",)),
]


@pytest.mark.parametrize(
    "model, strategy, output, alpha, steps, budget, constants, near", NEAR_GRID
)
def test_each_step_term_is_near_the_most_its_step_holds(
    monkeypatch, model, strategy, output, alpha, steps, budget, constants, near
):
    """Each term at a call's own shape is within its factor in ``NEAR`` of what the call
    holds, at the call where it is closest, in a narrow fill and a wide one that take every
    step (and one where reading back goes by column)."""
    for name, value in constants.items():
        monkeypatch.setattr(chords, name, value)
    specs = specs_of(model, strategy, output, grains_for(alpha))
    tables, tracer = traced_fill(monkeypatch, specs, steps, budget)
    shape = tables.layout(tables.capacity, tables.width)
    assert set(near) <= tracer.calls.keys()
    for step in near:
        calls = tracer.calls[step]
        closest = max(c.held / (term_at(shape, steps, c, step) + c.besides) for c in calls)
        assert closest * NEAR[step] >= 1, (step, closest)


SPLIT_GRID = [
    ("optimal", "msm", True, 2, 600, 120),
    ("optimal", "msm", False, 1, 800, 60),
    ("paper", "msm", True, 2, 600, 120),
    ("optimal", "ism", True, 4.5, 300, 2000),
    ("paper", "ism", True, 100, 1000, 90),  # most columns bisected: the middle near full
]
SPLIT_ARRAYS = ("left_plus_y", "right_minus_j", "best_so_far", "middle", "bisected")


def split_arrays(state) -> list:
    return [getattr(state, name) for name in SPLIT_ARRAYS]


@pytest.mark.parametrize("model, strategy, output, alpha, steps, budget", SPLIT_GRID)
def test_what_a_split_keeps_between_blocks_is_within_its_term_and_near_it(
    model, strategy, output, alpha, steps, budget
):
    """``split_kept_bytes``, one term of ``fill_bytes``, against the arrays each split
    really holds at every block of a fill (each buffer whole: the block's values are a
    view of every column's): never above it, and at some block within 30%."""
    ratios = []

    def on_block(tables, state, t0):
        held = owned_bytes(split_arrays(state))
        item = np.dtype(tables.dtype).itemsize
        bound = split_kept_bytes(tables.block, tables.cols, tables.cols - state.first, item)
        ratios.append(held / bound)

    specs = specs_of(model, strategy, output, grains_for(alpha))
    BreakpointTables(specs, on_block=on_block).ensure(steps, budget)
    assert ratios and max(ratios) <= 1 and max(ratios) >= 0.7, (min(ratios), max(ratios))


@pytest.mark.parametrize("model, strategy, output, alpha, steps, budget", SPLIT_GRID)
def test_what_splits_hold_while_one_is_replaced_is_within_its_terms_and_near_them(
    monkeypatch, model, strategy, output, alpha, steps, budget
):
    """What every split keeps and the one more of ``replaced_bytes``, against the arrays the
    splits hold while one split's are replaced (``_begin_block``): its bisected middle made
    while the last is held, its block's values offered while the last block's are. Never
    above, and at some time within 40%."""
    ratios = []
    tables = BreakpointTables(specs_of(model, strategy, output, grains_for(alpha)))
    terms = fill_terms(tables.specs, *tables.allocation(steps, budget), steps)
    bisected_middle, run = tables_module.bisected_middle, PrunedMinimum.run

    def held(made) -> None:
        kept = owned_bytes([split_arrays(state) for state in tables.splits])
        ratios.append((kept + owned_bytes(made)) / (terms.kept + terms.replaced))

    def bisecting(*args):
        middle = bisected_middle(*args)
        held(middle)
        return middle

    def offering(offer):
        held(offer.upper)
        run(offer)

    monkeypatch.setattr(tables_module, "bisected_middle", bisecting)
    monkeypatch.setattr(PrunedMinimum, "run", offering)
    tables.ensure(steps, budget)
    assert ratios and max(ratios) <= 1 and max(ratios) >= 0.6, (min(ratios), max(ratios))


def held_for_breakpoints(monkeypatch, specs, steps: int, budget: int) -> list[tuple]:
    """At each offer of a fill, where the most is held for the breakpoints: what they and
    their candidates hold (records; stores and groups past the stores ``allocated_bytes``
    counts; the offer's copies of its candidates, its peak less its ceilings'), with
    ``grows`` for the breakpoints found by then, from the bound on their count (checked to
    be ``fill_terms``' own) and from their count."""
    tables = BreakpointTables(specs)
    tracer = StepTracer(monkeypatch)
    ceilings: list[int] = []
    found: list[tuple[int, int, int]] = []

    def offer(peak, left, args, result):
        copies = left - (ceilings.pop() if ceilings else 0)
        splits, breakpoints = tables.splits, tables.table_breakpoints
        records = owned_bytes([b.found for b in breakpoints.values()])
        stored = owned_bytes([[state.stores, state.groups] for state in splits])
        stored -= sizing.allocated_bytes(tables.layout(tables.capacity, tables.width), 0)
        zones = one_state_budgets(tables.live)
        bound = real = 0
        for spec in tables.live:
            sides = sum(
                (s.option.left == spec.name) + (s.option.right == spec.name) for s in splits
            )
            count = breakpoint_bound(spec, args[0].t0, tables.width, zones)
            bound += breakpoint_bytes(count, sides)
            real += breakpoint_bytes(int(breakpoints[spec.name].count.sum()), sides)
        # the term the estimate reads is this bound: the same count, and every split part
        # reading a table counted once
        assert fill_terms(specs, tables.capacity, tables.width, args[0].t0).grows == bound
        found.append((records + stored + copies, bound, real))

    tracer.wrap(pruning, "ceilings", "offer", lambda peak, *_: ceilings.append(peak))
    tracer.wrap(PrunedMinimum, "run", "copies", offer)
    tracer.fill(tables, steps, budget)
    return found


OFFER_GRID = [  # fills with offers: from PEAK_GRID, and one with groups bounded early
    ("optimal", "msm", True, 2000, 100, 2100, {}),
    ("optimal", "msm", False, 7, 200, 3000, {}),
    ("optimal", "ism", True, 1000, 300, 1500, {}),
    ("paper", "ism", True, 100, 1000, 90, {}),
    ("optimal", "msm", True, 7 / 3, 300, 500, {}),
    ("optimal", "ism", False, 4.5, 500, 600, BOUNDED),
    pytest.param("optimal", "msm", False, 1, 3000, 150, {}, marks=pytest.mark.slow),
    pytest.param("optimal", "ism", False, 4.5, 3000, 120, {}, marks=pytest.mark.slow),
    pytest.param("paper", "msm", True, 1.5, 3000, 900, {}, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("model, strategy, output, alpha, steps, budget, constants", OFFER_GRID)
def test_what_grows_with_the_breakpoints_is_within_its_term_and_near_it(
    monkeypatch, model, strategy, output, alpha, steps, budget, constants
):
    """``grows`` against what the breakpoints and their candidates hold at each offer:
    never above it with the bound on their count the estimate reads, and at some offer at
    least a third of it with their count (``BREAKPOINT_BYTES`` and ``CANDIDATE_BYTES`` are
    what a breakpoint and its candidates hold, not three times as much)."""
    for name, value in constants.items():
        monkeypatch.setattr(chords, name, value)
    specs = specs_of(model, strategy, output, grains_for(alpha))
    held = held_for_breakpoints(monkeypatch, specs, steps, budget)
    assert held
    assert all(h <= bound for h, bound, _ in held), max(h / bound for h, bound, _ in held)
    assert 3 * max(h / real for h, _, real in held) >= 1, [h / real for h, _, real in held]


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_the_terms_read_the_rows_filled_up_to_the_last_one_allocated(model, strategy, output):
    """What grows and the steps' terms depend on the rows filled, not on how many more are
    allocated: a fill to the last row of its set (a fresh set's) counts every row."""
    specs = specs_of(model, strategy, output, grains_for(2))
    for steps in (300, 2000):
        last = fill_terms(specs, steps + 1, 200, steps)
        roomy = fill_terms(specs, 2 * steps, 200, steps)
        assert (last.grows, last.steps) == (roomy.grows, roomy.steps), steps


@pytest.mark.parametrize("y_min", [1, 3])
def test_the_offer_is_counted_from_the_first_windowed_block(monkeypatch, y_min):
    """The offer and bisection terms are in the estimate exactly when the fill may reach a
    windowed block (``windows.windowed``: from row ``y_min + block``), and a fill to that
    row does, in a block of that row alone when the one before ends just before it."""
    use_blocks(monkeypatch, 5)
    spec = TableSpec("C", 1, (Run("C"), Split("C", -1, "C", 2, y_min=y_min)))
    offered = []
    for steps in (y_min + 4, y_min + 5):
        offered.clear()
        tables = BreakpointTables((spec,), on_block=lambda *_: offered.append(True))
        tables.allocate(64, 20)
        tables.ensure(steps - 1, 20)
        tables.ensure(steps, 20)
        terms = fill_terms((spec,), tables.capacity, tables.width, steps).steps
        assert ("offer" in terms) == ("bisected middle" in terms) == bool(offered), steps
    assert offered


@pytest.mark.parametrize("strategy", ["ism", "msm"])
def test_the_bounded_terms_start_where_a_splits_candidates_may_reach_the_fills_threshold(
    monkeypatch, strategy
):
    """A fill bounds a split's groups once they hold ``2 * BOUND_MINIMUM`` candidates per
    column (``chords.offer_groups``), and a split's candidates are at most its parts'
    breakpoints: the estimate counts the bounded steps exactly from where that bound
    reaches the threshold."""
    spec = paper_spec(strategy, grains_for(1))
    steps, width = 3000, 100
    shape = sizing.layout((spec,), steps + 1, width)
    count = breakpoint_bound(spec, steps, width, one_state_budgets(shape.specs))
    splits = [o for o in spec.options if isinstance(o, Split)]
    least_wide = min(
        shape.cols - sizing.first_column({"C": spec}, spec, o, shape.off) for o in splits
    )
    most = 2 * count // (2 * least_wide)  # the largest minimum some split reaches
    exactly = Fraction(2 * count, 2 * least_wide)  # the threshold on the bound itself
    for minimum, counted in ((most, True), (exactly, True), (most + 1, False)):
        monkeypatch.setattr(chords, "BOUND_MINIMUM", minimum)
        terms = fill_terms((spec,), steps + 1, width, steps).steps
        assert ("chords" in terms) == counted, minimum


# ---------------------------------------------------------------------------------------
# The shapes and rules the terms read, against what they stand for.


def least_feasible_budgets(specs, steps: int, width: int) -> dict[str, int | None]:
    """Per table, from the full search: the least budget with a finite entry at some row
    1..``steps`` (None: none up to ``width``)."""
    full = DPTables(specs)
    full.ensure(steps, width)
    least = {}
    for spec in specs:
        rows = entries(full, spec.name, steps, width)[1:]  # infeasible as -1
        feasible = np.flatnonzero((rows >= 0).any(axis=0))
        least[spec.name] = int(feasible[0]) if len(feasible) else None
    return least


# the left part is the last to turn feasible: the split's first column is the left part's
LEFT_PART_LAST = (
    TableSpec("A", 3, (Run("A"),)),
    TableSpec("C", 1, (Run("C"), Split("A", 0, "C", 1))),
)


@pytest.mark.parametrize(
    "specs",
    [specs_of(*c, grains_for(a)) for c in configurations() for a in (1, 2, 4.5)] + [LEFT_PART_LAST],
)
def test_a_splits_first_column_is_the_least_where_both_its_parts_are_feasible(specs):
    """``first_column`` (where a split's candidates, windows and bisection start, and the
    width its terms count from) against the full search: the least budget, from the
    table's own least, where the left part at that budget and the right part at that
    budget less the shift both have finite entries."""
    steps, width = 12, 60
    least = least_feasible_budgets(specs, steps, width)
    shape = sizing.layout(specs, steps + 1, width)
    by_name = {spec.name: spec for spec in specs}
    splits = [(spec, o) for spec in shape.specs for o in spec.options if isinstance(o, Split)]
    assert splits
    for spec, option in splits:
        both = max(spec.min_grains, least[option.left], least[option.right] + option.shift)
        first = sizing.first_column(by_name, spec, option, shape.off)
        assert first - shape.off == both, (spec.name, option)


def test_a_set_with_no_split_counts_nothing_for_splits():
    """A table with no split keeps no split arrays and replaces none: those terms are 0,
    and the estimate still bounds the fill's peak."""
    specs = (TableSpec("C", 1, (Run("C"),)),)
    terms = fill_terms(specs, 401, 200, 400)
    assert (terms.kept, terms.replaced) == (0, 0)
    tables = BreakpointTables(specs)
    estimate = tables.size(400, 200).table_bytes
    assert peak_of_fill(tables, 400, 200) <= estimate


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_the_bounded_terms_are_counted_from_the_first_row_a_fill_bounds_groups(
    monkeypatch, model, strategy, output
):
    """In blocks of one row, with coarse blocks of 16 rows and groups bounded at any
    count, a fill first bounds a split's groups (its chords, group bounds and groups
    beaten) at row 17, when a coarse block's candidates are due: the estimate counts
    those steps exactly for the fills that take them."""
    use_blocks(monkeypatch, 1)
    monkeypatch.setattr(chords, "BOUND_ROWS", 16)
    monkeypatch.setattr(chords, "BOUND_MINIMUM", 0)
    bounded, group_bounds = [], chords.group_bounds

    def bounding(*args):
        bounded.append(True)
        return group_bounds(*args)

    monkeypatch.setattr(chords, "group_bounds", bounding)
    specs = specs_of(model, strategy, output, grains_for(2))
    for steps, taken in ((16, False), (17, True)):
        bounded.clear()
        tables = BreakpointTables(specs)
        tables.ensure(steps, 30)
        assert bool(bounded) == taken, steps
        terms = fill_terms(specs, tables.capacity, tables.width, steps).steps
        for step in ("chords", "group bounds", "groups beaten"):
            assert (step in terms) == taken, (steps, step)


def test_tables_are_int32_up_to_the_rows_of_20000_steps():
    """Costs fit int32 up to 20,000 steps (``limits.table_dtype``): a fresh set asked for
    them is allocated in int32 (half the bytes of int64) and kept for them; one more step
    needs int64."""
    tables = fresh_tables("optimal", "msm", True, 2)
    rows, width = tables.allocation(20_000, 10)
    assert tables.layout(rows, width).dtype == np.int32
    tables.allocate(rows, width)
    assert tables.allocation(20_000, 10) is None and tables.allocation(19_000, 5) is None
    assert tables.layout(*tables.allocation(20_001, 10)).dtype == np.int64


@pytest.mark.parametrize("alpha", [1, 2, 4.5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_the_one_state_zones_are_the_columns_with_a_breakpoint_on_every_row(
    model, strategy, output, alpha
):
    """``one_state_budgets``, which the bound on breakpoints reads, against a fill: from a
    table's least budget with a finite entry at row 2, its zone's columns have a
    breakpoint on every interior row but at most two, and the next column has fewer
    than half as many; a chain (zone 0) has at most two per column (its edges)."""
    steps = 200
    tables = fresh_tables(model, strategy, output, alpha)
    tables.ensure(steps, 40)
    zones = one_state_budgets(tables.live)
    interior = steps - 1
    for spec in tables.live:
        count = tables.table_breakpoints[spec.name].count
        row_2 = tables.tab[spec.name][:, 2]
        start = int(np.flatnonzero(row_2 < tables.inf)[0])
        zone = zones.get(spec.name)
        assert zone is not None, spec.name  # the planner has no table quadratic everywhere
        if zone == 0:
            assert count.max() <= 2, spec.name
            continue
        assert start + zone < tables.cols, spec.name
        assert (count[start : start + zone] >= interior - 2).all(), (spec.name, zone)
        assert count[start + zone] < interior / 2, (spec.name, zone)


# tables that never hold two states: a quadratic one (a Run alone), a chain (a Single
# alone), and two that take the least of both at every entry, through Singles and through
# Sames (each quadratic where the chain is infeasible)
QUADRATIC_BESIDE_A_CHAIN = (
    TableSpec("Q", 1, (Run("Q"),)),
    TableSpec("Ch", 0, (Single("Ch", 1),)),
    TableSpec("X", 1, (Single("Q", 1), Single("Ch", 1))),
    TableSpec("Y", 1, (Same("Q"), Same("Ch"))),
)


@pytest.mark.parametrize("steps", [150, 300])
def test_a_table_reading_a_quadratic_one_is_counted_quadratic(steps):
    """``one_state_budgets`` carries "quadratic" through Singles and Sames: a table that
    reads a quadratic table anywhere in its options may have a breakpoint on every row of
    every column, and the bound on its breakpoints says so; a chain has two per column."""
    tables = BreakpointTables(QUADRATIC_BESIDE_A_CHAIN)
    tables.ensure(steps, 40)
    zones = one_state_budgets(tables.live)
    assert zones == {"Ch": 0}
    for spec in tables.live:
        count = int(tables.table_breakpoints[spec.name].count.sum())
        assert count <= breakpoint_bound(spec, steps, tables.width, zones), spec.name
    assert tables.table_breakpoints["Y"].count.sum() > 10 * tables.cols  # not a chain


def test_the_breakpoint_bound_is_attained_by_a_quadratic_table_and_by_a_chain():
    """The bound's two caps are exact: a table quadratic everywhere has a breakpoint on
    every interior row of each column from its least budget, and a chain long enough to
    turn infeasible in every column has two in each (where it does, on both sides)."""
    tables = BreakpointTables(QUADRATIC_BESIDE_A_CHAIN)
    tables.ensure(40, 40)
    steps = tables.width + 40  # every column of the chain turns infeasible
    tables.ensure(steps, 40)
    zones = one_state_budgets(tables.live)
    for name in ("Q", "Ch"):
        spec = tables.by_name[name]
        count = int(tables.table_breakpoints[name].count.sum())
        assert count == breakpoint_bound(spec, steps, tables.width, zones), name


@pytest.mark.parametrize(
    "model, strategy, output", [("paper", "msm", True), ("optimal", "msm", False)]
)
def test_the_ring_of_recent_rows_is_no_longer_than_a_fill_reads_back(
    monkeypatch, model, strategy, output
):
    """``layout``'s ring holds the rows read back at once, and no more: one row less and
    the breakpoint search reads a row already overwritten (blocks of 5 rows), so the rows
    it records as the last not convex are not those of the table."""
    use_blocks(monkeypatch, 5)
    specs = specs_of(model, strategy, output, grains_for(2))
    assert_nonconvex_rows_are_the_last_rows_not_convex(assert_engines_agree(specs, 150, 30))
    layout = sizing.layout

    def one_row_short(*args):
        shape = layout(*args)
        return shape._replace(ring=shape.ring - 1)

    monkeypatch.setattr(sizing, "layout", one_row_short)
    fast = BreakpointTables(specs)
    fast.ensure(150, 30)
    with pytest.raises(AssertionError):
        assert_nonconvex_rows_are_the_last_rows_not_convex(fast)


# a table whose only option is a split from y = 2: no finite entry at row 2
SPLIT_FROM_2_ALONE = (
    TableSpec("C", 1, (Run("C"), Split("C", 0, "C", 1))),
    TableSpec("Z", 1, (Split("C", 0, "C", 1, y_min=2),)),
)


@pytest.mark.parametrize(
    "specs",
    [specs_of(*c, grains_for(a)) for c in configurations() for a in (1, 2, 4.5, 10)]
    + list(UNUSUAL_TABLE_SETS.values())
    + [QUADRATIC_BESIDE_A_CHAIN, SPLIT_FROM_2_ALONE],
)
def test_the_least_budget_at_row_2_is_read_from_the_options(specs):
    """``row_two_budgets``, where the one-state zones start, against the full search: the
    least budget where row 2 is finite, for the planner's sets and for sets it does not
    build (Singles past the least budget, splits from ``y = 2``, Sames, a table finite
    nowhere at row 2)."""
    width = 80
    full = DPTables(specs)
    full.ensure(2, width)
    budgets = row_two_budgets(specs)
    for spec in specs:
        finite = np.flatnonzero(entries(full, spec.name, 2, width)[2] >= 0)  # infeasible: -1
        assert budgets[spec.name] == (finite[0] if len(finite) else math.inf), spec.name


def test_the_breakpoint_bound_is_0_where_no_breakpoint_can_be():
    """No breakpoint in a fill of rows 0 and 1 (no interior row), nor in a table whose
    least budget is past the width (no finite entry): the bound is 0 there."""
    spec, far = TableSpec("C", 1, (Run("C"),)), TableSpec("F", 1000, (Run("F"),))
    tables = BreakpointTables((spec, far))
    tables.ensure(300, 40)
    width = tables.width
    assert width < far.min_grains and tables.table_breakpoints["F"].count.sum() == 0
    zones = one_state_budgets((spec, far))
    assert breakpoint_bound(far, 300, width, zones) == 0
    assert [breakpoint_bound(spec, steps, width, zones) for steps in (0, 1)] == [0, 0]


def test_a_set_none_of_whose_options_fits_the_width_is_filled_from_its_first_rows():
    """At a width below every shift no option is kept: rows 0 and 1 alone are finite, no
    column is put in front of budget 0 besides the one every set has, and every entry
    equals the full search's."""
    specs = UNUSUAL_TABLE_SETS["internal split only"]
    shape = sizing.layout(specs, 40, 1)
    assert shape.specs[0].options == () and shape.off == 1
    assert_engines_agree(specs, 30, 1)
