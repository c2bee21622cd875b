"""Convert between checkpoint-schedules' schedules and mini_bptt actions, both ways.

``checkpoint_schedules`` (Maddison, Dolci, Ham) is imported only when a function
here is called; install it with ``pip install checkpoint-schedules``. Its steps
are 0-based (step ``n`` goes from state ``n`` to ``n + 1``); ours are 1-based
(step ``i`` goes from ``h[i-1]`` to ``h[i]``), so its step ``n`` is our ``n + 1``.
Its restart data at ``n`` is our ``h[n]``; its adjoint-dependency data of step ``n``
is our internal state ``s[n+1]``; data in ``WORK`` storage is our cursor and core.

The mapping is defined once, by the importer ``from_checkpoint_schedule``:

- ``Forward(n0, n1, write_ics, write_adj_deps, storage)``: ``save_hidden n0`` if
  ``write_ics`` (not for ``n0 = 0``, saved from the start), then ``forward n0+1 .. n1``,
  each followed by ``save_internal`` if ``write_adj_deps`` with RAM/DISK storage (with
  WORK storage the last step's data is our core);
- ``Reverse(n1, n0)``: ``backward n1 .. n0+1``;
- ``Copy(n, storage, WORK)`` of restart data: ``restore_hidden n``;
  ``Move``: ``restore_hidden n``, ``free_hidden n``;
- ``Copy`` of adjoint-dependency data ``n``: nothing (``backward n+1`` reads the saved
  ``s[n+1]``); ``Move``: ``free_internal n+1`` right after ``backward n+1``;
- ``Move(n, storage, NONE)`` (a delete): ``free_hidden n`` or ``free_internal n+1``;
- ``EndForward``, ``EndReverse``: nothing.

When a key holds both kinds of data, a load is of the adjoint data if step ``n + 1``
is the next to reverse, else of the restart data. A schedule whose first forward
does not store restart data at 0 gets ``free_hidden 0`` before it, since it never
asks for ``h[0]`` again. Adjoint-dependency data cannot restart the forward, so
converted schedules are valid with ``internal_has_output=False``.

``to_checkpoint_schedule`` writes one of our plans in that vocabulary and checks
that the importer reads it back action for action. Plans outside the importer's
image are refused with the first action that has no counterpart: a
``restore_internal`` (checkpoint-schedules cannot restart the forward from
adjoint-dependency data), a ``save_hidden`` not followed by the forward from that
state, a ``save_internal`` not right after its forward.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
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


def _schedules():
    try:
        import checkpoint_schedules
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "mini_bptt.oracle.interop needs checkpoint-schedules: pip install checkpoint-schedules"
        ) from exc
    return checkpoint_schedules


def from_checkpoint_schedule(schedule: Iterable) -> list[Action]:
    """Our actions for the actions of a checkpoint-schedules schedule (see the table above)."""
    cs = _schedules()
    actions: list[Action] = []
    held: dict[int, set[str]] = {0: {"restart"}}  # what each storage key holds
    free_after_backward: set[int] = set()
    first_forward = True  # h[0] is saved in our model; free it if the schedule never stores it
    next_backward: int | None = None  # our step; None before the first Reverse
    reached = 0  # the furthest our forward has gone: the first step to reverse

    def emit(op: str, step) -> None:
        # with numba installed, the mixed schedule's steps are NumPy integers
        actions.append(Action(op, int(step)))

    def kind_of(item, n: int) -> str:
        kinds = held.get(n, set())
        if len(kinds) == 2:  # both: adjoint data serves only the next step to reverse
            return "adjoint" if n + 1 == (next_backward or reached) else "restart"
        if not kinds:
            raise ValueError(f"{item!r} uses storage key {n}, which holds nothing")
        return next(iter(kinds))

    for item in schedule:
        if isinstance(item, cs.Forward):
            n0, n1, write_ics, write_adj_deps, storage = item.args
            if write_ics and n0 != 0:
                emit(SAVE_HIDDEN, n0)
                held.setdefault(n0, set()).add("restart")
            if n0 == 0 and first_forward:
                first_forward = False
                if not write_ics:
                    emit(FREE_HIDDEN, 0)
                    held[0].discard("restart")
            for n in range(n0, n1):
                emit(FORWARD, n + 1)
                if write_adj_deps and storage != cs.StorageType.WORK:
                    emit(SAVE_INTERNAL, n + 1)
                    held.setdefault(n, set()).add("adjoint")
            reached = max(reached, int(n1))
        elif isinstance(item, cs.Reverse):
            n1, n0 = item.args[0], item.args[1]
            for step in range(n1, n0, -1):
                emit(BACKWARD, step)
                if step in free_after_backward:
                    free_after_backward.remove(step)
                    emit(FREE_INTERNAL, step)
            next_backward = int(n0)
        elif isinstance(item, cs.Copy | cs.Move):
            n, _, target = item.args
            moved = isinstance(item, cs.Move)
            if target == cs.StorageType.NONE and moved:  # a delete
                kinds = held.get(n, set())
                if len(kinds) != 1:
                    holds = "nothing" if not kinds else "both restart and adjoint data"
                    raise ValueError(f"{item!r} deletes storage key {n}, which holds {holds}")
                if kinds.pop() == "restart":
                    emit(FREE_HIDDEN, n)
                else:
                    emit(FREE_INTERNAL, n + 1)
            elif target != cs.StorageType.WORK:
                raise ValueError(f"unsupported checkpoint-schedules action {item!r}")
            elif kind_of(item, n) == "restart":
                emit(RESTORE_HIDDEN, n)
                if moved:
                    emit(FREE_HIDDEN, n)
                    held[n].discard("restart")
            elif moved:
                free_after_backward.add(n + 1)
                held[n].discard("adjoint")
        elif not isinstance(item, cs.EndForward | cs.EndReverse):
            raise ValueError(f"unsupported checkpoint-schedules action {item!r}")
    return actions


def to_checkpoint_schedule(plan: Plan):
    """``plan`` as a checkpoint-schedules ``CheckpointSchedule`` (its ``max_n`` is ``plan.steps``).

    Each of our actions becomes the action the importer reads back as it (see the
    table above), and the result is checked: ``from_checkpoint_schedule`` of the
    schedule gives ``plan.actions`` again, so the forward count and the peak are the
    plan's. Restart and adjoint data go to ``StorageType.RAM``.

    Raises ``TypeError`` if ``plan`` is not a ``Plan``; ``ValueError`` naming the first
    action with no counterpart (a ``restore_internal``, a ``save_hidden`` not followed
    by the forward from that state, a ``save_internal`` not right after its forward).
    Plans made with ``internal_has_output=False`` never restore internal states.
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a mini_bptt Plan, got {type(plan).__name__}")
    items = _export(plan)
    back = from_checkpoint_schedule(items)
    for index, (ours, theirs) in enumerate(zip(plan.actions, back, strict=False)):
        if ours != theirs:
            raise ValueError(
                f"plan action {index} ({ours.op} {ours.step}) has no checkpoint-schedules "
                f"counterpart: the export reads back as {theirs.op} {theirs.step}"
            )
    if len(back) != len(plan.actions):  # pragma: no cover - every action maps to one or more
        raise AssertionError("the export reads back to a plan of another length")
    return _schedule_class()(items, plan.steps)


def _export(plan: Plan) -> list:
    """The checkpoint-schedules actions for ``plan.actions``, one pass with a replay."""
    cs = _schedules()
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
    return _merge_forwards(cs, items)


def _merge_forwards(cs, items: list) -> list:
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
def _schedule_class():
    """A ``CheckpointSchedule`` that yields a fixed list of actions (made on first use,
    so that importing this module does not import checkpoint-schedules)."""
    cs = _schedules()

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


def revolve_actions(steps: int, snapshots: int) -> list[Action]:
    """Griewank and Walther's revolve; valid with ``memory = snapshots`` (h[0] is one)."""
    return from_checkpoint_schedule(_schedules().Revolve(steps, snapshots))


def multistage_actions(steps: int, snapshots: int) -> list[Action]:
    """Stumm and Walther's multistage binomial schedule, all snapshots in RAM."""
    return from_checkpoint_schedule(_schedules().MultistageCheckpointSchedule(steps, snapshots, 0))


def mixed_actions(steps: int, snapshots: int) -> list[Action]:
    """Maddison's mixed schedule (restart or adjoint data in equal-size units);
    valid with ``memory = snapshots``, ``alpha = 1`` and ``internal_has_output=False``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Numba not available", RuntimeWarning)
        return from_checkpoint_schedule(_schedules().MixedCheckpointSchedule(steps, snapshots))
