"""Run a plan on a real cell: the paper's algorithm with exact accounting.

Every action first goes through the shared ``Replay`` (docs/model.md, *Actions*), which raises
``PlanError`` naming the action index and the rule *before* any arithmetic, so a
bad plan can never produce wrong gradients. Head losses are taken when a step is
reversed, from the output state inside that step's internal state.
"""

from __future__ import annotations

import numpy as np

from mini_bptt.cells.base import cache_nbytes
from mini_bptt.cells.bptt import check_run, reverse_step, zero_grads
from mini_bptt.cells.result import Result
from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
)
from mini_bptt.planning.plan import Plan, parse_memory
from mini_bptt.planning.replay import Replay
from mini_bptt.planning.units import units_for


def execute(plan: Plan, cell, xs: np.ndarray, h0: np.ndarray, head) -> Result:
    """Run ``plan`` on ``cell`` with inputs ``xs`` (steps, batch, input_size) from state ``h0``.

    Rules and memory are enforced with the plan's own ``memory``, ``alpha`` and
    ``internal_has_output``; make the plan with ``alpha=cell.alpha`` for its
    units to describe the cell's real memory. ``peak_bytes`` is measured from
    the ``nbytes`` of the arrays held in the store.
    """
    if not isinstance(plan, Plan):
        raise TypeError(
            f"plan must be a mini_bptt.Plan (see Plan.from_json), got {type(plan).__name__}"
        )
    steps, _ = check_run(cell, xs, h0, head)
    if steps != plan.steps:
        raise ValueError(f"xs has {steps} steps but the plan is for steps={plan.steps}")
    units = units_for(plan.alpha)
    budget = units.to_units(parse_memory(plan.memory, plan.steps, units))
    replay = Replay(steps, units, budget, plan.internal_has_output)

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
            state, core = cell.forward(state, xs[step - 1])
            core_step = step
        elif op == BACKWARD:
            cache = core if core_step == step else internal[step]
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
    return Result(
        loss=loss,
        grads=grads,
        dh0=dstate,
        forward_count=replay.forward_count,
        backward_count=replay.backward_count,
        peak_memory=units.to_memory(replay.peak),
        peak_bytes=peak_bytes,
        memory_timeline=tuple(u / units.hidden for u in replay.timeline),
    )
