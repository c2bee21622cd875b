"""The paths of the rules of docs/model.md (*Actions*) a plan can take, one predicate each.

A bug in an implementation shows only on a plan that takes the path it sits on: one that
keeps a stale core across ``restore_hidden`` gives right gradients on every plan where a
forward comes between a restore and the next backward. So the paths are named here
(``PATTERNS``), each a predicate over a plan's actions and the state each action finds
(``moments``); ``plan_patterns`` gives the names a plan takes. ``rule_plans`` picks a small
set of plans that takes them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
)
from mini_bptt.planning.plan_value import Plan
from mini_bptt.planning.replay import Replay

RESTORES = (RESTORE_HIDDEN, RESTORE_INTERNAL)
SAVES = (SAVE_HIDDEN, SAVE_INTERNAL)
# below 5 steps no candidate at alpha = 1 saves both kinds of state, or has a free_internal
# whose omission shows; above 100 the candidates take seconds to plan (more at large alpha)
MIN_STEPS, MAX_STEPS = 5, 100


@dataclass(frozen=True)
class Moment:
    """One action of a plan and the state it found.

    ``cursor``: the hidden state the cursor stood at; ``core``: the step whose internal
    state the core held (None: empty); ``saved``: whether the item the action names
    (``h[step]`` for the hidden-state ops, else ``s[step]``) was saved; ``used``: the grains
    saved after the action; ``budget``: the plan's budget in grains.
    """

    index: int
    op: str
    step: int
    cursor: int
    core: int | None
    saved: bool
    used: int
    budget: int


def moments(plan: Plan) -> tuple[Moment, ...]:
    """Replay ``plan`` (already valid: a ``Plan`` was replayed when it was made) and keep,
    for each action, the state it found."""
    grains = plan.problem.grains
    replay = Replay(plan.steps, grains, None, plan.internal_has_output)
    found = []
    for index, action in enumerate(plan.actions):
        op, step = action.op, action.step
        hidden_op = op in (SAVE_HIDDEN, RESTORE_HIDDEN, FREE_HIDDEN)
        saved = step in (replay.hidden if hidden_op else replay.internal)
        cursor, core = replay.cursor, replay.core
        replay.apply(index, op, step)
        found.append(Moment(index, op, step, cursor, core, saved, replay.used, plan.problem.budget))
    return tuple(found)


# -- the patterns: each takes the plan and its moments ---------------------------------------

Predicate = Callable[[Plan, Sequence[Moment]], bool]


def backward_from_core(plan: Plan, found: Sequence[Moment]) -> bool:
    """A backward reads its internal state from the core."""
    return any(m.op == BACKWARD and m.core == m.step for m in found)


def backward_from_saved(plan: Plan, found: Sequence[Moment]) -> bool:
    """A backward reads a saved internal state while the core holds another step's (an
    implementation that reverses "whatever is in the core" reads the wrong step)."""
    return any(m.op == BACKWARD and m.core not in (None, m.step) for m in found)


def backward_after_restore_hidden(plan: Plan, found: Sequence[Moment]) -> bool:
    """A restore_hidden, then a backward with no forward between: the core was emptied,
    so the backward reads a saved state (an implementation that keeps a stale core after a
    restore reads that instead)."""
    for k, m in enumerate(found):
        if m.op == RESTORE_HIDDEN:
            following = first_of(found, k, (FORWARD, BACKWARD))
            if following and following.op == BACKWARD:
                return True
    return False


def backward_after_restore_internal(plan: Plan, found: Sequence[Moment]) -> bool:
    """A restore_internal, then, with no forward between, a backward whose internal state
    only the core holds: restore_internal keeps the core (an implementation that empties
    or replaces it has nothing to reverse)."""
    for k, m in enumerate(found):
        if m.op == RESTORE_INTERNAL:
            following = first_of(found, k, (FORWARD, BACKWARD))
            if following and following.op == BACKWARD and only_core_holds(following):
                return True
    return False


def restore_hidden_of_h0(plan: Plan, found: Sequence[Moment]) -> bool:
    """The forward restarts from h[0], the state the plan was given rather than saved."""
    return any(m.op == RESTORE_HIDDEN and m.step == 0 for m in found)


def restore_hidden_of_saved(plan: Plan, found: Sequence[Moment]) -> bool:
    """The forward restarts from a hidden state the plan saved (h[i], i > 0)."""
    return any(m.op == RESTORE_HIDDEN and m.step > 0 for m in found)


def forward_after_restore_internal(plan: Plan, found: Sequence[Moment]) -> bool:
    """The first forward after a restore_internal starts from the output state held inside
    that saved internal state (not from the core, which restore_internal leaves alone)."""
    for k, m in enumerate(found):
        if m.op == RESTORE_INTERNAL:
            following = first_of(found, k, (FORWARD, *RESTORES))
            if following and following.op == FORWARD:
                return True
    return False


def save_after_restore(plan: Plan, found: Sequence[Moment]) -> bool:
    """A save_internal right after a restore_internal: it saves the core, a step the cursor
    has left, and that step's backward later reads the saved copy (an implementation that
    saves the cursor's state, or swaps the core on a restore, reverses the wrong one)."""
    for k, m in enumerate(found):
        if m.op == SAVE_INTERNAL and k and found[k - 1].op == RESTORE_INTERNAL:
            later = next(n for n in found[k + 1 :] if n.op == BACKWARD and n.step == m.step)
            if later.core != later.step:
                return True
    return False


def free_hidden_after_last_use(plan: Plan, found: Sequence[Moment]) -> bool:
    """A saved h[i] (i > 0) is freed after it was last restored."""
    restored = set()
    for m in found:
        if m.op == RESTORE_HIDDEN:
            restored.add(m.step)
        elif m.op == FREE_HIDDEN and m.step in restored:
            return True
    return False


def free_hidden_under_the_cursor(plan: Plan, found: Sequence[Moment]) -> bool:
    """h[i] is freed right after it was restored, and the next forward starts from it (an
    implementation that reuses the freed buffer corrupts the cursor)."""
    return any(
        m.op == FREE_HIDDEN
        and 0 < k < len(found) - 1
        and found[k - 1].op == RESTORE_HIDDEN
        and found[k - 1].step == m.step
        and found[k + 1].op == FORWARD
        for k, m in enumerate(found)
    )


def free_of_h0(plan: Plan, found: Sequence[Moment]) -> bool:
    """h[0], saved from the start, is freed."""
    return any(m.op == FREE_HIDDEN and m.step == 0 for m in found)


def free_internal_after_backward(plan: Plan, found: Sequence[Moment]) -> bool:
    """A saved s[i] is freed after its backward."""
    reversed_steps = set()
    for m in found:
        if m.op == BACKWARD:
            reversed_steps.add(m.step)
        elif m.op == FREE_INTERNAL and m.step in reversed_steps:
            return True
    return False


def forgotten_free_hidden_shows(plan: Plan, found: Sequence[Moment]) -> bool:
    """Leaving out one free_hidden raises the plan's peak or breaks a rule, so an
    implementation that forgets it is seen (most frees are followed by no new peak)."""
    return _forgotten_free_shows(plan, found, FREE_HIDDEN)


def forgotten_free_internal_shows(plan: Plan, found: Sequence[Moment]) -> bool:
    """Leaving out one free_internal raises the plan's peak or breaks a rule."""
    return _forgotten_free_shows(plan, found, FREE_INTERNAL)


def save_hidden_fills_budget(plan: Plan, found: Sequence[Moment]) -> bool:
    """A save_hidden brings the saved memory exactly to the budget (a budget test that is
    off by one grain fails only there)."""
    return any(m.op == SAVE_HIDDEN and m.used == m.budget for m in found)


def save_internal_fills_budget(plan: Plan, found: Sequence[Moment]) -> bool:
    """A save_internal brings the saved memory exactly to the budget (alpha counted)."""
    return any(m.op == SAVE_INTERNAL and m.used == m.budget for m in found)


def hsm_plan(plan: Plan, found: Sequence[Moment]) -> bool:
    """The plan saves hidden states only (BPTT-HSM)."""
    return _saves(found) == {SAVE_HIDDEN}


def ism_plan(plan: Plan, found: Sequence[Moment]) -> bool:
    """The plan saves internal states only (BPTT-ISM)."""
    return _saves(found) == {SAVE_INTERNAL}


def msm_plan(plan: Plan, found: Sequence[Moment]) -> bool:
    """The plan saves both kinds (BPTT-MSM)."""
    return _saves(found) == {SAVE_HIDDEN, SAVE_INTERNAL}


def internal_with_output(plan: Plan, found: Sequence[Moment]) -> bool:
    """internal_has_output=True and an internal state is saved."""
    return plan.internal_has_output and SAVE_INTERNAL in _saves(found)


def internal_without_output(plan: Plan, found: Sequence[Moment]) -> bool:
    """internal_has_output=False and an internal state is saved (it serves only its own
    step's backward)."""
    return not plan.internal_has_output and SAVE_INTERNAL in _saves(found)


PATTERNS: dict[str, Predicate] = {
    p.__name__: p
    for p in (
        backward_from_core,
        backward_from_saved,
        backward_after_restore_hidden,
        backward_after_restore_internal,
        restore_hidden_of_h0,
        restore_hidden_of_saved,
        forward_after_restore_internal,
        save_after_restore,
        free_hidden_after_last_use,
        free_hidden_under_the_cursor,
        free_of_h0,
        free_internal_after_backward,
        forgotten_free_hidden_shows,
        forgotten_free_internal_shows,
        save_hidden_fills_budget,
        save_internal_fills_budget,
        hsm_plan,
        ism_plan,
        msm_plan,
        internal_with_output,
        internal_without_output,
    )
}


def plan_patterns(plan: Plan) -> frozenset[str]:
    """The names of the ``PATTERNS`` that ``plan`` takes."""
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a mini_bptt Plan, got {type(plan).__name__}")
    found = moments(plan)
    return frozenset(name for name, taken in PATTERNS.items() if taken(plan, found))


def first_of(found: Sequence[Moment], k: int, ops: tuple[str, ...]) -> Moment | None:
    """The first moment after ``k`` whose op is one of ``ops`` (None if there is none)."""
    return next((m for m in found[k + 1 :] if m.op in ops), None)


def only_core_holds(backward: Moment) -> bool:
    """Does this backward read an internal state that the core holds and nothing saves?"""
    return backward.core == backward.step and not backward.saved


def _saves(found: Sequence[Moment]) -> set[str]:
    return {m.op for m in found if m.op in SAVES}


def _forgotten_free_shows(plan: Plan, found: Sequence[Moment], op: str) -> bool:
    """Does leaving out one ``op`` free raise the peak, or break a rule (the item is saved
    again later, and is still saved)? Without the free, the memory after it is higher by
    the item's size until the end."""
    grains = plan.problem.grains
    size = grains.hidden if op == FREE_HIDDEN else grains.internal
    peak = max([grains.hidden] + [m.used for m in found])
    later_max = [0] * (len(found) + 1)  # later_max[k]: the most used after moments k..end
    for k in range(len(found) - 1, -1, -1):
        later_max[k] = max(later_max[k + 1], found[k].used)
    save = SAVE_HIDDEN if op == FREE_HIDDEN else SAVE_INTERNAL
    for k, m in enumerate(found):
        if m.op != op:
            continue
        saved_again = any(n.op == save and n.step == m.step for n in found[k + 1 :])
        if saved_again or later_max[k + 1] + size > peak:
            return True
    return False
