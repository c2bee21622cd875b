"""What a loop with a planted bug does differently from its plan, worked out from the plan
alone: the examples' tests (PyTorch and JAX) compare it with what the oracle reports."""

from __future__ import annotations

import mini_bptt as mb

COMPUTING_BUGS = {"bfloat16_accumulator", "uncut_graph", "dropped_loss"}


def first_departure(plan: mb.Plan, plant: str) -> int | None:
    """Where the loop with ``plant`` first does something else than ``plan``, worked out
    from the plan alone: the loop is the plan up to there (None: never)."""
    if plant in COMPUTING_BUGS:
        return None
    hidden, internal, core = {0}, set(), None
    for index, action in enumerate(plan.actions):
        op, i = action.op, action.step
        if plant == "wrong_restore" and op == "restore_hidden" and any(k < i for k in hidden):
            return index
        if plant == "keep_hidden" and op == "free_hidden":
            return index
        if plant == "keep_internal" and op == "free_internal":
            return index
        if plant == "stale_core" and op == "backward" and core != i:
            return index
        if plant == "ascending" and op == "backward" and i in internal and min(internal) != i:
            return index
        if op == "forward":
            core = i
        elif op in ("save_hidden", "free_hidden"):
            hidden ^= {i}
        elif op in ("save_internal", "free_internal"):
            internal ^= {i}
    raise AssertionError(f"{plant} never changes what the loop does")
