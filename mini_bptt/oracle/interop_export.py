"""Writing a plan in checkpoint-schedules' vocabulary (``interop.to_checkpoint_schedule``).

``export_items`` turns our actions into their actions, one pass with a replay, by the
mapping ``interop.from_checkpoint_schedule`` defines (its module docstring has the table);
``schedule_class`` wraps the list as a ``CheckpointSchedule``. checkpoint-schedules is
imported on first use (``schedules_module``), so importing this module needs nothing.
"""

from __future__ import annotations

from functools import lru_cache

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
from mini_bptt.planning.plan import Plan
from mini_bptt.planning.replay import Replay


def schedules_module():
    try:
        import checkpoint_schedules
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "mini_bptt.oracle.interop needs checkpoint-schedules: pip install checkpoint-schedules"
        ) from exc
    return checkpoint_schedules


def export_items(plan: Plan) -> list:
    """The checkpoint-schedules actions for ``plan.actions``, one pass with a replay."""
    cs = schedules_module()
    RAM, WORK, NONE = cs.StorageType.RAM, cs.StorageType.WORK, cs.StorageType.NONE
    actions = plan.actions
    replay = Replay(plan.steps, plan.problem.grains, None, plan.internal_has_output)
    items: list = []
    index = 0

    def refuse(why: str) -> ValueError:
        action = actions[index]
        return ValueError(
            f"plan action {index} ({action.op} {action.step}) has no checkpoint-schedules "
            f"counterpart: {why}"
        )

    def take(expected: Action | None = None) -> bool:
        """Apply the next action if it is ``expected`` (or any, when None)."""
        nonlocal index
        if index >= len(actions) or (expected is not None and actions[index] != expected):
            return False
        replay.apply(index, actions[index].op, actions[index].step)
        index += 1
        return True

    while index < len(actions):
        op, step = actions[index].op, actions[index].step
        if op == RESTORE_INTERNAL:
            raise refuse(
                "checkpoint-schedules cannot restart the forward from adjoint-dependency "
                "data; plan with internal_has_output=False"
            )
        if op == SAVE_INTERNAL:
            raise refuse("checkpoint-schedules stores adjoint data only during its forward")
        if op == SAVE_HIDDEN and actions[index + 1 : index + 2] != (Action(FORWARD, step + 1),):
            raise refuse("checkpoint-schedules stores restart data only as a forward leaves it")
        write_ics = take(Action(SAVE_HIDDEN, step))
        if write_ics or op == FORWARD:
            n0 = step if write_ics else step - 1
            if n0 == 0 and not replay.forward_count:  # the first forward: h[0] is restart
                write_ics = 0 in replay.hidden  # data unless it was freed before
            take()
            if take(Action(SAVE_INTERNAL, n0 + 1)):
                items.append(cs.Forward(n0, n0 + 1, write_ics, True, RAM))
            else:  # adjoint data in WORK when the next backward reads it from the core
                in_core = replay.next_backward == n0 + 1
                storage = RAM if write_ics and not in_core else WORK
                items.append(cs.Forward(n0, n0 + 1, write_ics, in_core, storage))
            if n0 + 1 == plan.steps and replay.next_backward == plan.steps:
                items.append(cs.EndForward())  # the first forward sweep is over
        elif op == BACKWARD:
            from_saved = replay.core != step and step in replay.internal
            take()
            if take(Action(FREE_INTERNAL, step)):  # loaded, reversed, gone
                items.append(cs.Move(step - 1, RAM, WORK))
            elif from_saved:
                items.append(cs.Copy(step - 1, RAM, WORK))
            items.append(cs.Reverse(step, step - 1, True))
        elif op == RESTORE_HIDDEN:
            take()
            moved = take(Action(FREE_HIDDEN, step))
            items.append((cs.Move if moved else cs.Copy)(step, RAM, WORK))
        elif op == FREE_HIDDEN:
            take()
            if step != 0 or replay.forward_count:  # h[0] freed before any forward: no data
                items.append(cs.Move(step, RAM, NONE))
        else:  # FREE_INTERNAL
            take()
            items.append(cs.Move(step - 1, RAM, NONE))
    items.append(cs.EndReverse())
    return merge_forwards(cs, items)


def merge_forwards(cs, items: list) -> list:
    """Join each forward that stores nothing to the forward before it when that one keeps
    no adjoint data either, as revolve writes them: ``Forward(2, 5, True, False, RAM)``."""
    merged: list = []
    for item in items:
        last = merged[-1] if merged else None
        if (
            isinstance(item, cs.Forward)
            and isinstance(last, cs.Forward)
            and last.n1 == item.n0
            and not (item.write_ics or item.write_adj_deps or last.write_adj_deps)
        ):
            merged[-1] = cs.Forward(last.n0, item.n1, last.write_ics, False, last.storage)
        else:
            merged.append(item)
    return merged


@lru_cache(maxsize=1)
def schedule_class():
    """A ``CheckpointSchedule`` that yields a fixed list of actions (made on first use,
    so that importing this module does not import checkpoint-schedules)."""
    cs = schedules_module()

    class PlanSchedule(cs.CheckpointSchedule):
        """A mini_bptt plan as a checkpoint-schedules schedule; ``items`` lists its actions."""

        def __init__(self, items, steps: int) -> None:
            super().__init__(steps)
            self.items = tuple(items)
            self._exhausted = False

        def _iterator(self):
            for index, item in enumerate(self.items):
                if isinstance(item, cs.Forward):
                    self._n = item.n1
                elif isinstance(item, cs.Reverse):
                    self._r += item.n1 - item.n0
                elif self._restarts(index):
                    self._n = item.n
                yield item
            self._exhausted = True

        def _restarts(self, index: int) -> bool:
            """Is item ``index`` a load of restart data (the next forward starts from it)?"""
            item, following = self.items[index], self.items[index + 1 : index + 2]
            return (
                isinstance(item, cs.Copy | cs.Move)
                and item.to_storage == cs.StorageType.WORK
                and bool(following)
                and isinstance(following[0], cs.Forward)
                and following[0].n0 == item.n
            )

        @property
        def is_exhausted(self) -> bool:
            return self._exhausted

        def uses_storage_type(self, storage_type) -> bool:
            return storage_type in (cs.StorageType.RAM, cs.StorageType.WORK)

    return PlanSchedule
