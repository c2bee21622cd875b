"""The one replay of the action rules (docs/model.md, *Actions*).

The planner (forward_count, peak_memory), the checker and the executor all run
actions through ``Replay.apply``, so the rules are written once and they cannot
disagree. Each ``_op`` method below is one row of that table.
"""

from __future__ import annotations

from array import array

from mini_bptt.common.arguments import shown
from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    OPS,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    plain_step,
)
from mini_bptt.planning.units import Grains

_HIDDEN_OPS = frozenset((SAVE_HIDDEN, RESTORE_HIDDEN, FREE_HIDDEN))  # steps 0..T; others 1..T


class PlanError(ValueError):
    """A plan broke a rule of docs/model.md (*Actions*) at action ``index``."""

    def __init__(self, index: int, op: object, step: object, rule: str) -> None:
        self.index, self.op, self.step, self.rule = index, op, step, rule
        super().__init__(f"action {index} ({_label(op)} {_label(step)}): {rule}")


def _label(value: object) -> str:
    """An op or step as the message shows it: short text as is, anything else abbreviated
    (a huge integer would not even turn into text)."""
    return value if isinstance(value, str) and len(value) <= 60 else shown(value)


class Replay:
    """Symbolic state of a plan run: what is saved, the cursor, the core, the next step to reverse.

    Memory is counted in grains (``grains.hidden`` per hidden state,
    ``grains.internal`` per internal state); ``budget`` (grains) is None for unlimited.
    Initially h[0] is saved, the cursor is at h[0] and the core is empty.
    """

    def __init__(
        self, steps: int, grains: Grains, budget: int | None, internal_has_output: bool
    ) -> None:
        self.steps, self.grains, self.budget = steps, grains, budget
        self.internal_has_output = internal_has_output
        self.hidden: set[int] = {0}
        self.internal: set[int] = set()
        self.cursor = 0
        self.core: int | None = None
        self.next_backward = steps
        self.used = grains.hidden
        self.peak = self.used
        self.forward_count = 0
        self.backward_count = 0
        self.timeline = array("q")  # saved grains after each action: 8 bytes per action
        self._rules = {
            FORWARD: self._forward,
            SAVE_HIDDEN: self._save_hidden,
            SAVE_INTERNAL: self._save_internal,
            RESTORE_HIDDEN: self._restore_hidden,
            RESTORE_INTERNAL: self._restore_internal,
            FREE_HIDDEN: self._free_hidden,
            FREE_INTERNAL: self._free_internal,
            BACKWARD: self._backward,
        }

    def apply(self, index: int, op: object, step: object) -> None:
        """Check the preconditions of one action, then apply its effect; raise PlanError."""
        rule = self._rules.get(op) if isinstance(op, str) else None
        if rule is None or type(step) is not int:  # one test on the common path
            step = self._plain(index, op, step, rule)
        lowest = 0 if op in _HIDDEN_OPS else 1
        if not lowest <= step <= self.steps:
            raise PlanError(index, op, step, f"step must be in [{lowest}, {self.steps}]")
        broken = rule(step)
        if broken:
            raise PlanError(index, op, step, broken)
        self.timeline.append(self.used)

    @staticmethod
    def _plain(index: int, op: object, step: object, rule) -> int:
        """``step`` as an int (NumPy integers count, bool does not), else PlanError; also
        PlanError for an unknown op (``rule`` None), which is named first."""
        step = plain_step(step)
        if rule is None:
            raise PlanError(index, op, step, f"unknown op; accepted ops are {', '.join(OPS)}")
        if type(step) is not int:
            raise PlanError(index, op, step, f"step must be an integer, got {type(step).__name__}")
        return step

    # one method per op: return the broken rule (and change nothing), or apply the effect

    def _forward(self, i: int) -> str | None:
        if self.cursor != i - 1:
            return f"forward needs the cursor at h[{i - 1}], it is at h[{self.cursor}]"
        self.cursor = self.core = i
        self.forward_count += 1
        return None

    def _save_hidden(self, i: int) -> str | None:
        if self.cursor != i:
            return f"save_hidden needs the cursor at h[{i}], it is at h[{self.cursor}]"
        if i in self.hidden:
            return f"h[{i}] is already saved"
        broken = self._grow(self.grains.hidden)
        if not broken:
            self.hidden.add(i)
        return broken

    def _save_internal(self, i: int) -> str | None:
        if self.core != i:
            core = "empty" if self.core is None else f"s[{self.core}]"
            return f"save_internal needs s[{i}] in the core, the core holds {core}"
        if i in self.internal:
            return f"s[{i}] is already saved"
        broken = self._grow(self.grains.internal)
        if not broken:
            self.internal.add(i)
        return broken

    def _restore_hidden(self, i: int) -> str | None:
        if i not in self.hidden:
            return f"h[{i}] is not saved"
        self.cursor, self.core = i, None
        return None

    def _restore_internal(self, i: int) -> str | None:
        if not self.internal_has_output:
            return "restore_internal needs internal_has_output=True"
        if i not in self.internal:
            return f"s[{i}] is not saved"
        self.cursor = i
        return None

    def _free_hidden(self, i: int) -> str | None:
        if i not in self.hidden:
            return f"h[{i}] is not saved"
        self.hidden.remove(i)
        self.used -= self.grains.hidden
        return None

    def _free_internal(self, i: int) -> str | None:
        if i not in self.internal:
            return f"s[{i}] is not saved"
        self.internal.remove(i)
        self.used -= self.grains.internal
        return None

    def _backward(self, i: int) -> str | None:
        if i != self.next_backward:
            expected = self.next_backward or "none (all steps are reversed)"
            return f"backward must reverse steps in order T..1; the next step is {expected}"
        if self.core != i and i not in self.internal:
            return f"backward needs s[{i}] in the core or saved"
        self.next_backward -= 1
        self.backward_count += 1
        return None

    def finish(self, index: int) -> None:
        """Raise PlanError (at ``index`` = number of actions) unless every step was reversed."""
        if self.next_backward:
            raise PlanError(
                index, "end", "-", f"plan ends before steps {self.next_backward}..1 are reversed"
            )

    def _grow(self, size: int) -> str | None:
        if self.budget is not None and self.used + size > self.budget:
            u = self.grains
            return (
                f"memory would reach {u.in_units(self.used + size)} units, "
                f"over the budget of {u.in_units(self.budget)}"
            )
        self.used += size
        self.peak = max(self.peak, self.used)
        return None
