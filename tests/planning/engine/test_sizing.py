"""Sizing: the arrays a set allocates are counted exactly, the estimate of a fill bounds
its measured peak, and options whose shift is past the width are left out."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from mini_bptt.planning.engine import BreakpointTables, best_split_option
from mini_bptt.planning.engine.reference import DPTables, best_option
from mini_bptt.planning.engine.sizing import (
    breakpoint_bound,
    one_state_budgets,
    split_kept_bytes,
)
from mini_bptt.planning.units import grains_for
from tests.planning.engine.common import specs_of


def fresh_tables(model, strategy, output, alpha) -> BreakpointTables:
    return BreakpointTables(specs_of(model, strategy, output, grains_for(alpha)))


def arrays_of(tables) -> int:
    """Bytes of every array a table set holds (each buffer once, views not counted)."""
    seen, total, stack = set(), 0, [vars(tables)]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            owner = item if item.base is None else item.base
            while isinstance(owner, np.ndarray) and owner.base is not None:
                owner = owner.base
            if isinstance(owner, np.ndarray) and id(owner) not in seen:
                seen.add(id(owner))
                total += owner.nbytes
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__") and type(item).__module__.startswith("mini_bptt"):
            stack.append(vars(item))
    return total


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
    ("optimal", "ism", True, 1000, 300, 1500),
    ("paper", "ism", True, 100, 1000, 90),
    ("optimal", "msm", True, 7 / 3, 300, 500),
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
    tracemalloc.start()
    try:
        tables.ensure(steps, budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
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
    ("optimal", s, True) for s in ("ism", "msm")
] + [
    pytest.param("optimal", s, False, marks=pytest.mark.slow) for s in ("ism", "msm")
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


def array_bytes(value) -> int:
    if isinstance(value, tuple):
        return sum(array_bytes(part) for part in value)
    return getattr(value, "nbytes", 0)


@pytest.mark.parametrize(
    ("model", "strategy", "output", "alpha", "steps", "budget"),
    [
        ("optimal", "msm", True, 2, 600, 120),
        ("optimal", "msm", False, 1, 800, 60),
        ("paper", "msm", True, 2, 600, 120),
        ("optimal", "ism", True, 4.5, 300, 2000),
    ],
)
def test_what_a_split_keeps_between_blocks_is_within_its_term_and_near_it(
    model, strategy, output, alpha, steps, budget
):
    """``split_kept_bytes``, one term of ``fill_bytes``, against the arrays each split
    really holds at every block of a fill: never above it, and at some block within 30%."""
    ratios = []

    def on_block(tables, state, t0):
        held = sum(
            array_bytes(getattr(state, name))
            for name in ("left_plus_y", "right_minus_j", "best_so_far", "middle", "bisected")
        )
        item = np.dtype(tables.dtype).itemsize
        bound = split_kept_bytes(tables.block, tables.cols, tables.cols - state.first, item)
        ratios.append(held / bound)

    specs = specs_of(model, strategy, output, grains_for(alpha))
    BreakpointTables(specs, on_block=on_block).ensure(steps, budget)
    assert ratios and max(ratios) <= 1 and max(ratios) >= 0.7, (min(ratios), max(ratios))
