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
from mini_bptt.planning.time_model import dp_seconds


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
    return DPSize(table_bytes, dp_seconds(tables, splits, steps, columns, table_bytes))


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
