"""Convert checkpoint-schedules' schedules into mini_bptt actions.

``checkpoint_schedules`` (Maddison, Dolci, Ham) is imported only when a function
here is called; install it with ``pip install checkpoint-schedules``. Its steps
are 0-based (step ``n`` goes from state ``n`` to ``n + 1``); ours are 1-based
(step ``i`` goes from ``h[i-1]`` to ``h[i]``), so its step ``n`` is our ``n + 1``.

- ``Forward(n0, n1, write_ics, write_adj_deps, storage)``: ``save_hidden n0`` if
  ``write_ics`` (not for ``n0 = 0``, saved from the start), then ``forward n0+1 .. n1``,
  each followed by ``save_internal`` if ``write_adj_deps`` with RAM/DISK storage (with
  WORK storage the last step's data is our core);
- ``Reverse(n1, n0)``: ``backward n1 .. n0+1``;
- ``Copy(n, storage, WORK)`` of restart data: ``restore_hidden n``;
  ``Move``: ``restore_hidden n``, ``free_hidden n``;
- ``Copy`` of adjoint-dependency data ``n``: nothing (``backward n+1`` reads the saved
  ``s[n+1]``); ``Move``: ``free_internal n+1`` right after ``backward n+1``;
- ``EndForward``, ``EndReverse``: nothing.

A schedule that never stores restart data at 0 gets ``free_hidden 0`` after the
first forward step, since it never asks for ``h[0]`` again. Adjoint-dependency
data cannot restart the forward, so converted mixed schedules are valid with
``internal_has_output=False``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

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
    kind: dict[int, str] = {0: "restart"}  # what each storage key holds
    free_after_backward: set[int] = set()
    h0_pending = True  # h[0] is saved in our model; free it if the schedule never stores it

    def emit(op: str, step) -> None:
        # with numba installed, the mixed schedule's steps are NumPy integers
        actions.append(Action(op, int(step)))

    for item in schedule:
        if isinstance(item, cs.Forward):
            n0, n1, write_ics, write_adj_deps, storage = item.args
            if write_ics and n0 != 0:
                emit(SAVE_HIDDEN, n0)
                kind[n0] = "restart"
            for n in range(n0, n1):
                emit(FORWARD, n + 1)
                if n == 0 and h0_pending and not write_ics:
                    emit(FREE_HIDDEN, 0)
                    kind.pop(0)
                if write_adj_deps and storage != cs.StorageType.WORK:
                    emit(SAVE_INTERNAL, n + 1)
                    kind[n] = "adjoint"
            if n0 == 0:
                h0_pending = False
        elif isinstance(item, cs.Reverse):
            n1, n0 = item.args[0], item.args[1]
            for step in range(n1, n0, -1):
                emit(BACKWARD, step)
                if step in free_after_backward:
                    free_after_backward.remove(step)
                    emit(FREE_INTERNAL, step)
        elif isinstance(item, cs.Copy | cs.Move):
            n, _, target = item.args
            if target != cs.StorageType.WORK:
                raise ValueError(f"unsupported checkpoint-schedules action {item!r}")
            moved = isinstance(item, cs.Move)
            if kind.get(n) == "restart":
                emit(RESTORE_HIDDEN, n)
                if moved:
                    emit(FREE_HIDDEN, n)
                    kind.pop(n)
            elif kind.get(n) == "adjoint":
                if moved:
                    free_after_backward.add(n + 1)
                    kind.pop(n)
            else:
                raise ValueError(f"{item!r} loads storage key {n}, which holds nothing")
        elif not isinstance(item, cs.EndForward | cs.EndReverse):
            raise ValueError(f"unsupported checkpoint-schedules action {item!r}")
    return actions


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
