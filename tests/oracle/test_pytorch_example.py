"""examples/pytorch_oracle.py runs BPTT-MSM in PyTorch from a mini_bptt plan, records its
trace from the data path and compares its gradients with ours; each bug it can plant is
caught: a control-flow bug at the first action where its loop leaves the plan, a bug in
what is computed by the gradients. It runs where torch is installed (torch is never a
dependency of mini_bptt or of its tests); elsewhere these tests are skipped."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

import mini_bptt as mb
from tests.oracle.planted_bugs import TABLE, assert_caught_at_first_departure

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytorch_oracle.py"

torch = pytest.importorskip(
    "torch", reason="the PyTorch example needs torch, which mini_bptt does not depend on"
)


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLE))


def test_pytorch_implementation_is_valid_follows_its_plan_and_agrees_per_dtype(example, capsys):
    for dtype, worst in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        verdict, comparison, broken_at = example["check_one_dtype"](dtype)
        assert verdict.valid and verdict.follows_plan and broken_at is None
        assert verdict.forward_count == verdict.optimal_forward_count
        assert comparison.ok
        assert max(a.max_rel_error for a in comparison.arrays) < worst
    assert example["main"]([]) == 0
    out = capsys.readouterr().out
    assert "INVALID" not in out and out.count("plan: the trace follows it") == 2
    assert out.count("caught by: nothing") == 2


PARAMETERS = ["weight_hh", "weight_ih", "bias_hh", "bias_ih"]
# the arrays each computing bug must put over the tolerance: the bfloat16 sums hold only
# the parameter gradients (the state gradient is carried apart, in the run's dtype); the
# loss of step 1 and the runs into earlier steps reach every array
WRONG_ARRAYS = {
    "bfloat16_accumulator": PARAMETERS,
    "uncut_graph": [*PARAMETERS, "dh0", "dc0"],
    "dropped_loss": [*PARAMETERS, "dh0", "dc0"],
}


@pytest.mark.parametrize("plant", sorted(TABLE))
def test_each_planted_bug_is_caught_at_the_first_departure(example, plant, capsys):
    assert_caught_at_first_departure(example, plant, torch.float64, TABLE, WRONG_ARRAYS, capsys)


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
