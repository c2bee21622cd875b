"""Resource limits: every request is sized before anything is allocated.

``plan``, ``cost``, ``check`` and the CLI ask here first. A DP table, an action
list or an estimated running time past the limits raises ``ResourceLimitError``
(a ``ValueError``) that says what the request would need and what to do instead;
nothing is clamped and nothing is half-computed.

Defaults: tables up to half of the memory the machine has available, an
estimated DP time up to 10 minutes, 10^8 actions, and 10 s for the optional
optimum that ``check`` reports. Change them for a block of code with
``resource_limits(table_bytes=..., seconds=..., actions=..., check_seconds=...)``,
or for a process with the environment variables ``MINI_BPTT_TABLE_BYTES``,
``MINI_BPTT_SECONDS``, ``MINI_BPTT_ACTIONS`` and ``MINI_BPTT_CHECK_SECONDS``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from mini_bptt.cells._checks import available_memory, shown

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


def table_dtype(steps: int):
    """The integer type of DP tables up to ``steps`` rows: int32 halves memory traffic, and
    costs stay below t(t+1)/2 < 2**28 up to 23,000 steps."""
    return np.int32 if steps <= 20_000 else np.int64


def infinity(dtype) -> int:
    """The entry of an infeasible budget in tables of type ``dtype``: above every cost,
    t(t+1)/2, and two of them plus ``t`` still fit the type (a split adds two entries)."""
    return 2**28 if dtype == np.int32 else 2**60


class ResourceLimitError(ValueError):
    """A request would need more memory, time or actions than the limits allow."""


@dataclass(frozen=True)
class Limits:
    """``table_bytes``: DP tables; ``seconds``: estimated DP time for ``plan``/``cost``;
    ``actions``: length of a plan's action list; ``check_seconds``: estimated DP time
    ``check`` may spend on the optional optimum (it reports none beyond)."""

    table_bytes: int
    seconds: float
    actions: int
    check_seconds: float


def _from_environment(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"environment variable {name} must be a positive number, got {text!r}")
    return value


def default_limits() -> Limits:
    return Limits(
        table_bytes=int(_from_environment("MINI_BPTT_TABLE_BYTES", available_memory() // 2)),
        seconds=_from_environment("MINI_BPTT_SECONDS", 600.0),
        actions=int(_from_environment("MINI_BPTT_ACTIONS", 10**8)),
        check_seconds=_from_environment("MINI_BPTT_CHECK_SECONDS", 10.0),
    )


_active: list[Limits] = []


def current() -> Limits:
    """The limits in force: the innermost ``resource_limits`` block, else the defaults."""
    return _active[-1] if _active else default_limits()


@contextlib.contextmanager
def resource_limits(**changes: float) -> Iterator[Limits]:
    """Change some resource limits inside a ``with`` block.

    Parameters
    ----------
    table_bytes : int, optional
        Bytes of DP tables a request may allocate (default: half the available memory).
    seconds : float, optional
        Estimated DP time ``plan``/``cost`` may spend (default 600).
    actions : int, optional
        Length of an action list ``plan`` may build (default 10**8).
    check_seconds : float, optional
        Estimated DP time ``check`` may spend on the optimum it reports (default 10).

    Returns
    -------
    context manager
        Yields the ``Limits`` in force inside the block.

    Raises
    ------
    TypeError
        For an unknown limit name.
    ValueError
        For a limit that is not a positive number.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> with mb.resource_limits(actions=100):
    ...     mb.plan(100, 3, strategy="hsm")
    Traceback (most recent call last):
    ...
    mini_bptt.planning.limits.ResourceLimitError: ... 690 actions, over the limit of 100; ...
    """
    for name, value in changes.items():
        if name not in Limits.__dataclass_fields__:
            accepted = ", ".join(Limits.__dataclass_fields__)
            raise TypeError(f"resource_limits takes {accepted}; got {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"resource limit {name} must be a positive number, got {value!r}")
    limits = replace(current(), **changes)
    _active.append(limits)
    try:
        yield limits
    finally:
        _active.pop()


@dataclass(frozen=True)
class DPSize:
    """What filling DP tables would take: their bytes and the estimated seconds."""

    table_bytes: int
    seconds: float


def dp_size(tables: int, splits: int, steps: int, columns: int, stored_rows: int = 0) -> DPSize:
    """Bytes (exact) and time (estimated) of ``tables`` tables of ``steps + 1`` rows and
    ``columns`` columns with ``splits`` split options in all, each stored with
    ``stored_rows`` rows if more (rows that are never filled, for alignment)."""
    rows = max(steps + 1, stored_rows)
    table_bytes = tables * rows * columns * np.dtype(table_dtype(steps)).itemsize
    if steps > 10**12 or columns > 10**12:  # far past any limit; floats would overflow
        return DPSize(table_bytes, math.inf)
    constants = (SECONDS_PER_TABLE_ROW, SECONDS_PER_SPLIT_ENTRY, SECONDS_PER_SPLIT_CANDIDATE)
    terms = time_terms(tables, splits, steps, columns)
    return DPSize(table_bytes, sum(c * term for c, term in zip(constants, terms, strict=True)))


def time_terms(tables: int, splits: int, steps: int, columns: int) -> tuple[float, ...]:
    """The time model's terms, each to be multiplied by its constant (seconds per table row,
    per split entry, per split candidate; see above)."""
    return (tables * steps, splits * steps * columns, splits * steps**1.5 * math.sqrt(columns))


def fits(size: DPSize, seconds: float, limits: Limits | None = None) -> str:
    """Why ``size`` does not fit the limits (with ``seconds`` as the time limit), or ""."""
    limits = limits or current()
    if size.table_bytes > limits.table_bytes:
        return (
            f"its DP tables would need {_bytes(size.table_bytes)}, over the limit of "
            f"{_bytes(limits.table_bytes)}"
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


def _bytes(count: int) -> str:
    if count >= 2**60:
        return f"{shown(count)} bytes"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count:.0f} bytes"


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
