"""Why each action of a plan happens, in one line: what the animation writes under a frame.

A reason is read off the plan itself, looking back (was this step computed before?) and
ahead (when is a saved state read next, and by what?), so it says what the action is for
in this plan, not only what it does.
"""

from __future__ import annotations

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


def action_reasons(actions: tuple[Action, ...] | list[Action], steps: int) -> list[str]:
    """One sentence per action of a valid plan of ``steps`` steps: why it is there.

    Parameters
    ----------
    actions : sequence of Action
        The actions of a valid plan (``Plan.actions``).
    steps : int
        Its sequence length T.

    Returns
    -------
    list of str
        One line per action, such as ``"save h[1]: the forward restarts here for
        step 3"`` or ``"forward 2 again: s[2] was not kept; recomputing toward backward
        3"``.

    Raises
    ------
    ValueError
        For an action whose op is not one of ``mb.OPS``.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> plan = mb.plan(4, 2, strategy="hsm")
    >>> for reason in action_reasons(plan.actions, plan.steps)[:3]:
    ...     print(reason)
    forward 1: first time step 1 is computed
    save h[1]: the forward restarts here for step 3
    forward 2: first time step 2 is computed
    """
    purposes = _purposes(actions)
    computed: set[int] = set()
    next_backward = steps
    core = None  # the step whose s is in the core: the last forward's, until a restore_hidden
    reasons = []
    for index, action in enumerate(actions):
        op, i = action.op, action.step
        if op == FORWARD:
            if i in computed:
                reasons.append(
                    f"forward {i} again: s[{i}] was not kept; recomputing toward "
                    f"backward {next_backward}"
                )
            else:
                computed.add(i)
                reasons.append(f"forward {i}: first time step {i} is computed")
            core = i
        elif op == SAVE_HIDDEN:
            reasons.append(f"save h[{i}]: {purposes[index]}")
        elif op == SAVE_INTERNAL:
            reasons.append(f"save s[{i}]: {purposes[index]}")
        elif op in (RESTORE_HIDDEN, RESTORE_INTERNAL):
            saved = "h" if op == RESTORE_HIDDEN else "s"
            reasons.append(f"restore {saved}[{i}]: restart the forward at h[{i}] {purposes[index]}")
            if op == RESTORE_HIDDEN:
                core = None
        elif op in (FREE_HIDDEN, FREE_INTERNAL):
            saved = "h" if op == FREE_HIDDEN else "s"
            reasons.append(f"free {saved}[{i}]: no later action reads it")
        elif op == BACKWARD:
            source = f"s[{i}] in the core" if core == i else f"the saved s[{i}]"
            reasons.append(f"backward {i}: reverse step {i} from {source}")
            next_backward = i - 1
        else:
            raise ValueError(f"actions[{index}] has the op {op!r}, not one of the rules' ops")
    return reasons


def _purposes(actions) -> dict[int, str]:
    """What each save and restore is for, by index: one pass from the end, keeping per
    position what the nearest later action there does, so a plan of n actions takes O(n).

    A restore is run for the first backward after one of its forwards, before the next
    restore; a saved h[p] for the step that restore is run for, at the next restore of p;
    a saved s[p] for backward p when that comes before free_internal p, else as h[p]."""
    purposes: dict[int, str] = {}
    fresh = ran = None  # the step reached from here on, before or after a forward ran
    restart_for: dict[int, int | None] = {}  # position -> the step its next restore is for
    internal_use: dict[int, str] = {}  # position -> the next of backward / free_internal
    restored_internal: set[int] = set()  # positions with a restore_internal from here on
    for index in range(len(actions) - 1, -1, -1):
        op, p = actions[index].op, actions[index].step
        if op == SAVE_HIDDEN:
            purposes[index] = _restart_purpose(restart_for.get(p), "here", "never restored")
        elif op == SAVE_INTERNAL:
            if internal_use.get(p) == BACKWARD:
                also = "; the forward also restarts from its output"
                also = also if p in restored_internal else ""
                purposes[index] = f"backward {p} reads it, so step {p} is not recomputed{also}"
            else:
                where = "from its output"
                purposes[index] = _restart_purpose(restart_for.get(p), where, "never read")
        elif op in (RESTORE_HIDDEN, RESTORE_INTERNAL):
            purposes[index] = f"for step {fresh}" if fresh is not None else "(never run from)"
            restart_for[p] = fresh
            if op == RESTORE_INTERNAL:
                restored_internal.add(p)
        if op in (BACKWARD, FREE_INTERNAL):
            internal_use[p] = op
        # the step reached scanning from this action on
        if op in (RESTORE_HIDDEN, RESTORE_INTERNAL):
            fresh = ran = None
        elif op == FORWARD:
            fresh = ran
        elif op == BACKWARD:
            ran = p
    return purposes


def _restart_purpose(step: int | None, where: str, never: str) -> str:
    return f"kept, but {never}" if step is None else f"the forward restarts {where} for step {step}"
