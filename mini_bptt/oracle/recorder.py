"""Record a trace from inside your own loop (PyTorch, JAX, anything), checked as it goes.

    with mb.Recorder(steps=T, memory="5%", alpha=4.5) as trace:
        ...
        trace.forward(i)          # one call per op, where your code does the same
        trace.save_internal(i)
        ...
    print(trace.result())         # the same CheckResult as mb.check
    trace.write("trace.json")     # for `mini-bptt check trace.json`

Each call runs the one replay of the rules (docs/model.md, *Actions*) at once, so the
first broken rule raises ``PlanError`` in your loop, naming the action index, the op
and the rule. From then on the Recorder is closed: it cannot forget a broken rule, so
every later call raises that error again and ``result()`` is invalid with it. Leaving
the ``with`` block normally also requires every step reversed.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from mini_bptt.oracle.check import CheckResult, check, trace_problem
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
from mini_bptt.planning.replay import PlanError, Replay
from mini_bptt.planning.trace_json import trace_text

INTERRUPTED = "recording was interrupted during this action; start a new Recorder"


class Recorder:
    """A trace being recorded from a training loop, checked action by action.

    Call one method per action (``forward(i)``, ``save_hidden(i)``, ``save_internal(i)``,
    ``restore_hidden(i)``, ``restore_internal(i)``, ``free_hidden(i)``,
    ``free_internal(i)``, ``backward(i)``) where your loop does it; the first broken rule
    raises ``PlanError`` there, with the action's index, op and rule. ``result()`` judges
    the whole trace as ``check`` does and ``write(path)`` saves it as JSON for
    ``mini-bptt check``. As a context manager it checks, on a clean exit, that every
    step was reversed.

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

    Attributes
    ----------
    problem : Problem
        The request worked out once: the budget in whole grains, the exact alpha.
    actions : list of Action
        The actions accepted so far.

    Raises
    ------
    TypeError, ValueError
        For bad arguments, named, at construction (a budget or alpha that the trace JSON
        could not hold exactly is refused here, not at ``write`` after the loop);
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
    """

    def __init__(
        self,
        steps: int,
        memory: int | float | str,
        *,
        alpha: int | float = 1.0,
        internal_has_output: bool = True,
    ) -> None:
        self.problem = trace_problem(steps, memory, alpha, internal_has_output)
        self.steps, self.memory = self.problem.steps, self.problem.memory
        self.alpha, self.internal_has_output = self.problem.alpha, internal_has_output
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
            step = plain_step(step)
            try:
                self._replay.apply(len(self.actions), op, step)
                self.actions.append(Action(op, step))
            except PlanError as error:
                self._broken = (Action(op, step), error)
                raise
            except BaseException:
                # stopped (Ctrl-C) between the replay and the list, they may disagree: nothing
                # recorded after this can be trusted, so the trace is closed here
                self._broken = (None, PlanError(len(self.actions), op, step, INTERRUPTED))
                raise

    def _raise_if_closed(self) -> None:
        if self._broken is not None:
            error = self._broken[1]  # a new exception each time: tracebacks do not pile up
            raise PlanError(error.index, error.op, error.step, error.rule)

    def _snapshot(self) -> list[Action]:
        """The accepted actions, then the broken one if any (what ``check`` must judge)."""
        with self._lock:
            broken = [] if self._broken is None or self._broken[0] is None else [self._broken[0]]
            return [*self.actions, *broken]

    # the verdict and the file

    def finish(self) -> CheckResult:
        """Require every step reversed (``PlanError`` otherwise); return the verdict."""
        with self._lock:
            self._raise_if_closed()
            self._replay.finish(len(self.actions))
        return self.result()

    def result(self) -> CheckResult:
        """The verdict on the actions so far, the broken one included: ``mb.check`` of them
        (invalid, with that error, if recording was interrupted)."""
        verdict = check(
            self._snapshot(),
            self.steps,
            self.memory,
            alpha=self.alpha,
            internal_has_output=self.internal_has_output,
        )
        broken = self._broken
        if broken is not None and broken[0] is None:
            return replace(verdict, valid=False, error=str(broken[1]))
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
                self._raise_if_closed()
                self._replay.finish(len(self.actions))
