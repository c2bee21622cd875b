"""Builds action lists for the planners: tracks the cursor and what is saved,
so a planner can say "start from position a" and get the right restore."""

from __future__ import annotations

from collections.abc import Callable

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
)

Task = Callable[[], None]


class Emitter:
    """Append-only action list plus the little state a planner needs.

    Recursive plans are written as tasks pushed on a stack (``then``) instead of
    Python recursion, so plans for long sequences never hit the recursion limit.
    """

    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.cursor = 0
        self.hidden = {0}
        self.internal: set[int] = set()
        self._stack: list[Task] = []

    def emit(self, op: str, step: int) -> None:
        self.actions.append(Action(op, step))
        if op == FORWARD:
            self.cursor = step
        elif op == SAVE_HIDDEN:
            self.hidden.add(step)
        elif op == SAVE_INTERNAL:
            self.internal.add(step)
        elif op == FREE_HIDDEN:
            self.hidden.discard(step)
        elif op == FREE_INTERNAL:
            self.internal.discard(step)
        elif op in (RESTORE_HIDDEN, RESTORE_INTERNAL):
            self.cursor = step

    def start_at(self, position: int) -> None:
        """Put the cursor at h[position], restoring a saved state if it is elsewhere."""
        if self.cursor == position:
            return
        if position in self.hidden:
            self.emit(RESTORE_HIDDEN, position)
        elif position in self.internal:
            self.emit(RESTORE_INTERNAL, position)
        else:
            raise AssertionError(f"planner bug: nothing saved at position {position}")

    def forward_to(self, position: int) -> None:
        for step in range(self.cursor + 1, position + 1):
            self.emit(FORWARD, step)

    def reverse_saved_internal(self, step: int) -> None:
        """Backward ``step`` from its saved internal state, then free it."""
        self.emit(BACKWARD, step)
        self.emit(FREE_INTERNAL, step)

    def then(self, *tasks: Task) -> None:
        """Run ``tasks`` in order, after the current task returns."""
        self._stack.extend(reversed(tasks))

    def run(self, task: Task) -> list[Action]:
        self._stack.append(task)
        while self._stack:
            self._stack.pop()()
        return self.actions
