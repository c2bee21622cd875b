"""The ``Plan`` value: a sequence of actions, replayed under the rules, with its counts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from mini_bptt.common import arguments
from mini_bptt.planning.actions import Action, plain_step
from mini_bptt.planning.problem import Problem
from mini_bptt.planning.replay import Replay
from mini_bptt.planning.trace_json import load_trace, trace_dict
from mini_bptt.planning.units import Grains

# the labels of a plan read from a file that has none (a trace recorded by a Recorder)
TRACE_STRATEGY, TRACE_MODEL = "trace", "recorded"


@dataclass(frozen=True)
class Plan:
    """A plan: the actions realising a strategy for (steps, memory, alpha), and its exact counts.

    Building one replays ``actions`` under the rules of docs/model.md within ``memory``,
    so ``forward_count`` and ``peak_memory`` are what the actions give, never copied by
    hand. ``plan()`` makes one; build one yourself for a schedule from elsewhere.

    Parameters
    ----------
    steps : int
        Sequence length T.
    memory : int, float, Fraction or str
        The budget, in hidden-state units or ``"N%"`` of full BPTT's peak; kept as a plain
        Python number of the same exact value (NumPy's become int or float).
    alpha : int, float or Fraction
        Internal-state size in hidden-state units (kept like ``memory``).
    internal_has_output : bool
        Whether ``restore_internal`` may restart the forward from a saved internal state.
    strategy, model : str
        Labels (any text for a plan from elsewhere).
    actions : sequence
        ``Action`` s, ``{"op", "step"}`` dicts or ``(op, step)`` pairs.

    Attributes
    ----------
    forward_count : int
        The number of ``forward`` actions.
    peak_memory : int or float
        The most hidden-state units saved at once, ``h[0]`` included.
    problem : Problem
        The request worked out once (budget in whole grains, exact alpha), for whoever
        runs, draws or converts the plan.

    Raises
    ------
    PlanError
        (a ValueError) at the first action that breaks a rule, naming its index and rule.
    TypeError, ValueError
        For arguments of the wrong type or range, named.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> p = mb.Plan(2, 2, 1, True, "by hand", "none",
    ...             [("forward", 1), ("forward", 2), ("backward", 2),
    ...              ("restore_hidden", 0), ("forward", 1), ("backward", 1)])
    >>> p.forward_count, p.peak_memory
    (3, 1)
    >>> mb.Plan(2, 2, 1, True, "x", "y", [("backward", 2)])
    Traceback (most recent call last):
    ...
    mini_bptt.planning.replay.PlanError: action 0 (backward 2): backward needs s[2] in the core ...
    """

    steps: int
    memory: int | float | Fraction | str
    alpha: int | float | Fraction
    internal_has_output: bool
    strategy: str
    model: str
    actions: tuple[Action, ...]
    forward_count: int = field(init=False)
    peak_memory: int | float = field(init=False)
    problem: Problem = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        actions = tuple(parse_actions(self.actions))
        problem = Problem.of(self.steps, self.memory, self.alpha, self.internal_has_output)
        replay = run_replay(
            actions, problem.steps, problem.grains, problem.budget, self.internal_has_output
        )
        for name, value in (
            ("steps", problem.steps),
            ("memory", problem.memory),
            ("alpha", problem.alpha),
            ("actions", actions),
            ("forward_count", replay.forward_count),
            ("peak_memory", problem.grains.in_units(replay.peak)),
            ("problem", problem),
        ):
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict:
        """The plan as the JSON object of docs/model.md (*Plan and trace JSON*)."""
        return trace_dict(
            self.steps,
            self.memory,
            self.alpha,
            self.internal_has_output,
            self.actions,
            strategy=self.strategy,
            model=self.model,
            forward_count=self.forward_count,
            peak_memory=self.peak_memory,
        )

    def to_json(self) -> str:
        """The plan as JSON text; ``Plan.from_json`` reads it back equal."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Load a plan or a recorded trace (``load_trace``); its actions are replayed, and
        the file's ``forward_count`` and ``peak_memory``, when present, must match them.
        A file without labels (a ``Recorder``'s) gets strategy "trace" and model
        "recorded"."""
        trace = load_trace(text)
        plan = cls(
            steps=trace.steps,
            memory=trace.memory,
            alpha=trace.alpha,
            internal_has_output=trace.internal_has_output,
            strategy=TRACE_STRATEGY if trace.strategy is None else trace.strategy,
            model=TRACE_MODEL if trace.model is None else trace.model,
            actions=trace.actions,
        )
        for key in ("forward_count", "peak_memory"):
            said = getattr(trace, key)
            if said is not None and said != getattr(plan, key):
                raise ValueError(
                    f"plan JSON says {key} = {arguments.shown(said)} "
                    f"but its actions give {arguments.shown(getattr(plan, key))}"
                )
        return plan


def to_action(item: object) -> Action:
    """One action from an ``Action``, a dict {"op", "step"} or an (op, step) pair; a step
    of any integer type (NumPy's too) but ``bool`` becomes an ``int``."""
    if isinstance(item, Action):
        return item if type(item.step) is int else Action(item.op, plain_step(item.step))
    if isinstance(item, dict) and set(item) >= {"op", "step"}:
        return Action(item["op"], plain_step(item["step"]))
    if isinstance(item, list | tuple) and len(item) == 2:
        return Action(item[0], plain_step(item[1]))
    raise TypeError(
        f"an action must be an Action, a dict with 'op' and 'step', or an (op, step) pair; "
        f"got {arguments.shown(item)}"
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


def run_replay(
    actions: Iterable[Action],
    steps: int,
    grains: Grains,
    budget: int | None,
    internal_has_output: bool,
) -> Replay:
    """Replay ``actions`` under the rules of docs/model.md within ``budget`` grains (None:
    no budget); PlanError at the first broken rule."""
    arguments.boolean("internal_has_output", internal_has_output)
    replay = Replay(steps, grains, budget, internal_has_output)
    for index, action in enumerate(actions):
        replay.apply(index, action.op, action.step)
    replay.finish(len(actions))
    return replay


__all__ = ["Plan", "parse_actions", "run_replay", "to_action"]
