"""How long work takes here: the one time model behind every "this would take too long".

Two estimates, each an upper-leaning guess for refusing hour-long requests before they
start, never a promise:

- ``dp_seconds``: filling the breakpoint DP's tables (``plan``, ``cost``, ``check``);
- ``execution_seconds``: running a plan on a cell (``mini-bptt run``).

Where the constants come from is in ``docs/engine.md`` and ``bench/bench_time_model.py``
(which measures and refits the DP's).
"""

from __future__ import annotations

import math

# The DP, per row and table: a fixed part (the row's NumPy calls); per split and entry: the
# windows of a block's rows, in every column; per split: the candidates it reads, whose
# number per column grows like sqrt(t), so t^1.5 over the rows; per byte: making the
# arrays (fresh pages). Fitted to cold requests and multiplied by 1.25 so that it errs long.
SECONDS_PER_TABLE_ROW = 2.5e-5
SECONDS_PER_SPLIT_ENTRY = 4.5e-8
SECONDS_PER_SPLIT_CANDIDATE = 3.5e-8  # times t^1.5 * sqrt(columns) per split
SECONDS_PER_BYTE = 2e-9

# A cell step with NumPy: one forward is 2 * batch * (input + hidden) * (gates * hidden)
# flops, a reverse step about twice that, at about 2e9 flop/s (measured with tracemalloc on)
FLOPS_PER_SECOND = 2e9


def time_terms(tables: int, splits: int, steps: int, columns: int) -> tuple[float, ...]:
    """The DP model's terms, each to be multiplied by its constant (seconds per table row,
    per split entry, per split candidate)."""
    return (tables * steps, splits * steps * columns, splits * steps**1.5 * math.sqrt(columns))


def dp_seconds(tables: int, splits: int, steps: int, columns: int, table_bytes: int) -> float:
    """Estimated seconds to fill ``tables`` tables of ``steps + 1`` rows and ``columns``
    columns with ``splits`` split options in all, holding ``table_bytes`` bytes."""
    if steps > 10**12 or columns > 10**12:  # far past any limit; floats would overflow
        return math.inf
    constants = (SECONDS_PER_TABLE_ROW, SECONDS_PER_SPLIT_ENTRY, SECONDS_PER_SPLIT_CANDIDATE)
    terms = time_terms(tables, splits, steps, columns)
    seconds = sum(c * term for c, term in zip(constants, terms, strict=True))
    return seconds + SECONDS_PER_BYTE * table_bytes


def execution_seconds(
    batch: int, input_size: int, hidden_size: int, gates: int, forwards: int, steps: int
) -> float:
    """Estimated seconds to run ``forwards`` forward steps and ``steps`` reverse steps of a
    cell with ``gates`` gates (1 for the RNN, 4 for the LSTM) on a batch of ``batch``."""
    flops = 2 * batch * (input_size + hidden_size) * gates * hidden_size
    return flops * (forwards + 2 * steps) / FLOPS_PER_SECOND
