"""examples/pytorch_oracle.py runs BPTT-MSM in PyTorch from a mini_bptt plan, records its
trace from the data path and compares its gradients with ours; each bug it can plant is
caught at the first action where its loop leaves the plan. It runs where torch is
installed (torch is never a dependency of mini_bptt or of its tests); elsewhere these
tests are skipped."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

import mini_bptt as mb

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytorch_oracle.py"

torch = pytest.importorskip(
    "torch", reason="the PyTorch example needs torch, which mini_bptt does not depend on"
)


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLE))


def test_pytorch_implementation_is_valid_follows_its_plan_and_agrees_per_dtype(example, capsys):
    for dtype, worst in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        verdict, comparison = example["check_one_dtype"](dtype)
        assert verdict.valid and verdict.follows_plan
        assert verdict.forward_count == verdict.optimal_forward_count
        assert comparison.ok
        assert max(a.max_rel_error for a in comparison.arrays) < worst
    assert example["main"]([]) == 0
    out = capsys.readouterr().out
    assert "INVALID" not in out and out.count("plan: the trace follows it") == 2


def first_departure(plan: mb.Plan, plant: str) -> int:
    """Where the loop with ``plant`` first does something else than ``plan``, worked out
    from the plan alone: the loop is the plan up to there."""
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


# the table of docs/testing.md (*Planted bugs*): first departure, first broken rule
TABLE = {
    "wrong_restore": (193, 210),
    "keep_hidden": (194, None),
    "keep_internal": (78, 80),
    "stale_core": (77, 77),
    "ascending": (77, 77),
}


@pytest.mark.parametrize("plant", sorted(TABLE))
def test_each_planted_bug_is_caught_at_the_first_departure(example, plant, capsys):
    assert sorted(example["PLANTED"]) == sorted(TABLE)
    verdict, comparison = example["check_one_dtype"](torch.float64, plant)
    plan = mb.plan(example["STEPS"], example["MEMORY"], alpha=4.5)
    k = first_departure(plan, plant)
    assert verdict.departure.index == k and verdict.departure.planned == plan.actions[k]
    assert verdict.follows_plan is False
    broken = None if verdict.valid else int(verdict.error.split()[1])
    assert (k, broken) == TABLE[plant]
    if not verdict.valid:  # the broken rule comes at or after the departure, and names it
        assert broken >= k and comparison is None
        assert verdict.overhead is None and verdict.error.endswith(str(verdict.departure))
    assert example["main"](["--plant", plant]) == 0  # caught
    assert f"action {k}: the plan has" in capsys.readouterr().out


class Ignored:
    """A tracer that ignores every call: the loop's work without its record."""

    def __getattr__(self, name):
        return lambda step: None


def test_feeding_the_plan_to_the_recorder_shows_no_planted_bug(example):
    """The circular style: the Recorder gets the plan's actions whatever the loop does, so
    its trace is the plan, valid and followed, with every bug planted. The two forgotten
    frees do not even change the gradients (only the trace recorded from the data shows
    them); the three others crash in autograd, which says nothing of where they began."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(example["INPUTS"], example["HIDDEN"]).double()
    plan = mb.plan(example["STEPS"], example["MEMORY"], alpha=4.5)
    echo = mb.Recorder(plan.steps, plan.memory, alpha=plan.alpha, plan=plan)
    for action in plan.actions:
        getattr(echo, action.op)(action.step)
    assert echo.finish().valid and echo.result().follows_plan
    shape = (example["BATCH"], example["HIDDEN"])
    inputs = torch.randn(example["STEPS"], example["BATCH"], example["INPUTS"]).double()
    targets = torch.randn(example["STEPS"], *shape).double()
    h0, c0 = torch.zeros(shape).double(), torch.zeros(shape).double()
    grads = {}
    for plant in (None, "keep_hidden", "keep_internal"):
        cell.zero_grad()
        run = example["run_plan_in_torch"]
        carry = run(plan, cell, inputs, h0, c0, targets, Ignored(), plant=plant)
        grads[plant] = [p.grad.clone() for p in cell.parameters()] + list(carry)
    for plant in ("keep_hidden", "keep_internal"):
        assert all(torch.equal(a, b) for a, b in zip(grads[None], grads[plant], strict=True))
    for plant in ("wrong_restore", "stale_core", "ascending"):  # only autograd objects
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            run(plan, cell, inputs, h0, c0, targets, Ignored(), plant=plant)
