"""The plan and trace JSON format (docs/model.md, *Plan and trace JSON*): one writer, one reader.

``Plan.to_json``, ``Recorder.to_json`` and ``Recorder.write`` write with ``trace_text``;
``Plan.from_json`` and ``mini-bptt check`` read with ``load_trace``. Numbers are written
exactly: an int as an int, a float as a float, any other rational as the text ``"p/q"``,
so that reading a file gives back the very budget and alpha that wrote it.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from mini_bptt.common.arguments import MAX_COUNT, count, parse_decimal, shown
from mini_bptt.planning.actions import Action, plain_step
from mini_bptt.planning.units import plain_number

FORMAT = "mini_bptt.trace/2"
READABLE_FORMATS = (FORMAT, "mini_bptt.plan/1")  # plan/1: the same fields, no "p/q" numbers
# No field holds an integer this long (counts stop at 10**100, budgets at 10**120): longer
# digit runs are refused before int() sees them, so a file cannot ask for a huge integer.
MAX_DIGITS = 130

Number = int | float | Fraction


@dataclass(frozen=True)
class Trace:
    """A plan or trace as read from JSON: what ``check`` needs, and a plan's labels and
    counts when the file has them (None when absent).

    ``actions`` holds an ``Action`` for every ``{"op", "step"}`` object, and any other item
    as read, so that ``check`` judges it and names its index (a broken action makes a
    trace invalid, not unreadable).
    """

    steps: int
    memory: Number | str
    alpha: Number
    internal_has_output: bool
    actions: tuple
    strategy: str | None = None
    model: str | None = None
    forward_count: int | None = None
    peak_memory: Number | None = None


def trace_dict(
    steps: int,
    memory: Number | str,
    alpha: Number,
    internal_has_output: bool,
    actions: Iterable,
    *,
    strategy: str | None = None,
    model: str | None = None,
    forward_count: int | None = None,
    peak_memory: Number | None = None,
) -> dict:
    """The JSON object of a plan or trace; the optional fields only when given."""
    data = {
        "format": FORMAT,
        "steps": _json_number("steps", steps),
        "memory": memory if isinstance(memory, str) else _json_number("memory", memory),
        "alpha": _json_number("alpha", alpha),
        "internal_has_output": internal_has_output,
    }
    optional = {
        "strategy": strategy,
        "model": model,
        "forward_count": forward_count,
        "peak_memory": peak_memory,
    }
    for key, value in optional.items():
        if value is not None:
            data[key] = value if isinstance(value, str) else _json_number(key, value)
    data["actions"] = [{"op": _json_value(a.op), "step": _json_value(a.step)} for a in actions]
    return data


def trace_text(*args, **kwargs) -> str:
    """``trace_dict(...)`` as JSON text (the same arguments)."""
    return json.dumps(trace_dict(*args, **kwargs))


def load_trace(text: str) -> Trace:
    """Read a plan or trace from JSON text; raise ``ValueError``/``TypeError`` naming the
    field that is missing or of the wrong type. Values are judged by ``check`` and ``Plan``.

    Examples
    --------
    >>> trace = load_trace(
    ...     '{"steps": 2, "memory": "7/3", "actions": [{"op": "forward", "step": 1}]}'
    ... )
    >>> trace.memory, trace.alpha, trace.actions, trace.strategy
    (Fraction(7, 3), 1, (Action(op='forward', step=1),), None)
    >>> load_trace('{"steps": true, "memory": 1, "actions": []}')
    Traceback (most recent call last):
    ...
    TypeError: trace field "steps" must be an integer >= 1, got True
    """
    if not isinstance(text, str):
        raise TypeError(f"trace text must be a str, got {type(text).__name__}")
    data = _parse(text)
    if not isinstance(data, dict):
        raise ValueError(f"trace JSON must be an object, got {type(data).__name__}")
    missing = [key for key in ("steps", "memory", "actions") if key not in data]
    if missing:
        raise ValueError(f"trace JSON lacks the fields {', '.join(missing)}")
    form = data.get("format", FORMAT)
    if form not in READABLE_FORMATS:
        names = " or ".join(f'"{name}"' for name in READABLE_FORMATS)
        raise ValueError(f'trace field "format" must be {names} (or absent), got {shown(form)}')
    actions = data["actions"]
    if not isinstance(actions, list):
        raise TypeError(f'trace field "actions" must be a list, got {type(actions).__name__}')
    return Trace(
        steps=_count("steps", data["steps"], minimum=1),
        memory=_memory(data["memory"]),
        alpha=_number("alpha", data.get("alpha", 1)),
        internal_has_output=_flag(data.get("internal_has_output", True)),
        actions=tuple(_action(item) for item in actions),
        strategy=_label("strategy", data.get("strategy")),
        model=_label("model", data.get("model")),
        forward_count=_count("forward_count", data.get("forward_count"), minimum=0),
        peak_memory=_number("peak_memory", data.get("peak_memory")),
    )


# -- writing ------------------------------------------------------------------------------


def _json_number(name: str, value: numbers.Real) -> int | float | str:
    """An exact JSON form of a number: int, float, or "p/q" text for other rationals."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number to be written as JSON, got {shown(value)}")
    plain = plain_number(value)
    if abs(plain) > 10 ** (MAX_DIGITS - 1) or (
        isinstance(plain, Fraction) and plain.denominator > 10 ** (MAX_DIGITS - 1)
    ):
        raise ValueError(f"{name} must have at most {MAX_DIGITS - 1} digits, got {shown(value)}")
    return f"{plain.numerator}/{plain.denominator}" if isinstance(plain, Fraction) else plain


def _json_value(value: object) -> object:
    """An action's op or step: as is when JSON holds it exactly, else as shown in errors
    (the one broken action a closed Recorder writes may carry anything)."""
    if value is None or isinstance(value, bool | str | float):
        return value
    step = plain_step(value)
    if isinstance(step, int) and abs(step) <= MAX_COUNT:
        return step
    return shown(value)


# -- reading ------------------------------------------------------------------------------


def _parse(text: str) -> object:
    try:
        return json.loads(text, parse_int=_int, object_pairs_hook=_object)
    except json.JSONDecodeError as error:
        raise ValueError(f"trace is not valid JSON: {error}") from None
    except RecursionError:
        raise ValueError("trace JSON nests too deeply to read") from None


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise json.JSONDecodeError(
            f"an integer of {len(digits)} digits, more than any field takes ({MAX_DIGITS})",
            digits[:20],
            0,
        )
    return int(digits)


def _object(pairs: list[tuple[str, object]]) -> dict:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen = [key for index, (key, _) in enumerate(pairs) if key in dict(pairs[:index])]
        raise json.JSONDecodeError(f"the key {shown(seen[0])} appears twice", "", 0)
    return data


def _count(name: str, value: object, *, minimum: int) -> int | None:
    if value is None and name != "steps":
        return None
    return count(f'trace field "{name}"', value, minimum=minimum)


def _number(name: str, value: object) -> Number | None:
    """A JSON number, or a "p/q" (or decimal) text for an exact rational."""
    if value is None and name == "peak_memory":
        return None
    if isinstance(value, str):
        return plain_number(parse_decimal(f'trace field "{name}"', value))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f'trace field "{name}" must be a number or text like "7/3", got {shown(value)}'
        )
    return value


def _memory(value: object) -> Number | str:
    if isinstance(value, str) and value.strip().endswith("%"):
        return value  # a percentage of full BPTT's peak: ``check`` reads it with the steps
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(
            f'trace field "memory" must be a number of units, text like "7/3" or a '
            f'percentage like "5%", got {shown(value)}'
        )
    return _number("memory", value)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f'trace field "internal_has_output" must be true or false, got {shown(value)}'
        )
    return value


def _label(name: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f'trace field "{name}" must be text, got {shown(value)}')
    return value


def _action(item: object) -> object:
    if isinstance(item, dict) and set(item) >= {"op", "step"}:
        return Action(item["op"], item["step"])
    return item
