"""The one replay of SPEC 3.1. The planner (forward_count, peak_memory), the
checker and the executor all run actions through ``Replay.apply``, so the rules
are written once and they cannot disagree."""

from __future__ import annotations

from mini_bptt.actions import (
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    OPS,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
)
from mini_bptt.units import Units


class PlanError(ValueError):
    """A plan broke a rule of SPEC 3.1 at action ``index``."""

    def __init__(self, index: int, op: object, step: object, rule: str) -> None:
        self.index, self.op, self.step, self.rule = index, op, step, rule
        super().__init__(f"action {index} ({op} {step}): {rule}")


class Replay:
    """Symbolic state of a plan run: what is saved, the cursor, the core, the next step to reverse.

    Memory is counted in integer units (``units.hidden`` per hidden state,
    ``units.internal`` per internal state); ``budget`` is None for unlimited.
    Initially h[0] is saved, the cursor is at h[0] and the core is empty.
    """

    def __init__(
        self, steps: int, units: Units, budget: int | None, internal_has_output: bool = True
    ) -> None:
        self.steps, self.units, self.budget = steps, units, budget
        self.internal_has_output = internal_has_output
        self.hidden: set[int] = {0}
        self.internal: set[int] = set()
        self.cursor: int | None = 0
        self.core: int | None = None
        self.next_backward = steps
        self.used = units.hidden
        self.peak = self.used
        self.forward_count = 0
        self.backward_count = 0
        self.timeline: list[int] = []

    def apply(self, index: int, op: object, step: object) -> None:
        """Check the preconditions of one action, then apply its effect; raise PlanError."""

        def fail(rule: str) -> None:
            raise PlanError(index, op, step, rule)

        if op not in OPS:
            fail(f"unknown op; accepted ops are {', '.join(OPS)}")
        lowest = 0 if op in (SAVE_HIDDEN, RESTORE_HIDDEN, FREE_HIDDEN) else 1
        if isinstance(step, bool) or not isinstance(step, int):
            fail(f"step must be an integer, got {type(step).__name__}")
        if not lowest <= step <= self.steps:
            fail(f"step must be in [{lowest}, {self.steps}]")
        if op == FORWARD:
            if self.cursor != step - 1:
                fail(f"forward needs the cursor at h[{step - 1}], it is at {self._at()}")
            self.cursor, self.core = step, step
            self.forward_count += 1
        elif op == SAVE_HIDDEN:
            if self.cursor != step:
                fail(f"save_hidden needs the cursor at h[{step}], it is at {self._at()}")
            if step in self.hidden:
                fail(f"h[{step}] is already saved")
            self._grow(self.units.hidden, fail)
            self.hidden.add(step)
        elif op == SAVE_INTERNAL:
            if self.core != step:
                core = "empty" if self.core is None else f"s[{self.core}]"
                fail(f"save_internal needs s[{step}] in the core, the core holds {core}")
            if step in self.internal:
                fail(f"s[{step}] is already saved")
            self._grow(self.units.internal, fail)
            self.internal.add(step)
        elif op == RESTORE_HIDDEN:
            if step not in self.hidden:
                fail(f"h[{step}] is not saved")
            self.cursor, self.core = step, None
        elif op == RESTORE_INTERNAL:
            if not self.internal_has_output:
                fail("restore_internal needs internal_has_output=True")
            if step not in self.internal:
                fail(f"s[{step}] is not saved")
            self.cursor = step
        elif op == FREE_HIDDEN:
            if step not in self.hidden:
                fail(f"h[{step}] is not saved")
            self.hidden.remove(step)
            self.used -= self.units.hidden
        elif op == FREE_INTERNAL:
            if step not in self.internal:
                fail(f"s[{step}] is not saved")
            self.internal.remove(step)
            self.used -= self.units.internal
        else:  # BACKWARD
            if step != self.next_backward:
                expected = self.next_backward or "none (all steps are reversed)"
                fail(f"backward must reverse steps in order T..1; the next step is {expected}")
            if self.core != step and step not in self.internal:
                fail(f"backward needs s[{step}] in the core or saved")
            self.next_backward -= 1
            self.backward_count += 1
        self.timeline.append(self.used)

    def finish(self, index: int) -> None:
        """Raise PlanError (at ``index`` = number of actions) unless every step was reversed."""
        if self.next_backward:
            raise PlanError(
                index, "end", "-", f"plan ends before steps {self.next_backward}..1 are reversed"
            )

    def _grow(self, size: int, fail) -> None:
        if self.budget is not None and self.used + size > self.budget:
            u = self.units
            fail(
                f"memory would reach {u.to_memory(self.used + size)} units, "
                f"over the budget of {u.to_memory(self.budget)}"
            )
        self.used += size
        self.peak = max(self.peak, self.used)

    def _at(self) -> str:
        return "nowhere" if self.cursor is None else f"h[{self.cursor}]"
