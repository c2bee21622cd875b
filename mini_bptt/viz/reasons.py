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
    computed: set[int] = set()
    next_backward = steps
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
        elif op == SAVE_HIDDEN:
            reasons.append(f"save h[{i}]: {_restart_reason(actions, index, i)}")
        elif op == SAVE_INTERNAL:
            reasons.append(f"save s[{i}]: {_internal_reason(actions, index, i)}")
        elif op in (RESTORE_HIDDEN, RESTORE_INTERNAL):
            saved = "h" if op == RESTORE_HIDDEN else "s"
            reached = _step_reached(actions, index)
            purpose = f"for step {reached}" if reached is not None else "(never run from)"
            reasons.append(f"restore {saved}[{i}]: restart the forward at h[{i}] {purpose}")
        elif op in (FREE_HIDDEN, FREE_INTERNAL):
            saved = "h" if op == FREE_HIDDEN else "s"
            reasons.append(f"free {saved}[{i}]: no later action reads it")
        elif op == BACKWARD:
            source = _backward_source(actions, index, i)
            reasons.append(f"backward {i}: reverse step {i} from {source}")
            next_backward = i - 1
        else:
            raise ValueError(f"actions[{index}] has the op {op!r}, not one of the rules' ops")
    return reasons


def _step_reached(actions, restore: int) -> int | None:
    """The step the forward started by the restore at index ``restore`` is run for: the
    first backward after one of its forwards, before the next restore."""
    ran = False
    for action in actions[restore + 1 :]:
        if action.op in (RESTORE_HIDDEN, RESTORE_INTERNAL):
            return None
        ran = ran or action.op == FORWARD
        if ran and action.op == BACKWARD:
            return action.step
    return None


def _step_after_restart(actions, index: int, position: int) -> int | None:
    """The step the forward is run for when it next restarts at ``position``, if ever."""
    for offset, action in enumerate(actions[index + 1 :], start=index + 1):
        if action.op in (RESTORE_HIDDEN, RESTORE_INTERNAL) and action.step == position:
            return _step_reached(actions, offset)
    return None


def _restart_reason(actions, index: int, position: int) -> str:
    step = _step_after_restart(actions, index, position)
    if step is None:
        return "kept, but never restored"
    return f"the forward restarts here for step {step}"


def _internal_reason(actions, index: int, position: int) -> str:
    for action in actions[index + 1 :]:
        if action.op == FREE_INTERNAL and action.step == position:
            break
        if action.op == BACKWARD and action.step == position:
            restarts = any(
                a.op == RESTORE_INTERNAL and a.step == position for a in actions[index + 1 :]
            )
            also = "; the forward also restarts from its output" if restarts else ""
            return f"backward {position} reads it, so step {position} is not recomputed{also}"
    step = _step_after_restart(actions, index, position)
    if step is None:
        return "kept, but never read"
    return f"the forward restarts from its output for step {step}"


def _backward_source(actions, index: int, step: int) -> str:
    """Where backward ``step`` reads s[step]: the core holds what the last forward made,
    until a restore_hidden empties it (a restore_internal leaves it as it is)."""
    for action in reversed(actions[:index]):
        if action.op == FORWARD:
            return f"s[{step}] in the core" if action.step == step else f"the saved s[{step}]"
        if action.op == RESTORE_HIDDEN:
            break
    return f"the saved s[{step}]"
