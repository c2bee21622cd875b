"""The trace checker: validate any implementation's actions against SPEC 3.1.

It is the executor's replay without arrays: the same ``Replay`` decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mini_bptt.cells import _checks
from mini_bptt.planning.plan import cost, parse_memory, to_action
from mini_bptt.planning.replay import PlanError, Replay
from mini_bptt.planning.units import units_for


@dataclass(frozen=True)
class CheckResult:
    """Verdict on a trace. Counts cover the actions up to the first error.

    optimal_forward_count: the optimal model's MSM cost for the same steps,
    memory, alpha and flag; overhead = forward_count / optimal_forward_count.
    """

    valid: bool
    errors: list[str]
    forward_count: int
    peak_memory: int | float
    optimal_forward_count: int
    overhead: float


def check(
    actions: Iterable,
    *,
    steps: int,
    memory: int | float | str,
    alpha: int | float = 1.0,
    internal_has_output: bool = True,
) -> CheckResult:
    """Replay ``actions`` (Actions, {"op", "step"} dicts or (op, step) pairs) and judge them."""
    steps = _checks.positive_int("steps", steps)
    units = units_for(alpha)
    budget = parse_memory(memory, steps, units)
    optimal = cost(steps, memory, alpha=alpha, internal_has_output=internal_has_output)
    replay = Replay(steps, units, units.to_units(budget), internal_has_output)
    errors: list[str] = []
    if isinstance(actions, str | bytes) or not isinstance(actions, Iterable):
        raise TypeError(f"actions must be a sequence of actions, got {type(actions).__name__}")
    items = list(actions)
    try:
        for index, item in enumerate(items):
            try:
                action = to_action(item)
            except TypeError as exc:
                raise PlanError(index, "?", "?", str(exc)) from None
            replay.apply(index, action.op, action.step)
        replay.finish(len(items))
    except PlanError as exc:
        errors.append(str(exc))
    return CheckResult(
        valid=not errors,
        errors=errors,
        forward_count=replay.forward_count,
        peak_memory=units.to_memory(replay.peak),
        optimal_forward_count=optimal,
        overhead=replay.forward_count / optimal,
    )
