"""The public planner: ``plan`` and ``cost``. A ``Plan`` is the value they return."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from mini_bptt.common import arguments
from mini_bptt.planning import limits
from mini_bptt.planning.actions import OPS
from mini_bptt.planning.baselines import BASELINES, baseline_cost, baseline_peak
from mini_bptt.planning.dp_optimal import optimal_actions, optimal_cost, optimal_tables
from mini_bptt.planning.dp_paper import paper_actions, paper_cost, paper_tables
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.planning.plan_value import Plan, parse_actions, to_action
from mini_bptt.planning.problem import Problem
from mini_bptt.planning.trace_json import FORMAT
from mini_bptt.planning.units import bptt_peak, parse_memory

STRATEGIES = ("bptt", "recompute", "hsm", "ism", "msm", "chen", "chen-recursive")
DP_STRATEGIES = ("hsm", "ism", "msm")
MODELS = ("optimal", "paper")

Progress = Callable[[int, int], None]


class InfeasibleMemoryError(ValueError):
    """The memory budget is below the smallest any plan of the strategy needs."""


@dataclass(frozen=True)
class Request:
    """A planning request: the problem and how to solve it, all checked."""

    problem: Problem
    strategy: str
    model: str

    @property
    def budget(self) -> int:
        """The DP's budget in grains: the problem's, capped at full BPTT's peak."""
        return self.problem.dp_budget


def make_request(
    steps: int,
    memory: int | float | str,
    alpha: int | float,
    strategy: str,
    model: str,
    internal_has_output: bool,
) -> Request:
    """Check the arguments of ``plan`` and ``cost`` and work the request out once; raise
    naming a bad one, or ``InfeasibleMemoryError`` for a budget below the strategy's
    least."""
    problem = Problem.of(steps, memory, alpha, internal_has_output)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    if model == "paper" and strategy not in DP_STRATEGIES:
        raise ValueError(f"model='paper' applies to hsm, ism and msm only, not {strategy!r}")
    if model == "paper" and strategy != "hsm" and not internal_has_output:
        raise ValueError(
            f"model='paper' for {strategy!r} restarts from saved internal states, so it needs "
            "internal_has_output=True (use model='optimal')"
        )
    smallest = least_budget(problem, strategy)
    if problem.budget < smallest:
        raise InfeasibleMemoryError(
            f"memory {arguments.shown(memory)} is below the smallest feasible for strategy "
            f"{strategy!r} with steps={problem.steps}, alpha={alpha}: "
            f"{problem.grains.in_units(smallest)} units"
        )
    return Request(problem, strategy, model)


def least_budget(problem: Problem, strategy: str) -> int:
    """The smallest budget, in grains, at which ``strategy`` has a plan for ``problem``."""
    grains = problem.grains
    if strategy in DP_STRATEGIES:
        return grains.hidden  # h[0] is saved from the start
    # a fixed shape: feasible exactly when its own peak fits
    return baseline_peak(strategy, problem.steps, grains.hidden, grains.internal)


@contextlib.contextmanager
def tables_for(request: Request):
    """The shared DP tables that the request's strategy and model read, held by this thread
    for the whole request (None for HSM and the baselines, which read none)."""
    grains, flag = request.problem.grains, request.problem.internal_has_output
    if request.strategy not in ("ism", "msm"):
        yield None
    elif request.model == "paper":
        with paper_tables(request.strategy, grains) as tables:
            yield tables
    else:
        with optimal_tables(request.strategy, grains, flag) as tables:
            yield tables


def why_tables_do_not_fit(tables, request: Request, seconds: float) -> str:
    """Why the DP for this request does not fit the resource limits (with ``seconds`` as
    the time limit), or ""."""
    if request.strategy not in ("ism", "msm"):
        return ""
    return limits.fits(tables.size(request.problem.steps, request.budget), seconds)


def _require_tables(tables, request: Request) -> None:
    reason = why_tables_do_not_fit(tables, request, limits.current().seconds)
    if reason:
        raise limits.ResourceLimitError(
            f"{request.strategy} with steps={arguments.shown(request.problem.steps)} and "
            f"{arguments.shown(request.budget // request.problem.grains.hidden)} units: "
            f"{reason}; use strategy='hsm' (closed form, no table), a smaller budget or "
            "fewer steps, or raise the limit with mini_bptt.resource_limits()"
        )


def _count(tables, request: Request, progress) -> int:
    """Forward count of the request (after ``_require_tables`` for a DP)."""
    steps, budget, strategy = request.problem.steps, request.budget, request.strategy
    if strategy not in DP_STRATEGIES:
        return baseline_cost(strategy, steps)
    if strategy == "hsm":
        return hsm_cost(steps, budget // request.problem.grains.hidden)
    if request.model == "paper":
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
        ``1 + alpha (T - 1)``. Rounded down to whole grains (1/q of a unit for alpha =
        p/q), except that a budget within 1e-9 of a grain below a whole grain counts as
        it (docs/model.md, *Units*).
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
    request = make_request(steps, memory, alpha, strategy, model, internal_has_output)
    steps, budget, grains = request.problem.steps, request.budget, request.problem.grains
    with tables_for(request) as tables:
        _require_tables(tables, request)
        forward_count = _count(tables, request, progress)
        what = f"the {strategy} plan for steps={arguments.shown(steps)}"
        limits.require_actions(forward_count + steps, what)
        # the tables were filled (with progress) by _count: reading the actions fills nothing
        if strategy not in DP_STRATEGIES:
            actions = BASELINES[strategy](steps)
        elif model == "paper" or strategy == "hsm":
            actions = paper_actions(strategy, steps, budget, grains, tables)
        else:
            actions = optimal_actions(tables, steps, budget, grains)
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
    request = make_request(steps, memory, alpha, strategy, model, internal_has_output)
    with tables_for(request) as tables:
        _require_tables(tables, request)
        return _count(tables, request, progress)


def cost_within(seconds: float, problem: Problem, *, strategy: str) -> tuple[int | None, str]:
    """``(cost(...), "")`` of the optimal model for an already checked ``problem`` (its
    budget at least ``h[0]``) and ``strategy`` ("hsm", "ism" or "msm"), when its DP fits
    the memory limit and an estimated ``seconds``; else ``(None, why not)``. Never fills a
    table past those."""
    request = Request(problem, strategy, "optimal")
    with tables_for(request) as tables:
        reason = why_tables_do_not_fit(tables, request, seconds)
        if reason:
            return None, reason
        return _count(tables, request, None), ""


__all__ = [
    "FORMAT",
    "InfeasibleMemoryError",
    "MODELS",
    "OPS",
    "STRATEGIES",
    "Plan",
    "Problem",
    "bptt_peak",
    "cost",
    "parse_actions",
    "parse_memory",
    "plan",
    "to_action",
]
