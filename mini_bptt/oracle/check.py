"""The trace checker: validate any implementation's actions against the action rules.

It is the executor's replay without arrays: the same ``Replay`` decides. Validity
is one pass over the actions. The optimum beside it is only computed when its DP
fits the resource limits (``check_seconds``); the result then says why not.

Given the plan the trace was meant to follow (``against``), the same pass also finds the
first action where the trace leaves it. A broken rule is often only the symptom: a
restore from the wrong step is itself valid, and the rule breaks some actions later.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from mini_bptt.common import arguments
from mini_bptt.planning import limits
from mini_bptt.planning.actions import SAVE_HIDDEN, SAVE_INTERNAL, Action
from mini_bptt.planning.plan import Plan, cost_within, to_action
from mini_bptt.planning.problem import Problem
from mini_bptt.planning.replay import PlanError, Replay


@dataclass(frozen=True)
class Departure:
    """Where a trace first differs from the plan it was meant to follow.

    ``index``: the action index. ``planned``: the plan's action there (None: the plan had
    ended and the trace went on). ``done``: the trace's action there (None: the trace had
    ended; the item as given when it is not an action at all). The cause of a later
    broken rule is here, or in the code that ran just before it.
    """

    index: int
    planned: Action | None
    done: object

    def __str__(self) -> str:
        return (
            f"the trace left the plan at action {self.index}: "
            f"the plan has {_said(self.planned)}, the trace has {_said(self.done)}"
        )


def _said(action: object) -> str:
    """An action as the messages show it (``restore_hidden 16``), or what stands there."""
    if action is None:
        return "ended"
    if isinstance(action, Action):
        return f"{_short(action.op)} {_short(action.step)}"
    return arguments.shown(action)


def _short(value: object) -> str:
    return value if isinstance(value, str) and len(value) <= 60 else arguments.shown(value)


class OffPlanError(PlanError):
    """A broken rule in a trace that had already left its plan: a ``PlanError`` whose
    message also says where the trace left it (``departure``, a ``Departure``), which is
    where to look for the cause."""

    def __init__(self, error: PlanError, departure: Departure) -> None:
        super().__init__(error.index, error.op, error.step, error.rule)
        self.departure = departure
        self.args = (f"{self.args[0]}; {departure}",)


def off_plan(error: PlanError, departure: Departure | None) -> PlanError:
    """``error`` with the departure in its message, or as it is when there is none."""
    return error if departure is None else OffPlanError(error, departure)


@dataclass(frozen=True)
class CheckResult:
    """Verdict on a trace: valid or not under the rules and, checked against a plan,
    where it left that plan.

    ``error``: the first broken rule, with its action index ("" for a valid trace); the
    replay stops there, so there is never a second. Checked against a plan that the trace
    had left by then, the message ends with that departure.

    **Partial counts.** For an invalid trace (``partial`` is True) ``forward_count``,
    ``peak_memory`` and ``strategy`` describe only the actions before the first error, and
    ``overhead`` is None: a trace cut short is not cheaper than the optimum, it is wrong.
    ``str(result)`` says so ("partial: up to the first error").

    ``strategy``: the class of plan the trace is, by what it saves ("hsm": hidden
    states only, "ism": internal states only, "msm": both; a trace that saves
    nothing is "hsm"). ``strategy_optimal_forward_count``: the optimal model's
    cost for that class; ``optimal_forward_count``: for MSM, the overall optimum.
    Either is None when its DP does not fit the limits; ``optimum_note`` says why.
    ``overhead = forward_count / optimal_forward_count`` for a valid trace (None for an
    invalid one, or without the optimum).

    ``departure``: checked against a plan (``check(..., against=plan)``,
    ``Recorder(..., plan=plan)``), the first action where the trace differs from it, as a
    ``Departure`` (index, the plan's action, the trace's), else None. ``follows_plan``:
    None when no plan was given, else whether the trace is the plan action for action.
    Validity is about the rules only: a trace can leave its plan and stay valid (a free
    forgotten within a roomy budget), so a trace meant to follow a plan needs both
    ``valid`` and ``follows_plan``.
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
    departure: Departure | None = None
    follows_plan: bool | None = None

    @property
    def partial(self) -> bool:
        """True when the counts stop at the first error (an invalid trace)."""
        return not self.valid

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

    def __str__(self) -> str:
        """The verdict in a few lines, as ``mini-bptt check`` prints it."""
        own = self.strategy_optimal_forward_count
        counts = (
            f"forward_count={self.forward_count} peak_memory={self.peak_memory} "
            f"strategy={self.strategy}" + ("" if own is None else f" (its optimum {own})")
        )
        best = self.optimal_forward_count
        optimum = "not computed" if best is None else str(best)
        if self.valid:
            overhead = "" if self.overhead is None else f" overhead={self.overhead:.4f}"
            lines = [f"valid: {counts} optimal_forward_count={optimum}{overhead}"]
        else:
            lines = [
                f"INVALID: partial: up to the first error: {counts} "
                f"optimal_forward_count={optimum} overhead=none (the trace is invalid)",
                f"error: {self.error}",
            ]
        if self.follows_plan is not None and (self.valid or self.departure is None):
            # an invalid trace's error already ends with its departure
            lines.append(f"plan: {self.departure or 'the trace follows it action for action'}")
        if self.optimum_note:
            lines.append(f"note: {self.optimum_note}")
        return "\n".join(lines)


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


def planned_actions(name: str, plan: object, problem: Problem) -> tuple[Action, ...] | None:
    """The actions of ``plan`` (None for no plan), once it is known to be a ``Plan`` for
    ``problem``: the same steps, alpha and internal_has_output, and within its budget
    (else the trace could break a rule while following it); raise naming ``name``."""
    if plan is None:
        return None
    if not isinstance(plan, Plan):
        raise TypeError(
            f"{name} must be a mini_bptt Plan (from mb.plan, mb.Plan or Plan.from_json), "
            f"got {type(plan).__name__}"
        )
    theirs = plan.problem
    for field, planned, given in (
        ("steps", theirs.steps, problem.steps),
        ("alpha", theirs.exact_alpha, problem.exact_alpha),
        ("internal_has_output", theirs.internal_has_output, problem.internal_has_output),
    ):
        if planned != given:
            shown_planned = getattr(theirs, field)
            shown_given = getattr(problem, field)
            raise ValueError(
                f"{name} is a plan for {field}={arguments.shown(shown_planned)}, but the "
                f"trace is judged with {field}={arguments.shown(shown_given)}; "
                f"give the plan made for this problem"
            )
    grains = problem.grains
    if grains.whole_grains(Fraction(plan.peak_memory)) > problem.budget:
        raise ValueError(
            f"{name} peaks at {arguments.shown(plan.peak_memory)} units, over the memory "
            f"budget of {arguments.shown(problem.budget_units)} units the trace is judged "
            "with; give a plan within that budget"
        )
    return plan.actions


def check(
    actions: Iterable,
    steps: int,
    memory: int | float | str,
    *,
    alpha: int | float = 1.0,
    internal_has_output: bool = True,
    against: Plan | None = None,
) -> CheckResult:
    """Judge a trace: replay ``actions`` under the rules and say whether it is valid and,
    given the plan it was meant to follow, where it first left that plan.

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
    against : Plan, optional
        The plan the trace was meant to follow: a ``Plan`` for the same ``steps``,
        ``alpha`` and ``internal_has_output``, within ``memory``. The result then names
        the first action where the trace differs from it (``departure``), which comes at
        or before the first broken rule and is usually its cause.

    Returns
    -------
    CheckResult
        ``valid``, ``error`` (the first broken rule, with its action index, or ""),
        ``forward_count``, ``peak_memory``, the strategy the trace uses and its optimum,
        and the optimum over all strategies with the ``overhead`` over it (None, with
        ``optimum_note`` saying why, when that DP would pass the ``check_seconds`` limit).
        For an invalid trace the counts stop at the first error (``partial``) and
        ``overhead`` is None. With ``against``: ``departure`` and ``follows_plan``.

    Raises
    ------
    TypeError, ValueError
        For bad arguments (not for a bad trace: that is ``valid=False``), named; an
        ``against`` that is not a ``Plan`` for this problem, named ``against``.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> verdict = mb.check(mb.plan(20, 4).actions, steps=20, memory=4)
    >>> verdict.valid, verdict.forward_count == verdict.optimal_forward_count
    (True, True)
    >>> mb.check([("forward", 1), ("backward", 2)], 2, 1).error
    'action 1 (backward 2): backward needs s[2] in the core or saved'
    >>> plan = mb.plan(3, 2, strategy="hsm")
    >>> trace = list(plan.actions)
    >>> trace[5] = mb.Action("restore_hidden", 0)  # plan: restore_hidden 1
    >>> verdict = mb.check(trace, 3, 2, against=plan)
    >>> print(verdict.error)
    action 6 (forward 2): forward needs the cursor at h[1], it is at h[0]; the trace left ...
    >>> where = verdict.departure
    >>> where.index, where.planned, where.done
    (5, Action(op='restore_hidden', step=1), Action(op='restore_hidden', step=0))
    """
    problem = trace_problem(steps, memory, alpha, internal_has_output)
    steps, grains = problem.steps, problem.grains
    if isinstance(actions, str | bytes) or not isinstance(actions, Iterable):
        raise TypeError(f"actions must be a sequence of actions, got {type(actions).__name__}")
    expected = planned_actions("against", against, problem)
    replay = Replay(steps, grains, problem.budget, internal_has_output)
    error = ""
    departure = None
    saved = set()
    count = 0
    try:
        for index, item in enumerate(actions):
            try:
                action = to_action(item)
            except TypeError as exc:
                if expected is not None and departure is None:
                    departure = Departure(index, _planned_at(expected, index), item)
                raise PlanError(index, "?", "?", str(exc)) from None
            if departure is None and expected is not None:
                departure = departure_at(expected, index, action)
            replay.apply(index, action.op, action.step)
            if action.op in (SAVE_HIDDEN, SAVE_INTERNAL):
                saved.add(action.op)
            count = index + 1
        if departure is None and expected is not None:
            departure = ended_at(expected, count)
        replay.finish(count)
    except PlanError as exc:
        error = str(off_plan(exc, departure))
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
        # counts cut at an error are not a cost: no ratio that could read as beating the optimum
        overhead=None if best is None or error else replay.forward_count / best,
        optimum_note=note,
        departure=departure,
        follows_plan=None if expected is None else departure is None,
    )


def departure_at(expected: tuple[Action, ...], index: int, action: Action) -> Departure | None:
    """The departure at ``index`` if ``action`` is not the plan's action there, else None."""
    if index < len(expected) and expected[index] == action:
        return None
    return Departure(index, _planned_at(expected, index), action)


def ended_at(expected: tuple[Action, ...], count: int) -> Departure | None:
    """The departure of a trace that ended after ``count`` actions, before its plan did."""
    return Departure(count, expected[count], None) if count < len(expected) else None


def _planned_at(expected: tuple[Action, ...], index: int) -> Action | None:
    return expected[index] if index < len(expected) else None
