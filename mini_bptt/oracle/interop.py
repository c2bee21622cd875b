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
- ``EndForward``: nothing; ``EndReverse``: the end (an online schedule would go on to
  another reverse).

When a key holds both kinds of data, a load is of the adjoint data if step ``n + 1``
is the next to reverse, else of the restart data. A schedule whose first forward
does not store restart data at 0 gets ``free_hidden 0`` before it, since it never
asks for ``h[0]`` again. Adjoint-dependency data cannot restart the forward, so
converted schedules are valid with ``internal_has_output=False``.

**Units.** Every item their schedule keeps in storage is one saved item of ours: restart
data is a hidden state (1 unit), adjoint data an internal state (``alpha`` units; their
mixed schedule takes both to be one unit, so check it with ``alpha=1``). ``h[0]`` is one of
the snapshots: our budget holds it from the start, as their ``snapshots`` (``snapshots_in_ram``)
count the initial state, so ``Revolve(steps, s)`` and ``MultistageCheckpointSchedule(steps,
s, 0)`` check with ``memory=s``.

**Storage levels.** Our budget is one memory level. ``StorageType.RAM`` is in it;
``StorageType.DISK`` is refused, naming the first action that stores, loads or deletes
disk data, unless ``count_disk=True`` counts disk data in the same budget. Then an item
stays counted until the schedule deletes it (a ``Move``) from every level that holds it,
and data held on both levels at once is one item. ``TwoLevelCheckpointSchedule(period,
b)`` then checks with ``memory = ceil(steps / period) + b``; ``HRevolve`` and
``DiskRevolve`` keep disk data that they copy back to RAM until the end, so their peak in
one budget can pass ``snapshots_in_ram + snapshots_on_disk``, and ``mb.check`` says where.

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

from mini_bptt.common import arguments
from mini_bptt.oracle.interop_export import export_items, schedule_class, schedules_module
from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    RESTORE_HIDDEN,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    Action,
)
from mini_bptt.planning.plan import Plan


def from_checkpoint_schedule(
    schedule: Iterable, *, count_disk: bool = False, steps: int | None = None
) -> list[Action]:
    """Our actions for the actions of a checkpoint-schedules schedule (see the table above).

    Parameters
    ----------
    schedule : iterable
        A ``CheckpointSchedule`` (``Revolve``, ``HRevolve``, ``MultistageCheckpointSchedule``,
        ``TwoLevelCheckpointSchedule``, ...) or any iterable of their actions. Reading stops
        at the first ``EndReverse`` (an online schedule goes on to another reverse).
    count_disk : bool
        Our model has one memory level. By default data kept on ``StorageType.DISK`` is
        refused, naming the first action that keeps, loads or deletes it; with True it is
        counted in the one budget like memory (see *Units* above).
    steps : int, optional
        The forward's length, for a schedule that learns it only when finalized
        (``max_n`` None, such as ``TwoLevelCheckpointSchedule``): the importer calls
        ``schedule.finalize(steps)`` when the forward reaches it, and ends the forward there.
        For a schedule that knows its length it must equal ``max_n``.

    Returns
    -------
    list of Action
        Check them with ``mb.check(actions, steps, memory, alpha=1,
        internal_has_output=False)`` (or True when the schedule stores no adjoint data).

    Raises
    ------
    ValueError
        For an action on a storage level that is not counted (one line: which action,
        which level), an action on storage that holds nothing or with no counterpart, or a
        schedule without a length and no ``steps``.
    TypeError
        For a ``count_disk`` that is not a bool or a ``steps`` that is not an integer.

    Examples
    --------
    >>> import checkpoint_schedules as cs, mini_bptt as mb
    >>> from_checkpoint_schedule(cs.HRevolve(20, 2, 2))
    Traceback (most recent call last):
    ...
    ValueError: schedule action 0, Forward(...), stores restart data on StorageType.DISK, ...
    >>> actions = from_checkpoint_schedule(cs.HRevolve(20, 2, 2), count_disk=True)
    >>> mb.check(actions, steps=20, memory=2 + 2).valid
    True
    """
    cs = schedules_module()
    arguments.boolean("count_disk", count_disk)
    steps = _length(cs, schedule, steps)
    actions: list[Action] = []
    # (kind, key) -> the levels holding it: kind "restart" (our h[key]) or "adjoint" (our
    # s[key+1]); data on both levels is one saved item here, freed when neither holds it
    held: dict[tuple[str, int], set[str]] = {("restart", 0): {"memory"}}  # h[0], from the start
    free_after_backward: set[int] = set()
    first_forward = True  # h[0] is saved in our model; free it if the schedule never stores it
    next_backward: int | None = None  # our step; None before the first Reverse
    reached = 0  # the furthest our forward has gone: the first step to reverse

    def emit(op: str, step) -> None:
        # with numba installed, the mixed schedule's steps are NumPy integers
        actions.append(Action(op, int(step)))

    def level(index: int, item, storage, what: str) -> str:
        """The level ``storage`` stands for, "memory" (RAM; WORK when our own export
        stores restart data in a forward that keeps its adjoint data in the core) or
        "disk"; a ValueError naming the action and the level when disk is not counted."""
        if storage == cs.StorageType.DISK and not count_disk:
            raise ValueError(
                f"schedule action {index}, {item!r}, {what} {storage!r}, which mini_bptt "
                "does not count: its budget is one memory level; pass count_disk=True to "
                "count disk data in it like memory"
            )
        return "disk" if storage == cs.StorageType.DISK else "memory"

    def kinds_at(n: int, where: str) -> list[str]:
        return [kind for kind in ("restart", "adjoint") if where in held.get((kind, n), ())]

    def keep(kind: str, n: int, where: str) -> bool:
        """Record ``kind`` data at ``n`` on a level; True if it was saved on none before."""
        levels = held.setdefault((kind, n), set())
        levels.add(where)
        return len(levels) == 1

    def drop(kind: str, n: int, where: str) -> bool:
        """Forget ``kind`` data at ``n`` on a level; True if no level holds it now."""
        levels = held[(kind, n)]
        levels.discard(where)
        return not levels

    for index, item in enumerate(schedule):
        if isinstance(item, cs.Forward):
            n0, n1, write_ics, write_adj_deps, storage = item.args
            if steps is not None and n1 >= steps:
                _finalize(schedule, steps)
                n1 = steps  # an online forward stops where the sequence ends
            in_core = storage == cs.StorageType.WORK  # adjoint data in WORK: our core
            if write_ics or (write_adj_deps and not in_core):
                what = "restart" if write_ics else "adjoint"
                where = level(index, item, storage, f"stores {what} data on")
            if n0 == 0 and first_forward:
                first_forward = False
                held.pop(("restart", 0))
                if not write_ics:
                    emit(FREE_HIDDEN, 0)
            if write_ics and keep("restart", n0, where) and n0 != 0:
                emit(SAVE_HIDDEN, n0)
            for n in range(n0, n1):
                emit(FORWARD, n + 1)
                if write_adj_deps and not in_core and keep("adjoint", n, where):
                    emit(SAVE_INTERNAL, n + 1)
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
            n, source, target = item.args
            moved = isinstance(item, cs.Move)
            deletes = target == cs.StorageType.NONE
            where = level(index, item, source, f"{'deletes' if deletes else 'loads'} data from")
            if target not in (cs.StorageType.WORK, cs.StorageType.NONE):
                level(index, item, target, "copies data to")
                raise ValueError(
                    f"unsupported checkpoint-schedules action {item!r}: a copy between two "
                    "storage levels (ours has one)"
                )
            kinds = kinds_at(n, where)
            if deletes and moved:
                if len(kinds) != 1:
                    holds = "nothing" if not kinds else "both restart and adjoint data"
                    raise ValueError(f"{item!r} deletes storage key {n}, which holds {holds}")
                if drop(kinds[0], n, where):
                    emit(*((FREE_HIDDEN, n) if kinds[0] == "restart" else (FREE_INTERNAL, n + 1)))
                continue
            if deletes:
                raise ValueError(f"unsupported checkpoint-schedules action {item!r}")
            if not kinds:
                raise ValueError(f"{item!r} uses storage key {n}, which holds nothing")
            # both kinds at one key: adjoint data serves only the next step to reverse
            adjoint = kinds == ["adjoint"] or (
                len(kinds) == 2 and n + 1 == (next_backward or reached)
            )
            if not adjoint:
                emit(RESTORE_HIDDEN, n)
                if moved and drop("restart", n, where):
                    emit(FREE_HIDDEN, n)
            elif moved and drop("adjoint", n, where):
                free_after_backward.add(n + 1)
        elif isinstance(item, cs.EndReverse):
            break
        elif not isinstance(item, cs.EndForward):
            raise ValueError(f"unsupported checkpoint-schedules action {item!r}")
    return actions


def _length(cs, schedule, steps: object) -> int | None:
    """``steps`` checked against the schedule's own length; required when it has none."""
    if steps is not None:
        steps = arguments.count("steps", steps)
    known = schedule.max_n if isinstance(schedule, cs.CheckpointSchedule) else None
    if isinstance(schedule, cs.CheckpointSchedule) and known is None and steps is None:
        raise ValueError(
            f"{type(schedule).__name__} learns its length only when finalized (max_n is "
            "None): pass steps=, the number of forward steps"
        )
    if known is not None and steps is not None and steps != known:
        raise ValueError(f"steps={steps} but the schedule's max_n is {known}")
    return steps if known is None else None


def _finalize(schedule, steps: int) -> None:
    """Tell an online schedule that its forward ended at ``steps`` (once)."""
    if getattr(schedule, "max_n", steps) is None:
        schedule.finalize(steps)


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
    items = export_items(plan)
    back = from_checkpoint_schedule(items)
    for index, (ours, theirs) in enumerate(zip(plan.actions, back, strict=False)):
        if ours != theirs:
            raise ValueError(
                f"plan action {index} ({ours.op} {ours.step}) has no checkpoint-schedules "
                f"counterpart: the export reads back as {theirs.op} {theirs.step}"
            )
    if len(back) != len(plan.actions):  # pragma: no cover - every action maps to one or more
        raise AssertionError("the export reads back to a plan of another length")
    return schedule_class()(items, plan.steps)


def revolve_actions(steps: int, snapshots: int) -> list[Action]:
    """Griewank and Walther's revolve; valid with ``memory = snapshots`` (h[0] is one)."""
    return from_checkpoint_schedule(schedules_module().Revolve(steps, snapshots))


def multistage_actions(steps: int, snapshots: int) -> list[Action]:
    """Stumm and Walther's multistage binomial schedule, all snapshots in RAM."""
    return from_checkpoint_schedule(
        schedules_module().MultistageCheckpointSchedule(steps, snapshots, 0)
    )


def mixed_actions(steps: int, snapshots: int) -> list[Action]:
    """Maddison's mixed schedule (restart or adjoint data in equal-size units);
    valid with ``memory = snapshots``, ``alpha = 1`` and ``internal_has_output=False``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Numba not available", RuntimeWarning)
        schedule = schedules_module().MixedCheckpointSchedule(steps, snapshots, storage=_ram())
        return from_checkpoint_schedule(schedule)


def _ram():
    return schedules_module().StorageType.RAM
