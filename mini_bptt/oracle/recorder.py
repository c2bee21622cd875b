"""Record a trace from inside your own loop (PyTorch, JAX, anything), checked as it goes.

    with mb.Recorder(steps=T, memory="5%", alpha=4.5, plan=plan) as trace:
        ...
        trace.forward(state.step)          # one call per op, where your code does the work,
        trace.save_internal(core.step)     # with the step its data carries
        ...
    print(trace.result())         # the same CheckResult as mb.check(..., against=plan)
    trace.write("trace.json")     # for `mini-bptt check trace.json`

Each call runs the one replay of the rules (docs/model.md, *Actions*) at once, so the
first broken rule raises ``PlanError`` in your loop, naming the action index, the op
and the rule. From then on the Recorder is closed: it cannot forget a broken rule, so
every later call raises that error again and ``result()`` is invalid with it. Leaving
the ``with`` block normally also requires every step reversed.

Record the step your data carries (the step stored with a tensor when it was saved, read
back from what a restore returned), not the step your loop was told to do: a loop that
feeds the plan's own actions to the Recorder records a copy of the plan, valid whatever
the loop computed. Given the ``plan`` the loop follows, the Recorder also finds the first
action where the trace leaves it, and a later broken rule names that departure.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from mini_bptt.oracle.check import (
    CheckResult,
    Departure,
    check,
    departure_at,
    ended_at,
    off_plan,
    planned_actions,
    trace_problem,
)
from mini_bptt.oracle.trace_file import atomic_path
from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    Action,
    plain_step,
)
from mini_bptt.planning.plan import Plan
from mini_bptt.planning.replay import PlanError, Replay
from mini_bptt.planning.trace_json import trace_text

INTERRUPTED = "recording was interrupted during this action; start a new Recorder"


class Recorder:
    """A trace being recorded from a training loop, checked action by action.

    Call one method per action (``forward(i)``, ``save_hidden(i)``, ``save_internal(i)``,
    ``restore_hidden(i)``, ``restore_internal(i)``, ``free_hidden(i)``,
    ``free_internal(i)``, ``backward(i)``) where your loop does it, with the step that the
    data it works on carries; the first broken rule raises ``PlanError`` there, with the
    action's index, op and rule. ``result()`` judges the whole trace as ``check`` does and
    ``write(path)`` saves it as JSON for ``mini-bptt check``. As a context manager it
    checks, on a clean exit, that every step was reversed.

    Built with the ``plan`` the loop follows, it compares each action with the plan's
    action at the same index: the first difference is kept in ``departure``, a broken
    rule raised after it (or at it) is an ``OffPlanError`` (a ``PlanError``) whose message
    ends with it, and ``result()`` is ``check(..., against=plan)`` of the trace. A
    departure alone raises nothing (the trace may still be valid): read ``departure``, or
    ``result().follows_plan``.

    After the first broken rule the Recorder is closed: every later action (and
    ``finish``, and a clean exit of the ``with`` block) raises that same ``PlanError``
    again, ``result()`` is invalid with it, and ``write`` saves the broken action too, so
    that ``mini-bptt check`` of the file finds the same error. A loop that catches the
    error and goes on cannot end with a valid verdict.

    One Recorder may be shared by threads: each action is checked and appended under one
    lock, so the recorded order is the order in which the calls were accepted.

    Parameters
    ----------
    steps : int
        Sequence length T (any integer type; so is the step of each action).
    memory : int, float, Fraction or str
        The budget in hidden-state units, ``h[0]`` included, or ``"N%"``.
    alpha : int, float or Fraction
        Internal-state size in hidden-state units.
    internal_has_output : bool
        Whether ``restore_internal`` may restart the forward.
    plan : Plan, optional
        The plan the loop follows: a ``Plan`` for the same ``steps``, ``alpha`` and
        ``internal_has_output``, within ``memory``.

    Attributes
    ----------
    problem : Problem
        The request worked out once: the budget in whole grains, the exact alpha.
    actions : list of Action
        The actions accepted so far.
    plan : Plan or None
        The plan given.
    departure : Departure or None
        The first action that differs from ``plan`` so far (a trace that stops short of
        the plan's end is compared at ``finish``, at a clean exit of the ``with`` block,
        and in ``result()``).

    Raises
    ------
    TypeError, ValueError
        For bad arguments, named, at construction (a budget or alpha that the trace JSON
        could not hold exactly is refused here, not at ``write`` after the loop; a
        ``plan`` that is not a ``Plan`` for this problem);
        ``PlanError`` (a ValueError) from an action method.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> with mb.Recorder(steps=2, memory=1) as trace:
    ...     trace.forward(1); trace.forward(2); trace.backward(2)
    ...     trace.restore_hidden(0); trace.forward(1); trace.backward(1)
    >>> trace.result().valid, trace.result().forward_count
    (True, 3)
    >>> mb.Recorder(steps=2, memory=1).backward(1)
    Traceback (most recent call last):
    ...
    mini_bptt.planning.replay.PlanError: action 0 (backward 1): ... the next step is 2
    >>> plan = mb.plan(3, 2, strategy="hsm")  # ..., backward 3, restore_hidden 1, ...
    >>> trace = mb.Recorder(steps=3, memory=2, plan=plan)
    >>> for op, step in [("forward", 1), ("save_hidden", 1), ("forward", 2), ("forward", 3),
    ...                  ("backward", 3), ("restore_hidden", 0), ("forward", 1), ("backward", 2)]:
    ...     getattr(trace, op)(step)
    Traceback (most recent call last):
    ...
    mini_bptt.oracle.check.OffPlanError: action 7 (backward 2): ...; the trace left the plan ...
    >>> print(trace.departure)
    the trace left the plan at action 5: the plan has restore_hidden 1, ...
    """

    def __init__(
        self,
        steps: int,
        memory: int | float | str,
        *,
        alpha: int | float = 1.0,
        internal_has_output: bool = True,
        plan: Plan | None = None,
    ) -> None:
        self.problem = trace_problem(steps, memory, alpha, internal_has_output)
        self.steps, self.memory = self.problem.steps, self.problem.memory
        self.alpha, self.internal_has_output = self.problem.alpha, internal_has_output
        self._expected = planned_actions("plan", plan, self.problem)
        self.plan = plan
        self.departure: Departure | None = None
        self.actions: list[Action] = []
        self._replay = Replay(
            self.steps, self.problem.grains, self.problem.budget, internal_has_output
        )
        self._broken: tuple[Action, PlanError] | None = None  # the action, its error
        # re-entrant: Ctrl-C landing just as a with block exits can leave it held, and the
        # same thread must still get through (the actions stay in order: one thread)
        self._lock = threading.RLock()
        self.to_json()  # a trace that cannot be written fails now, not after the loop

    # one method per op: each checks its rule now and raises PlanError if it is broken

    def forward(self, step: int) -> None:
        self._take(FORWARD, step)

    def save_hidden(self, step: int) -> None:
        self._take(SAVE_HIDDEN, step)

    def save_internal(self, step: int) -> None:
        self._take(SAVE_INTERNAL, step)

    def restore_hidden(self, step: int) -> None:
        self._take(RESTORE_HIDDEN, step)

    def restore_internal(self, step: int) -> None:
        self._take(RESTORE_INTERNAL, step)

    def free_hidden(self, step: int) -> None:
        self._take(FREE_HIDDEN, step)

    def free_internal(self, step: int) -> None:
        self._take(FREE_INTERNAL, step)

    def backward(self, step: int) -> None:
        self._take(BACKWARD, step)

    def _take(self, op: str, step: int) -> None:
        with self._lock:  # the replay's order and the list's order are one order
            self._raise_if_closed()
            action = Action(op, plain_step(step))
            index = len(self.actions)
            if self.departure is None and self._expected is not None:
                self.departure = departure_at(self._expected, index, action)
            try:
                self._replay.apply(index, op, action.step)
                self.actions.append(action)
            except PlanError as error:
                error = off_plan(error, self.departure)
                self._broken = (action, error)
                raise error from None
            except BaseException:
                # stopped (Ctrl-C) between the replay and the list, they may disagree: nothing
                # recorded after this can be trusted, so the trace is closed here
                self._broken = (None, PlanError(index, op, action.step, INTERRUPTED))
                raise

    def _raise_if_closed(self) -> None:
        if self._broken is not None:
            error = self._broken[1]  # a new exception each time: tracebacks do not pile up
            again = PlanError(error.index, error.op, error.step, error.rule)
            raise off_plan(again, getattr(error, "departure", None))

    def _finish(self) -> None:
        """Under the lock: PlanError unless every step was reversed; a trace that stops
        before its plan does has left it there."""
        self._raise_if_closed()
        count = len(self.actions)
        if self.departure is None and self._expected is not None:
            self.departure = ended_at(self._expected, count)
        try:
            self._replay.finish(count)
        except PlanError as error:
            raise off_plan(error, self.departure) from None

    def _snapshot(self) -> list[Action]:
        """The accepted actions, then the broken one if any (what ``check`` must judge)."""
        with self._lock:
            broken = [] if self._broken is None or self._broken[0] is None else [self._broken[0]]
            return [*self.actions, *broken]

    # the verdict and the file

    def finish(self) -> CheckResult:
        """Require every step reversed (``PlanError`` otherwise); return the verdict."""
        with self._lock:
            self._finish()
        return self.result()

    def result(self) -> CheckResult:
        """The verdict on the actions so far, the broken one included: ``mb.check`` of them,
        against ``plan`` if one was given (invalid, with that error, if recording was
        interrupted)."""
        verdict = check(
            self._snapshot(),
            self.steps,
            self.memory,
            alpha=self.alpha,
            internal_has_output=self.internal_has_output,
            against=self.plan,
        )
        broken = self._broken
        if broken is not None and broken[0] is None:
            return replace(verdict, valid=False, error=str(broken[1]), overhead=None)
        return verdict

    def to_json(self) -> str:
        """The trace in the plan and trace JSON format (docs/model.md), numbers exact."""
        return trace_text(
            self.steps, self.memory, self.alpha, self.internal_has_output, self._snapshot()
        )

    def write(self, path: str | Path) -> None:
        """Save ``to_json()`` to ``path``, for ``mini-bptt check``: written beside it and moved
        into place whole, so an interrupted write leaves the previous file as it was."""
        text = self.to_json() + "\n"
        with atomic_path(path) as partial:
            partial.write_text(text, encoding="utf-8")

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:  # a clean exit must have reversed every step, and broken nothing
            with self._lock:
                self._finish()
