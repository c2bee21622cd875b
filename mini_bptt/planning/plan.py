"""The public planner: ``plan`` and ``cost`` and the ``Plan`` value."""

from __future__ import annotations

import contextlib
import json
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from mini_bptt.cells import _checks
from mini_bptt.planning import limits
from mini_bptt.planning.actions import OPS, Action
from mini_bptt.planning.baselines import BASELINES, baseline_cost, baseline_peak
from mini_bptt.planning.dp_optimal import optimal_actions, optimal_cost, optimal_tables
from mini_bptt.planning.dp_paper import paper_actions, paper_cost, paper_tables
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

    Building one replays ``actions`` under the rules of docs/model.md within ``memory``,
    so ``forward_count`` and ``peak_memory`` are what the actions give, never copied by
    hand. ``plan()`` makes one; build one yourself for a schedule from elsewhere.

    Parameters
    ----------
    steps : int
        Sequence length T.
    memory : int, float or str
        The budget, in hidden-state units or ``"N%"`` of full BPTT's peak.
    alpha : int or float
        Internal-state size in hidden-state units.
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
    memory: int | float | str
    alpha: int | float
    internal_has_output: bool
    strategy: str
    model: str
    actions: tuple[Action, ...]
    forward_count: int = field(init=False)
    peak_memory: int | float = field(init=False)

    def __post_init__(self) -> None:
        actions = tuple(parse_actions(self.actions))
        steps = _checks.positive_int("steps", self.steps)
        units = units_for(self.alpha)
        budget = parse_memory(self.memory, steps, units)
        replay = run_replay(actions, steps, units, budget, self.internal_has_output)
        for name, value in (
            ("steps", steps),
            ("actions", actions),
            ("forward_count", replay.forward_count),
            ("peak_memory", units.to_memory(replay.peak)),
        ):
            object.__setattr__(self, name, value)

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
        plan = cls(
            steps=data["steps"],
            memory=data["memory"],
            alpha=data["alpha"],
            internal_has_output=data["internal_has_output"],
            strategy=str(data["strategy"]),
            model=str(data["model"]),
            actions=data["actions"],
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
                "memory must be a number of units or a percentage like '5%', "
                f"got {_checks.shown(memory)}"
            ) from None
        if percent <= 0:
            raise ValueError(f"memory percentage must be > 0, got {_checks.shown(memory)}")
        return percent / 100 * bptt_peak(steps, units)
    if isinstance(memory, bool) or not isinstance(memory, numbers.Real):
        raise TypeError(
            f"memory must be a number of units or a string like '5%', got {_checks.shown(memory)}"
        )
    if not _checks.is_finite(memory) or memory < 0:
        raise ValueError(
            f"memory must be a finite number of units >= 0, got {_checks.shown(memory)}"
        )
    return _checks.exact(memory)


def bptt_peak(steps: int, units: Units) -> Fraction:
    """Saved units at the peak of standard BPTT: h[0] and the internal states of steps 1..T-1."""
    return 1 + units.alpha * (steps - 1)


def run_replay(actions, steps: int, units: Units, memory: Fraction | None, internal_has_output):
    """Replay ``actions`` under the rules of docs/model.md (PlanError at the first broken one)."""
    _checks.boolean("internal_has_output", internal_has_output)
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
    _checks.boolean("internal_has_output", internal_has_output)
    if model == "paper" and strategy != "hsm" and not internal_has_output:
        raise ValueError(
            f"model='paper' for {strategy!r} restarts from saved internal states, so it needs "
            "internal_has_output=True (use model='optimal')"
        )
    budget = parse_memory(memory, steps, units)
    if strategy in DP_STRATEGIES:
        smallest = units.hidden  # h[0] is saved from the start
    else:  # a fixed shape: feasible exactly when its own peak fits
        smallest = baseline_peak(strategy, steps, units.hidden, units.internal)
    if units.to_units(budget) < smallest:
        raise InfeasibleMemoryError(
            f"memory {_checks.shown(memory)} is below the smallest feasible for strategy "
            f"{strategy!r} with steps={steps}, alpha={alpha}: {units.to_memory(smallest)} units"
        )
    # Budgets beyond standard BPTT's peak cannot lower the cost below T (proved by the
    # search tests): cap the DP width there, which is exact, so tables stay small.
    dp_units = min(units.to_units(budget), units.to_units(bptt_peak(steps, units)))
    return steps, units, dp_units


@contextlib.contextmanager
def _tables(strategy: str, model: str, units: Units, internal_has_output: bool):
    """The shared DP tables that ``strategy`` and ``model`` read, held by this thread for
    the whole request (None for HSM and the baselines, which read none)."""
    if strategy not in ("ism", "msm"):
        yield None
    elif model == "paper":
        with paper_tables(strategy, units) as tables:
            yield tables
    else:
        with optimal_tables(strategy, units, internal_has_output) as tables:
            yield tables


def _why_not(tables, strategy, steps, budget, seconds) -> str:
    """Why the DP for this request does not fit the resource limits, or ""."""
    if strategy not in ("ism", "msm"):
        return ""
    return limits.fits(tables.size(steps, budget), seconds)


def _require_tables(tables, strategy, units, steps, budget) -> None:
    reason = _why_not(tables, strategy, steps, budget, limits.current().seconds)
    if reason:
        raise limits.ResourceLimitError(
            f"{strategy} with steps={_checks.shown(steps)} and "
            f"{_checks.shown(budget // units.hidden)} units: {reason}; "
            "use strategy='hsm' (closed form, no table), a smaller budget or fewer steps, "
            "or raise the limit with mini_bptt.resource_limits()"
        )


def _count(tables, strategy, model, units, steps, budget, progress) -> int:
    """Forward count of the request (after ``_validate`` and, for a DP, ``_require_tables``)."""
    if strategy not in DP_STRATEGIES:
        return baseline_cost(strategy, steps)
    if strategy == "hsm":
        return hsm_cost(steps, budget // units.hidden)
    if model == "paper":
        return paper_cost(tables, steps, budget, progress)
    return optimal_cost(tables, steps, budget, progress)


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
    """A plan for ``steps`` time steps within ``memory``: the actions, and their exact counts.

    Parameters
    ----------
    steps : int
        Sequence length T (>= 1).
    memory : int, float or str
        Budget for everything saved, ``h[0]`` included, in hidden-state units; or ``"N%"``
        of full BPTT's peak ``1 + alpha (T - 1)``. A float within 1e-9 of a whole unit
        counts as that unit.
    alpha : int or float
        Size of an internal state in hidden-state units (tanh RNN 2, LSTM 4.5), a ratio
        p/q with q <= 1000, from 1 to 10**6.
    strategy : str
        What may be saved: ``"hsm"`` hidden states, ``"ism"`` internal states, ``"msm"``
        both; or a fixed baseline: ``"bptt"``, ``"recompute"``, ``"chen"``,
        ``"chen-recursive"``.
    model : str
        ``"optimal"``: the fewest forwards any valid plan reaches; ``"paper"``: the
        paper's recursions (ISM/MSM hold the start of every sub-problem).
    internal_has_output : bool
        Whether a saved internal state also holds its step's output, so the forward may
        restart from it (``restore_internal``). False matches adjoint codes.
    progress : callable, optional
        ``progress(done, total)`` (rows of the DP tables), called while they are filled.

    Returns
    -------
    Plan
        The actions, ``forward_count`` (forward evaluations, T backward ones besides) and
        ``peak_memory`` (hidden-state units), both replayed from the actions.

    Raises
    ------
    TypeError
        An argument of the wrong type (``steps`` not an integer, ``memory`` not a number
        or string, ...), named in the message.
    ValueError
        A value out of range, named in the message; ``InfeasibleMemoryError`` (a
        ValueError) when ``memory`` is below the smallest the strategy can use, with that
        smallest; ``ResourceLimitError`` (a ValueError) when the DP tables, their time or
        the action list would pass the limits of ``resource_limits``.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> p = mb.plan(1000, "5%", alpha=5)
    >>> p.forward_count, p.peak_memory
    (1950, 249)
    >>> [f"{a.op} {a.step}" for a in mb.plan(3, 2, strategy="hsm").actions][:4]
    ['forward 1', 'save_hidden 1', 'forward 2', 'forward 3']
    """
    steps, units, budget = _validate(steps, memory, alpha, strategy, model, internal_has_output)
    with _tables(strategy, model, units, internal_has_output) as tables:
        _require_tables(tables, strategy, units, steps, budget)
        forward_count = _count(tables, strategy, model, units, steps, budget, progress)
        what = f"the {strategy} plan for steps={_checks.shown(steps)}"
        limits.require_actions(forward_count + steps, what)
        # the tables were filled (with progress) by _count: reading the actions fills nothing
        if strategy not in DP_STRATEGIES:
            actions = BASELINES[strategy](steps)
        elif model == "paper" or strategy == "hsm":
            actions = paper_actions(strategy, steps, budget, units, tables)
        else:
            actions = optimal_actions(tables, steps, budget, units)
    return Plan(
        steps=steps,
        memory=memory if isinstance(memory, str) else _plain_number(memory),
        alpha=_plain_number(alpha),
        internal_has_output=internal_has_output,
        strategy=strategy,
        model=model,
        actions=tuple(actions),
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

    HSM and the baselines are closed forms (any ``steps``, in microseconds); ISM and MSM
    read DP tables, filled once per strategy and ``alpha`` and cached.

    Parameters
    ----------
    steps, memory, alpha, strategy, model, internal_has_output, progress
        As for ``plan``.

    Returns
    -------
    int
        The number of ``forward`` actions of the plan (T backward ones besides).

    Raises
    ------
    TypeError, ValueError
        As for ``plan``, except that no action list is built, so none is too long.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> mb.cost(1000, "5%", alpha=5)
    1950
    >>> mb.cost(10**30, 2, strategy="hsm") > 10**44
    True
    """
    steps, units, budget = _validate(steps, memory, alpha, strategy, model, internal_has_output)
    with _tables(strategy, model, units, internal_has_output) as tables:
        _require_tables(tables, strategy, units, steps, budget)
        return _count(tables, strategy, model, units, steps, budget, progress)


def cost_within(
    seconds: float,
    steps: int,
    memory: int | float | str,
    *,
    alpha: int | float,
    strategy: str,
    internal_has_output: bool,
) -> tuple[int | None, str]:
    """``(cost(...), "")`` of the optimal model when its DP fits the memory limit and an
    estimated ``seconds``, else ``(None, why not)``. Never fills a table past those."""
    steps, units, budget = _validate(steps, memory, alpha, strategy, "optimal", internal_has_output)
    with _tables(strategy, "optimal", units, internal_has_output) as tables:
        reason = _why_not(tables, strategy, steps, budget, seconds)
        if reason:
            return None, reason
        return _count(tables, strategy, "optimal", units, steps, budget, None), ""


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
