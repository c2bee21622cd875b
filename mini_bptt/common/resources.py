"""The resource limits in force: one set per thread and task, changed only inside a block.

Every layer sizes its work against these before allocating or waiting: cells and
heads their arrays (``array_bytes``), the planner its DP (``table_bytes``,
``seconds``, ``actions``), the checker its optional optimum (``check_seconds``) and
the trace files it reads (``input_bytes``). Past a limit the request is refused with
``ResourceLimitError`` (a ``ValueError``) saying what it would need; nothing is
clamped and nothing is half-computed.

Defaults: DP tables up to half of the memory the machine has available, an estimated
DP time up to 10 minutes, 10^8 actions, 10 s for the optional optimum of ``check``,
1 GiB of trace file, and 2 GiB for the arrays of one cell, head or input set. Change
them for a block of code with ``resource_limits(...)``, or for a process with the
environment variables ``MINI_BPTT_TABLE_BYTES``, ``MINI_BPTT_SECONDS``,
``MINI_BPTT_ACTIONS``, ``MINI_BPTT_CHECK_SECONDS``, ``MINI_BPTT_INPUT_BYTES`` and
``MINI_BPTT_ARRAY_BYTES``.

The limits live in a ``contextvars.ContextVar``: a ``resource_limits`` block changes
them for its own thread (or asyncio task) only, and leaving it restores exactly the
value it replaced, whatever other blocks did meanwhile elsewhere.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import operator
import os
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace

from mini_bptt.common.arguments import ResourceLimitError, available_memory, parse_decimal, shown

# limits counted in whole things (bytes, actions); the others are seconds
INTEGER_LIMITS = ("table_bytes", "actions", "input_bytes", "array_bytes")


@dataclass(frozen=True)
class Limits:
    """``table_bytes``: every array a DP fill allocates; ``seconds``: estimated DP time for
    ``plan``/``cost``; ``actions``: length of a plan's action list; ``check_seconds``:
    estimated DP time ``check`` may spend on the optional optimum (it reports none
    beyond); ``input_bytes``: bytes of a trace file ``mini-bptt check`` reads;
    ``array_bytes``: bytes of the arrays one cell, head, state or input set allocates."""

    table_bytes: int
    seconds: float
    actions: int
    check_seconds: float
    input_bytes: int
    array_bytes: int


DEFAULT_SECONDS = 600.0
DEFAULT_ACTIONS = 10**8
DEFAULT_CHECK_SECONDS = 10.0
DEFAULT_INPUT_BYTES = 2**30
DEFAULT_ARRAY_BYTES = 2 * 2**30
ENVIRONMENT = {field.name: f"MINI_BPTT_{field.name.upper()}" for field in fields(Limits)}

_active: contextvars.ContextVar[Limits | None] = contextvars.ContextVar(
    "mini_bptt_limits", default=None
)


def checked_limit(name: str, value: object) -> int | float:
    """``value`` as the limit ``name``: a positive integer for a count of bytes or actions
    (any integer type, not bool), a positive finite number for seconds."""
    if isinstance(value, bool):
        raise TypeError(f"resource limit {name} must be a positive number, got {shown(value)}")
    if name in INTEGER_LIMITS:
        try:
            count = operator.index(value)
        except TypeError:
            raise TypeError(
                f"resource limit {name} must be a positive integer, got {shown(value)}"
            ) from None
        if count <= 0:
            raise ValueError(
                f"resource limit {name} must be a positive integer, got {shown(value)}"
            )
        return count
    if not isinstance(value, numbers.Real):
        raise TypeError(f"resource limit {name} must be a positive number, got {shown(value)}")
    seconds = float(value)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"resource limit {name} must be a positive number, got {shown(value)}")
    return seconds


def _from_environment(name: str, default: int | float) -> int | float:
    variable = ENVIRONMENT[name]
    text = os.environ.get(variable)
    if text is None:
        return default
    accepted = "a positive integer" if name in INTEGER_LIMITS else "a positive number"
    try:
        value = parse_decimal(f"environment variable {variable}", text)
    except ValueError as exc:
        raise ValueError(f"{exc}; it must be {accepted}") from None
    if value <= 0 or (name in INTEGER_LIMITS and value.denominator != 1):
        raise ValueError(f"environment variable {variable} must be {accepted}, got {text!r}")
    return int(value) if name in INTEGER_LIMITS else float(value)


def default_limits() -> Limits:
    """The limits outside any ``resource_limits`` block: the environment's, else the defaults."""
    return Limits(
        table_bytes=_from_environment("table_bytes", available_memory() // 2),
        seconds=_from_environment("seconds", DEFAULT_SECONDS),
        actions=_from_environment("actions", DEFAULT_ACTIONS),
        check_seconds=_from_environment("check_seconds", DEFAULT_CHECK_SECONDS),
        input_bytes=_from_environment("input_bytes", DEFAULT_INPUT_BYTES),
        array_bytes=_from_environment("array_bytes", DEFAULT_ARRAY_BYTES),
    )


def current() -> Limits:
    """The limits in force in this thread or task: the innermost ``resource_limits`` block,
    else the defaults."""
    return _active.get() or default_limits()


@contextlib.contextmanager
def resource_limits(**changes: int | float) -> Iterator[Limits]:
    """Change some resource limits inside a ``with`` block, for this thread or task only.

    Parameters
    ----------
    table_bytes : int, optional
        Bytes a DP fill may allocate, tables and working arrays (default: half the
        available memory).
    seconds : float, optional
        Estimated DP time ``plan``/``cost`` may spend (default 600).
    actions : int, optional
        Length of an action list ``plan`` may build (default 10**8).
    check_seconds : float, optional
        Estimated DP time ``check`` may spend on the optimum it reports (default 10).
    input_bytes : int, optional
        Bytes of a trace file ``mini-bptt check`` reads (default 1 GiB).
    array_bytes : int, optional
        Bytes of the arrays one cell, head, state or input set allocates (default 2 GiB).

    Returns
    -------
    context manager
        Yields the ``Limits`` in force inside the block.

    Raises
    ------
    TypeError
        For an unknown limit name, or a value that is not a number (an integer for
        bytes and actions).
    ValueError
        For a limit that is not positive and finite.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> with mb.resource_limits(actions=100):
    ...     mb.plan(100, 3, strategy="hsm")
    Traceback (most recent call last):
    ...
    mini_bptt.ResourceLimitError: ... 690 actions, over the limit of 100; ...
    """
    accepted = [field.name for field in fields(Limits)]
    for name in changes:
        if name not in accepted:
            raise TypeError(f"resource_limits takes {', '.join(accepted)}; got {name!r}")
    checked = {name: checked_limit(name, value) for name, value in changes.items()}
    limits = replace(current(), **checked)
    token = _active.set(limits)
    try:
        yield limits
    finally:
        _active.reset(token)


def require_bytes(what: str, nbytes: int) -> None:
    """Refuse, before allocating, arrays of ``nbytes`` past the ``array_bytes`` limit."""
    limit = current().array_bytes
    if nbytes > limit:
        raise ResourceLimitError(
            f"{what} would need {shown_bytes(nbytes)}, over the limit of {shown_bytes(limit)} "
            "(raise it with mini_bptt.resource_limits(array_bytes=...) or "
            f"{ENVIRONMENT['array_bytes']})"
        )


def shown_bytes(count: int) -> str:
    """A byte count for a message: KiB to TiB with three digits, a huge one abbreviated."""
    if count >= 2**60:
        return f"{shown(count)} bytes"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count:.0f} bytes"
