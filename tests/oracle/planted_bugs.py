"""What a loop with a planted bug does differently from its plan, worked out from the plan
alone: the examples' tests (PyTorch and JAX) compare it with what the oracle reports."""

from __future__ import annotations

import mini_bptt as mb

# bugs in what is computed, not in which action is taken: the loop's trace is its plan
COMPUTING_BUGS = {"bfloat16_accumulator", "uncut_graph", "dropped_loss"}
# the tables of docs/testing.md and docs/jax.md (both loops run the same plan: T = 60,
# 20%, alpha 4.5): first departure, first broken rule (None: no such action)
TABLE = {
    "wrong_restore": (193, 210),
    "keep_hidden": (194, None),
    "keep_internal": (78, 80),
    "stale_core": (77, 77),
    "ascending": (77, 77),
    "bfloat16_accumulator": (None, None),
    "uncut_graph": (None, None),
    "dropped_loss": (None, None),
}


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


def assert_caught_at_first_departure(example, plant, dtype, table, wrong_arrays, capsys):
    """An example (PyTorch or JAX) run with ``plant`` catches it, and says so, at the first
    departure worked out from the plan alone; ``table`` gives (departure, first broken
    rule) per bug, ``wrong_arrays`` the arrays each computing bug must put over tolerance."""
    assert sorted(example["PLANTED"]) == sorted(table)
    verdict, comparison, broken = example["check_one_dtype"](dtype, plant)
    plan = mb.plan(example["STEPS"], example["MEMORY"], alpha=4.5)
    k = first_departure(plan, plant)
    assert (k, broken) == table[plant]
    assert example["main"](["--plant", plant]) == 0  # caught
    out = capsys.readouterr().out
    if k is None:  # the trace is the plan, valid: only the gradients show the bug
        assert verdict.valid and verdict.follows_plan and verdict.departure is None
        assert [a.name for a in comparison.arrays if not a.ok] == wrong_arrays[plant]
        assert "first departure from the plan: none" in out
        assert f"caught by: the gradients: {', '.join(wrong_arrays[plant])} over" in out
        return
    assert verdict.departure.index == k and verdict.departure.planned == plan.actions[k]
    assert verdict.follows_plan is False
    assert verdict.valid == (broken is None)
    if not verdict.valid:  # the broken rule comes at or after the departure, and names it
        assert broken >= k and comparison is None
        assert verdict.error.startswith(f"action {broken} ")
        assert verdict.overhead is None and verdict.error.endswith(str(verdict.departure))
        assert f"caught by: the trace: action {broken} breaks a rule; " in out
    else:  # a forgotten free that fits the budget: the gradients are right
        assert comparison.ok
    assert f"the check against the plan: first departure at action {k}" in out
    assert f"first departure from the plan: action {k}" in out
    assert f"action {k}: the plan has" in out
