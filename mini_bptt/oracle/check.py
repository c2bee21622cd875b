"""The trace checker: validate any implementation's actions against the action rules.

It is the executor's replay without arrays: the same ``Replay`` decides. Validity
is one pass over the actions. The optimum beside it is only computed when its DP
fits the resource limits (``check_seconds``); the result then says why not.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from mini_bptt.common import arguments
from mini_bptt.planning import limits
from mini_bptt.planning.actions import SAVE_HIDDEN, SAVE_INTERNAL
from mini_bptt.planning.plan import cost_within, to_action
from mini_bptt.planning.problem import Problem
from mini_bptt.planning.replay import PlanError, Replay


@dataclass(frozen=True)
class CheckResult:
    """Verdict on a trace. Counts cover the actions up to the first error.

    ``strategy``: the class of plan the trace is, by what it saves ("hsm": hidden
    states only, "ism": internal states only, "msm": both; a trace that saves
    nothing is "hsm"). ``strategy_optimal_forward_count``: the optimal model's
    cost for that class; ``optimal_forward_count``: for MSM, the overall optimum.
    Either is None when its DP does not fit the limits; ``optimum_note`` says why.
    ``overhead = forward_count / optimal_forward_count`` (None without the optimum).
    ``error``: the first broken rule, with its action index ("" for a valid trace); the
    replay stops there, so there is never a second.
    """

    valid: bool
    error: str
    forward_count: int
    peak_memory: int | float
    strategy: str
    strategy_optimal_forward_count: int | None
    optimal_forward_count: int | None
    overhead: float | None
    optimum_note: str = ""

    @property
    def errors(self) -> list[str]:
        """Deprecated: ``[error]`` for an invalid trace, ``[]`` for a valid one."""
        warnings.warn(
            "CheckResult.errors is deprecated: a check stops at the first broken rule, "
            "so read CheckResult.error (a str, '' when valid)",
            DeprecationWarning,
            stacklevel=2,
        )
        return [self.error] if self.error else []


def trace_problem(steps, memory, alpha, internal_has_output) -> Problem:
    """The problem a trace is judged in; raise naming a bad argument or a budget below the
    one hidden state every trace holds (``h[0]``)."""
    problem = Problem.of(steps, memory, alpha, internal_has_output)
    if problem.budget < problem.grains.hidden:
        raise ValueError(
            f"memory {arguments.shown(memory)} is below the smallest feasible: 1 unit, "
            "for h[0] saved at the start"
        )
    return problem


def check(
    actions: Iterable,
    steps: int,
    memory: int | float | str,
    *,
    alpha: int | float = 1.0,
    internal_has_output: bool = True,
) -> CheckResult:
    """Judge a trace: replay ``actions`` under the rules and say whether it is valid.

    Parameters
    ----------
    actions : iterable
        ``Action`` s, ``{"op", "step"}`` dicts or ``(op, step)`` pairs, from any
        implementation (``Recorder`` records them from a training loop); a step may be
        of any integer type (NumPy's too) but ``bool``.
    steps : int
        Sequence length T (any integer type).
    memory : int, float, Fraction or str
        The budget in hidden-state units, ``h[0]`` included, or ``"N%"``; rounded to
        whole grains by the rule of docs/model.md (*Units*), as ``plan`` rounds it.
    alpha : int, float or Fraction
        Internal-state size in hidden-state units.
    internal_has_output : bool
        Whether ``restore_internal`` may restart the forward.

    Returns
    -------
    CheckResult
        ``valid``, ``error`` (the first broken rule, with its action index, or ""),
        ``forward_count``, ``peak_memory``, the strategy the trace uses and its optimum,
        and the optimum over all strategies with the ``overhead`` over it (None, with
        ``optimum_note`` saying why, when that DP would pass the ``check_seconds`` limit).

    Raises
    ------
    TypeError, ValueError
        For bad arguments (not for a bad trace: that is ``valid=False``), named.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> verdict = mb.check(mb.plan(20, 4).actions, steps=20, memory=4)
    >>> verdict.valid, verdict.forward_count == verdict.optimal_forward_count
    (True, True)
    >>> mb.check([("forward", 1), ("backward", 2)], 2, 1).error
    'action 1 (backward 2): backward needs s[2] in the core or saved'
    """
    problem = trace_problem(steps, memory, alpha, internal_has_output)
    steps, grains = problem.steps, problem.grains
    if isinstance(actions, str | bytes) or not isinstance(actions, Iterable):
        raise TypeError(f"actions must be a sequence of actions, got {type(actions).__name__}")
    replay = Replay(steps, grains, problem.budget, internal_has_output)
    error = ""
    saved = set()
    count = 0
    try:
        for index, item in enumerate(actions):
            try:
                action = to_action(item)
            except TypeError as exc:
                raise PlanError(index, "?", "?", str(exc)) from None
            replay.apply(index, action.op, action.step)
            if action.op in (SAVE_HIDDEN, SAVE_INTERNAL):
                saved.add(action.op)
            count = index + 1
        replay.finish(count)
    except PlanError as exc:
        error = str(exc)
    kinds = (SAVE_HIDDEN in saved, SAVE_INTERNAL in saved)
    strategy = {(True, True): "msm", (False, True): "ism"}.get(kinds, "hsm")
    seconds = limits.current().check_seconds
    own, own_note = cost_within(seconds, problem, strategy=strategy)
    best, best_note = cost_within(seconds, problem, strategy="msm")
    # the class's DP is never larger than MSM's, so one reason covers both
    reason = own_note or best_note
    note = f"optimum not computed: {reason}" if reason else ""
    return CheckResult(
        valid=not error,
        error=error,
        forward_count=replay.forward_count,
        peak_memory=grains.in_units(replay.peak),
        strategy=strategy,
        strategy_optimal_forward_count=own,
        optimal_forward_count=best,
        overhead=None if best is None else replay.forward_count / best,
        optimum_note=note,
    )
