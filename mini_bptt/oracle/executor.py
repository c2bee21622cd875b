"""Run a plan on a real cell: the paper's algorithm with exact accounting.

Every action first goes through the shared ``Replay`` (docs/model.md, *Actions*), which raises
``PlanError`` naming the action index and the rule *before* any arithmetic, so a
bad plan can never produce wrong gradients. Head losses are taken when a step is
reversed, from the output state inside that step's internal state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tracemalloc
from collections.abc import Iterator

import numpy as np

from mini_bptt.cells.base import Cell, cache_nbytes
from mini_bptt.cells.bptt import check_run, reverse_step, zero_grads
from mini_bptt.cells.heads import Head
from mini_bptt.common import arguments
from mini_bptt.oracle.memory_report import ExecutionResult, MemoryReport
from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
)
from mini_bptt.planning.plan import Plan
from mini_bptt.planning.replay import Replay


def execute(
    plan: Plan,
    cell: Cell,
    xs: np.ndarray,
    h0: np.ndarray,
    head: Head,
    *,
    measure_memory: bool = False,
) -> ExecutionResult:
    """Run ``plan`` on a real cell: checkpointed BPTT with exact accounting.

    Every action is checked against the rules before any arithmetic, with the plan's own
    ``memory``, ``alpha`` and ``internal_has_output``; make the plan with
    ``alpha=cell.alpha`` so that its units describe the cell's real memory. The
    gradients are bitwise equal to ``full_bptt``'s: recomputation repeats the same
    arithmetic.

    Parameters
    ----------
    plan : Plan
        The actions to run, for ``plan.steps`` steps.
    cell : RNNCell, LSTMCell or another ``Cell``
        The recurrent cell (its parameters are read, not changed).
    xs : numpy.ndarray
        Inputs, float64, shape (steps, batch, input_size).
    h0 : numpy.ndarray
        Initial state, float64, shape (batch, state_size).
    head : MSEHead, SoftmaxHead or another head
        The per-step loss on the cell's output.
    measure_memory : bool
        Also trace the run with ``tracemalloc`` (slower) and report in
        ``ExecutionResult.memory`` the plan's peak against the bytes the run really held.

    Returns
    -------
    ExecutionResult
        A ``Result``: ``loss``, ``grads`` (name -> array, the cell's and the head's),
        ``dh0``, ``forward_count``, ``backward_count``, ``peak_memory`` (units),
        ``peak_bytes`` (``nbytes`` of the saved arrays at the peak), ``memory_timeline``;
        and ``memory``, the ``MemoryReport`` (None unless ``measure_memory``).

    Raises
    ------
    PlanError
        (a ValueError) at the first action that breaks a rule, before its arithmetic.
    TypeError, ValueError
        For arguments of the wrong type or shape, named.

    Examples
    --------
    >>> import numpy as np, mini_bptt as mb
    >>> cell, rng = mb.LSTMCell(3, 4), np.random.default_rng(0)
    >>> xs, h0 = rng.normal(size=(10, 2, 3)), np.zeros((2, 8))
    >>> head = mb.MSEHead(rng.normal(size=(10, 2, 4)))
    >>> result = mb.execute(mb.plan(10, "30%", alpha=cell.alpha), cell, xs, h0, head)
    >>> full = mb.full_bptt(cell, xs, h0, head)
    >>> all(np.array_equal(result.grads[k], full.grads[k]) for k in full.grads)
    True
    >>> result.forward_count, full.forward_count
    (17, 10)
    """
    if not isinstance(plan, Plan):
        raise TypeError(
            f"plan must be a mini_bptt.Plan (see Plan.from_json), got {type(plan).__name__}"
        )
    steps, _ = check_run(cell, xs, h0, head)
    if steps != plan.steps:
        raise ValueError(f"xs has {steps} steps but the plan is for steps={plan.steps}")
    grains = plan.problem.grains
    replay = Replay(steps, grains, plan.problem.budget, plan.internal_has_output)

    arguments.boolean("measure_memory", measure_memory)
    with traced_peak(measure_memory) as traced:
        result = _run(plan, replay, grains, cell, xs, h0, head)
    if not measure_memory:
        return result
    report = MemoryReport(
        plan_peak_units=result.peak_memory,
        plan_peak_bytes=result.peak_bytes,
        unit_bytes=h0.nbytes,
        measured_peak_bytes=traced.peak,
        gradient_bytes=sum(g.nbytes for g in result.grads.values()),
    )
    return dataclasses.replace(result, memory=report)


class _Trace:
    peak = 0


@contextlib.contextmanager
def traced_peak(enabled: bool = True) -> Iterator[_Trace]:
    """Peak bytes allocated inside the block (``tracemalloc``), above what existed before,
    in ``.peak`` once the block ends (0 when not ``enabled``). Leaves tracing as it was."""
    trace = _Trace()
    if not enabled:
        yield trace
        return
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    try:
        yield trace
        trace.peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()


def _run(plan: Plan, replay: Replay, grains, cell, xs, h0, head) -> ExecutionResult:
    """The loop of ``execute``: every action replayed, then applied to the arrays."""
    hidden = {0: h0}  # position -> saved state array
    internal = {}  # position -> saved cache
    state, core, core_step = h0, None, None
    held_bytes = peak_bytes = h0.nbytes
    grads = zero_grads(cell, head)
    loss, dstate = 0.0, np.zeros_like(h0)
    apply = replay.apply  # the loop runs once per action: keep lookups out of it
    for index, action in enumerate(plan.actions):
        op, step = action.op, action.step
        apply(index, op, step)  # raises before any arithmetic on a broken rule
        if op == FORWARD:
            core = None  # the new step's cache replaces it: never hold both
            state, core = cell.forward(state, xs[step - 1])
            core_step = step
        elif op == BACKWARD:
            cache = core if core_step == step else internal[step]
            if core_step == step:  # s[step] is never read again: let the core go
                core, core_step = None, None
            step_loss, dstate = reverse_step(cell, head, step - 1, cache, dstate, grads)
            loss += step_loss
        elif op == SAVE_HIDDEN:
            hidden[step] = state
            held_bytes += state.nbytes
            peak_bytes = max(peak_bytes, held_bytes)
        elif op == SAVE_INTERNAL:
            internal[step] = core
            held_bytes += cache_nbytes(core)
            peak_bytes = max(peak_bytes, held_bytes)
        elif op == RESTORE_HIDDEN:
            state, core, core_step = hidden[step], None, None
        elif op == RESTORE_INTERNAL:
            state = cell.next_state(internal[step])
        elif op == FREE_HIDDEN:
            held_bytes -= hidden.pop(step).nbytes
        else:  # FREE_INTERNAL: the replay accepted the op, so nothing else is left
            held_bytes -= cache_nbytes(internal.pop(step))
    replay.finish(len(plan.actions))
    return ExecutionResult(
        loss=loss,
        grads=grads,
        dh0=dstate,
        forward_count=replay.forward_count,
        backward_count=replay.backward_count,
        peak_memory=grains.in_units(replay.peak),
        peak_bytes=peak_bytes,
        memory_timeline=tuple(g / grains.hidden for g in replay.timeline),
    )
