"""What a DP request would take, against the resource limits in force.

``plan``, ``cost``, ``check`` and the CLI ask here first. A DP fill, an action list or
an estimated running time past the limits raises ``ResourceLimitError`` (a
``ValueError``) that says what the request would need and what to do instead; nothing
is clamped and nothing is half-computed. The limits themselves, their defaults and
``resource_limits`` are in ``mini_bptt.common.resources``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mini_bptt.common.arguments import shown
from mini_bptt.common.resources import (
    Limits,
    ResourceLimitError,
    current,
    resource_limits,
    shown_bytes,
)

# Time model of the breakpoint DP: per row and table a fixed part (the row's NumPy calls);
# per split and entry a part (the windows of a block's rows, in every column); and per
# split the candidates it reads, whose number per column grows like sqrt(t) (slopes drawn
# in integer increments, the quadratic one-slot columns), so t^1.5 over the rows. Fitted
# to 26 cold requests (T = 1000 to 10^5, alpha 1 to 10, ISM and MSM, both models, both
# flags) on a 2-core Intel Xeon VM, then multiplied by 1.25 so that it errs long: on 27
# requests (bench/bench_time_model.py, which also refits) it was 0.84x to 2.13x the
# measured time. An estimate for refusing hour-long requests, not a promise.
SECONDS_PER_TABLE_ROW = 2.5e-5
SECONDS_PER_SPLIT_ENTRY = 4.5e-8
SECONDS_PER_SPLIT_CANDIDATE = 3.5e-8  # times t^1.5 * sqrt(columns) per split
# ... and per byte of the fill, the time to make its arrays (fresh pages): alone it is what
# a request of few rows and a million columns takes (alpha = 10**6 with a budget past it:
# 6.7 s of 9.5 s in np.full for 3.7 GB). np.full of fresh memory took 0.4 to 3 ns per byte
# on the 2-core VM
SECONDS_PER_BYTE = 2e-9


def table_dtype(steps: int):
    """The integer type of DP tables up to ``steps`` rows: int32 halves memory traffic, and
    costs stay below t(t+1)/2 < 2**28 up to 23,000 steps."""
    return np.int32 if steps <= 20_000 else np.int64


def infinity(dtype) -> int:
    """The entry of an infeasible budget in tables of type ``dtype``: above every cost,
    t(t+1)/2, and two of them plus ``t`` still fit the type (a split adds two entries)."""
    return 2**28 if dtype == np.int32 else 2**60


@dataclass(frozen=True)
class DPSize:
    """What filling DP tables would take: ``table_bytes``, every byte the fill holds at its
    peak (the tables and all its working arrays; the ``table_bytes`` limit is compared
    with it), and the estimated ``seconds``."""

    table_bytes: int
    seconds: float


def dp_size(
    tables: int,
    splits: int,
    steps: int,
    columns: int,
    stored_rows: int = 0,
    working_bytes: int = 0,
) -> DPSize:
    """Bytes and time (estimated) of filling ``tables`` tables of ``steps + 1`` rows and
    ``columns`` columns with ``splits`` split options in all, each stored with
    ``stored_rows`` rows if more (rows that are never filled, for alignment): the tables'
    bytes (exact) plus ``working_bytes``, the engine's bound on everything else the fill
    holds at once (``BreakpointTables.fill_bytes``)."""
    rows = max(steps + 1, stored_rows)
    table_bytes = tables * rows * columns * np.dtype(table_dtype(steps)).itemsize
    table_bytes += working_bytes
    if steps > 10**12 or columns > 10**12:  # far past any limit; floats would overflow
        return DPSize(table_bytes, math.inf)
    constants = (SECONDS_PER_TABLE_ROW, SECONDS_PER_SPLIT_ENTRY, SECONDS_PER_SPLIT_CANDIDATE)
    terms = time_terms(tables, splits, steps, columns)
    seconds = sum(c * term for c, term in zip(constants, terms, strict=True))
    return DPSize(table_bytes, seconds + SECONDS_PER_BYTE * table_bytes)


def time_terms(tables: int, splits: int, steps: int, columns: int) -> tuple[float, ...]:
    """The time model's terms, each to be multiplied by its constant (seconds per table row,
    per split entry, per split candidate; see above)."""
    return (tables * steps, splits * steps * columns, splits * steps**1.5 * math.sqrt(columns))


def fits(size: DPSize, seconds: float, limits: Limits | None = None) -> str:
    """Why ``size`` does not fit the limits (with ``seconds`` as the time limit), or ""."""
    limits = limits or current()
    if size.table_bytes > limits.table_bytes:
        return (
            f"its DP tables would need {shown_bytes(size.table_bytes)}, over the limit of "
            f"{shown_bytes(limits.table_bytes)}"
        )
    if size.seconds > seconds:
        return (
            f"its DP would take {_duration(size.seconds)}, over the limit of {_duration(seconds)}"
        )
    return ""


def require_actions(count: int, what: str) -> None:
    """Refuse to build an action list of ``count`` actions past the limit."""
    limit = current().actions
    if count > limit:
        raise ResourceLimitError(
            f"{what} would have about {shown(count)} actions, over the limit of {shown(limit)}; "
            "use cost() (or 'mini-bptt table') for its forward count, or fewer steps"
        )


def _duration(seconds: float) -> str:
    if seconds == math.inf:
        return "longer than anyone can wait"
    if seconds >= 86400:
        return f"{seconds / 86400:.3g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} hours"
    if seconds >= 60:
        return f"{seconds / 60:.3g} minutes"
    return f"{seconds:.2g} s"


__all__ = ["Limits", "ResourceLimitError", "current", "resource_limits"]
