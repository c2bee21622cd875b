"""The public planner: ``plan`` and ``cost`` and the ``Plan`` value."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from mini_bptt.common import arguments
from mini_bptt.planning import limits
from mini_bptt.planning.actions import OPS, Action, plain_step
from mini_bptt.planning.baselines import BASELINES, baseline_cost, baseline_peak
from mini_bptt.planning.dp_optimal import optimal_actions, optimal_cost, optimal_tables
from mini_bptt.planning.dp_paper import paper_actions, paper_cost, paper_tables
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.planning.replay import Replay
from mini_bptt.planning.trace_json import FORMAT, load_trace, trace_dict
from mini_bptt.planning.units import (
    Units,
    bptt_peak,
    budget_units,
    parse_memory,
    plain_number,
    units_for,
)

STRATEGIES = ("bptt", "recompute", "hsm", "ism", "msm", "chen", "chen-recursive")
DP_STRATEGIES = ("hsm", "ism", "msm")
MODELS = ("optimal", "paper")
# the labels of a plan read from a file that has none (a trace recorded by a Recorder)
TRACE_STRATEGY, TRACE_MODEL = "trace", "recorded"

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

    def __post_init__(self) -> None:
        actions = tuple(parse_actions(self.actions))
        steps = arguments.positive_int("steps", self.steps)
        units = units_for(self.alpha)
        budget = parse_memory(self.memory, steps, units)
        replay = run_replay(actions, steps, units, budget, self.internal_has_output)
        memory = self.memory if isinstance(self.memory, str) else plain_number(self.memory)
        for name, value in (
            ("steps", steps),
            ("memory", memory),
            ("alpha", plain_number(self.alpha)),
            ("actions", actions),
            ("forward_count", replay.forward_count),
            ("peak_memory", units.to_memory(replay.peak)),
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


def run_replay(actions, steps: int, units: Units, memory: Fraction | None, internal_has_output):
    """Replay ``actions`` under the rules of docs/model.md (PlanError at the first broken one)."""
    arguments.boolean("internal_has_output", internal_has_output)
    budget = None if memory is None else units.to_units(memory)
    replay = Replay(steps, units, budget, internal_has_output)
    for index, action in enumerate(actions):
        replay.apply(index, action.op, action.step)
    replay.finish(len(actions))
    return replay


def _validate(steps, memory, alpha, strategy, model, internal_has_output):
    steps = arguments.positive_int("steps", steps)
    units = units_for(alpha)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    if model == "paper" and strategy not in DP_STRATEGIES:
        raise ValueError(f"model='paper' applies to hsm, ism and msm only, not {strategy!r}")
    arguments.boolean("internal_has_output", internal_has_output)
    if model == "paper" and strategy != "hsm" and not internal_has_output:
        raise ValueError(
            f"model='paper' for {strategy!r} restarts from saved internal states, so it needs "
            "internal_has_output=True (use model='optimal')"
        )
    budget = budget_units(memory, steps, units)
    if strategy in DP_STRATEGIES:
        smallest = units.hidden  # h[0] is saved from the start
    else:  # a fixed shape: feasible exactly when its own peak fits
        smallest = baseline_peak(strategy, steps, units.hidden, units.internal)
    if budget < smallest:
        raise InfeasibleMemoryError(
            f"memory {arguments.shown(memory)} is below the smallest feasible for strategy "
            f"{strategy!r} with steps={steps}, alpha={alpha}: {units.to_memory(smallest)} units"
        )
    # Budgets beyond standard BPTT's peak cannot lower the cost below T (proved by the
    # search tests): cap the DP width there, which is exact, so tables stay small.
    dp_units = min(budget, units.to_units(bptt_peak(steps, units)))
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
            f"{strategy} with steps={arguments.shown(steps)} and "
            f"{arguments.shown(budget // units.hidden)} units: {reason}; "
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
        Sequence length T (>= 1), of any integer type (NumPy's too) but ``bool``.
    memory : int, float, Fraction or str
        Budget for everything saved, ``h[0]`` included, in hidden-state units (a number,
        or decimal text such as ``"7/3"``); or ``"N%"`` of full BPTT's peak
        ``1 + alpha (T - 1)``. Rounded down to whole units, except that a budget within
        1e-9 of a unit below a whole unit counts as it (docs/model.md, *Units*).
    alpha : int, float or Fraction
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
        what = f"the {strategy} plan for steps={arguments.shown(steps)}"
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
        memory=memory,
        alpha=alpha,
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


__all__ = [
    "FORMAT",
    "InfeasibleMemoryError",
    "MODELS",
    "OPS",
    "STRATEGIES",
    "Plan",
    "bptt_peak",
    "cost",
    "parse_actions",
    "parse_memory",
    "plan",
    "to_action",
]
