"""A second, plain reading of the action rules (docs/model.md, *Actions*), written from the
page and sharing no code with mini_bptt's replay: the tests make the two agree.

Memory is kept as an exact Fraction of hidden-state units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

OPS = (
    "forward",
    "save_hidden",
    "save_internal",
    "restore_hidden",
    "restore_internal",
    "free_hidden",
    "free_internal",
    "backward",
)


@dataclass
class State:
    steps: int
    memory: Fraction
    alpha: Fraction
    internal_has_output: bool
    cursor: int = 0
    core: int | None = None
    hidden: set = field(default_factory=lambda: {0})
    internal: set = field(default_factory=set)
    next_back: int = 0
    used: Fraction = Fraction(1)
    peak: Fraction = Fraction(1)
    forwards: int = 0

    def __post_init__(self):
        self.next_back = self.steps

    def allowed(self, op, step) -> bool:
        """Whether ``(op, step)`` keeps every rule, from this state."""
        if op not in OPS or type(step) is not int:
            return False
        low = 0 if op in ("save_hidden", "restore_hidden", "free_hidden") else 1
        if step < low or step > self.steps:
            return False
        if op == "forward":
            return self.cursor == step - 1
        if op == "save_hidden":
            return self.cursor == step and step not in self.hidden and self.used + 1 <= self.memory
        if op == "save_internal":
            return (
                self.core == step
                and step not in self.internal
                and self.used + self.alpha <= self.memory
            )
        if op == "restore_hidden" or op == "free_hidden":
            return step in self.hidden
        if op == "restore_internal":
            return self.internal_has_output and step in self.internal
        if op == "free_internal":
            return step in self.internal
        return step == self.next_back and (self.core == step or step in self.internal)

    def take(self, op, step) -> None:
        """Apply the effect of an allowed action."""
        if op == "forward":
            self.cursor = self.core = step
            self.forwards += 1
        elif op == "save_hidden":
            self.hidden.add(step)
            self.used += 1
        elif op == "save_internal":
            self.internal.add(step)
            self.used += self.alpha
        elif op == "restore_hidden":
            self.cursor, self.core = step, None
        elif op == "restore_internal":
            self.cursor = step
        elif op == "free_hidden":
            self.hidden.remove(step)
            self.used -= 1
        elif op == "free_internal":
            self.internal.remove(step)
            self.used -= self.alpha
        else:
            self.next_back -= 1
        self.peak = max(self.peak, self.used)


def judge(actions, steps, memory, alpha, internal_has_output):
    """(first broken index or None, forwards and peak up to it); a plan that ends before
    step 1 is reversed breaks at ``len(actions)``."""
    state = State(steps, Fraction(memory), Fraction(alpha), internal_has_output)
    for index, (op, step) in enumerate(actions):
        if not state.allowed(op, step):
            return index, state
        state.take(op, step)
    return (None if state.next_back == 0 else len(actions)), state
