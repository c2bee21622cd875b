"""The public planner: ``plan`` and ``cost`` (SPEC section 5) and the ``Plan`` value."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from mini_bptt.cells import _checks
from mini_bptt.planning.actions import OPS, Action
from mini_bptt.planning.baselines import BASELINES
from mini_bptt.planning.dp_optimal import optimal_actions, optimal_cost
from mini_bptt.planning.dp_paper import paper_actions, paper_cost
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.planning.replay import Replay
from mini_bptt.planning.units import Units, units_for

STRATEGIES = ("bptt", "recompute", "hsm", "ism", "msm", "chen", "chen-recursive")
DP_STRATEGIES = ("hsm", "ism", "msm")
MODELS = ("optimal", "paper")
FORMAT = "mini_bptt.plan/1"

Progress = Callable[[int, int], None]


class InfeasibleMemoryError(ValueError):
    """The memory budget is below the smallest any plan of the strategy needs."""


@dataclass(frozen=True)
class Plan:
    """A plan: the actions realising a strategy for (steps, memory, alpha), and its exact counts.

    ``forward_count`` and ``peak_memory`` (hidden-state units) come from replaying
    ``actions`` under SPEC 3.1.
    """

    steps: int
    memory: int | float
    alpha: int | float
    internal_has_output: bool
    strategy: str
    model: str
    actions: tuple[Action, ...]
    forward_count: int
    peak_memory: int | float

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "steps": self.steps,
            "memory": self.memory,
            "alpha": self.alpha,
            "internal_has_output": self.internal_has_output,
            "strategy": self.strategy,
            "model": self.model,
            "forward_count": self.forward_count,
            "peak_memory": self.peak_memory,
            "actions": [a.to_dict() for a in self.actions],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Load a plan written by ``to_json``; its counts are replayed and must match."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'plan JSON must be an object with "format": "{FORMAT}"')
        missing = [k for k in cls.__dataclass_fields__ if k not in data]
        if missing:
            raise ValueError(f"plan JSON lacks the fields {', '.join(missing)}")
        actions = tuple(parse_actions(data["actions"]))
        steps = _checks.positive_int("steps", data["steps"])
        units = units_for(data["alpha"])
        replay = run_replay(
            actions,
            steps,
            units,
            parse_memory(data["memory"], steps, units),
            data["internal_has_output"],
        )
        plan = cls(
            steps=steps,
            memory=data["memory"],
            alpha=data["alpha"],
            internal_has_output=bool(data["internal_has_output"]),
            strategy=str(data["strategy"]),
            model=str(data["model"]),
            actions=actions,
            forward_count=replay.forward_count,
            peak_memory=units.to_memory(replay.peak),
        )
        for key in ("forward_count", "peak_memory"):
            if data[key] != getattr(plan, key):
                raise ValueError(
                    f"plan JSON says {key} = {data[key]!r} "
                    f"but its actions give {getattr(plan, key)!r}"
                )
        return plan


def to_action(item: object) -> Action:
    """One action from an ``Action``, a dict {"op", "step"} or an (op, step) pair."""
    if isinstance(item, Action):
        return item
    if isinstance(item, dict) and set(item) >= {"op", "step"}:
        return Action(item["op"], item["step"])
    if isinstance(item, list | tuple) and len(item) == 2:
        return Action(item[0], item[1])
    raise TypeError(
        f"an action must be an Action, a dict with 'op' and 'step', or an (op, step) pair; "
        f"got {item!r}"
    )


def parse_actions(actions: Iterable) -> list[Action]:
    """Accept a sequence of ``Action`` s, dicts {"op", "step"} or (op, step) pairs."""
    if isinstance(actions, str | bytes) or not isinstance(actions, Iterable):
        raise TypeError(f"actions must be a sequence of actions, got {type(actions).__name__}")
    parsed = []
    for index, item in enumerate(actions):
        try:
            parsed.append(to_action(item))
        except TypeError as exc:
            raise TypeError(f"actions[{index}]: {exc}") from None
    return parsed


def parse_memory(memory: object, steps: int, units: Units) -> Fraction:
    """A budget in hidden-state units: a number >= 0, or "N%" of the ``bptt`` plan's peak."""
    if isinstance(memory, str):
        text = memory.strip()
        try:
            if not text.endswith("%"):
                raise ValueError
            percent = Fraction(text[:-1])
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"memory must be a number of units or a percentage like '5%', got {memory!r}"
            ) from None
        if percent <= 0:
            raise ValueError(f"memory percentage must be > 0, got {memory!r}")
        return percent / 100 * bptt_peak(steps, units)
    if isinstance(memory, bool) or not isinstance(memory, numbers.Real):
        raise TypeError(f"memory must be a number of units or a string like '5%', got {memory!r}")
    if not math.isfinite(float(memory)) or memory < 0:
        raise ValueError(f"memory must be a finite number of units >= 0, got {memory!r}")
    return Fraction(memory)


def bptt_peak(steps: int, units: Units) -> Fraction:
    """Saved units at the peak of standard BPTT: h[0] and the internal states of steps 1..T-1."""
    return 1 + units.alpha * (steps - 1)


def run_replay(actions, steps: int, units: Units, memory: Fraction | None, internal_has_output):
    """Replay ``actions`` under SPEC 3.1 (raise PlanError at the first broken rule)."""
    if not isinstance(internal_has_output, bool):
        raise TypeError(f"internal_has_output must be True or False, got {internal_has_output!r}")
    budget = None if memory is None else units.to_units(memory)
    replay = Replay(steps, units, budget, internal_has_output)
    for index, action in enumerate(actions):
        replay.apply(index, action.op, action.step)
    replay.finish(len(actions))
    return replay


def _validate(steps, memory, alpha, strategy, model, internal_has_output):
    steps = _checks.positive_int("steps", steps)
    units = units_for(alpha)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    if model == "paper" and strategy not in DP_STRATEGIES:
        raise ValueError(f"model='paper' applies to hsm, ism and msm only, not {strategy!r}")
    if not isinstance(internal_has_output, bool):
        raise TypeError(f"internal_has_output must be True or False, got {internal_has_output!r}")
    if model == "paper" and strategy != "hsm" and not internal_has_output:
        raise ValueError(
            f"model='paper' for {strategy!r} restarts from saved internal states, so it needs "
            "internal_has_output=True (use model='optimal')"
        )
    budget = parse_memory(memory, steps, units)
    baseline = None
    if strategy in DP_STRATEGIES:
        smallest = units.hidden  # h[0] is saved from the start
    else:  # a fixed shape: feasible exactly when its own peak fits
        actions = BASELINES[strategy](steps)
        baseline = (actions, run_replay(actions, steps, units, None, internal_has_output))
        smallest = baseline[1].peak
    if units.to_units(budget) < smallest:
        raise InfeasibleMemoryError(
            f"memory {memory!r} is below the smallest feasible for strategy {strategy!r} "
            f"with steps={steps}, alpha={alpha}: {units.to_memory(smallest)} units"
        )
    # Budgets beyond standard BPTT's peak cannot lower the cost below T (proved by the
    # search tests): cap the DP width there, which is exact, so tables stay small.
    dp_units = min(units.to_units(budget), units.to_units(bptt_peak(steps, units)))
    return steps, units, dp_units, baseline


def plan(
    steps: int,
    memory: int | float | str,
    *,
    alpha: int | float = 1.0,
    strategy: str = "msm",
    model: str = "optimal",
    internal_has_output: bool = True,
    progress: Progress | None = None,
) -> Plan:
    """A plan for ``steps`` time steps within ``memory`` hidden-state units (or "N%").

    ``progress(done, total)`` is called while long DP tables are filled.
    """
    steps, units, budget, baseline = _validate(
        steps, memory, alpha, strategy, model, internal_has_output
    )
    if baseline is not None:
        actions = baseline[0]
    elif model == "paper" or strategy == "hsm":
        actions = paper_actions(strategy, steps, budget, units, progress)
    else:
        actions = optimal_actions(strategy, steps, budget, units, internal_has_output, progress)
    replay = run_replay(
        actions, steps, units, parse_memory(memory, steps, units), internal_has_output
    )
    return Plan(
        steps=steps,
        memory=memory if isinstance(memory, str) else _plain_number(memory),
        alpha=_plain_number(alpha),
        internal_has_output=internal_has_output,
        strategy=strategy,
        model=model,
        actions=tuple(actions),
        forward_count=replay.forward_count,
        peak_memory=units.to_memory(replay.peak),
    )


def cost(
    steps: int,
    memory: int | float | str,
    *,
    alpha: int | float = 1.0,
    strategy: str = "msm",
    model: str = "optimal",
    internal_has_output: bool = True,
    progress: Progress | None = None,
) -> int:
    """Forward evaluations of ``plan(...)`` with the same arguments, without building actions.

    HSM is O(1) (closed form); ISM/MSM read cached DP tables.
    """
    steps, units, budget, baseline = _validate(
        steps, memory, alpha, strategy, model, internal_has_output
    )
    if baseline is not None:
        return baseline[1].forward_count
    if strategy == "hsm":
        return hsm_cost(steps, budget // units.hidden)
    if model == "paper":
        return paper_cost(strategy, steps, budget, units, progress)
    return optimal_cost(strategy, steps, budget, units, internal_has_output, progress)


def _plain_number(value):
    """Numbers as JSON-friendly int or float."""
    if isinstance(value, numbers.Integral):
        return int(value)
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


__all__ = [
    "FORMAT",
    "InfeasibleMemoryError",
    "MODELS",
    "OPS",
    "STRATEGIES",
    "Plan",
    "cost",
    "parse_actions",
    "plan",
    "to_action",
]
