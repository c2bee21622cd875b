"""examples/jax_oracle.py runs BPTT-MSM in JAX from a mini_bptt plan, records its trace
from the data path and compares its gradients with ours; each bug it can plant is caught,
by the trace at the first action where its loop leaves the plan, or by the gradients. It
runs where jax is installed (jax is never a dependency of mini_bptt or of its tests);
elsewhere these tests are skipped."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from tests.oracle.planted_bugs import TABLE, assert_caught_at_first_departure

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "jax_oracle.py"

pytest.importorskip("jax", reason="the JAX example needs jax, which mini_bptt does not depend on")


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLE))


def test_jax_implementation_is_valid_follows_its_plan_and_agrees_per_dtype(example, capsys):
    for dtype, worst in (("float64", 1e-14), ("float32", 1e-5)):
        outcome = example["check_one_dtype"](dtype)
        verdict, comparison = outcome.verdict, outcome.comparison
        assert verdict.valid and verdict.follows_plan and outcome.caught_by() == []
        assert verdict.forward_count == verdict.optimal_forward_count
        assert comparison.ok and comparison.missing == ()
        assert max(a.max_rel_error for a in comparison.arrays) < worst
    assert example["main"]([]) == 0
    out = capsys.readouterr().out
    assert "INVALID" not in out and out.count("plan: the trace follows it") == 2


PARAMETERS = ["W_hh", "W_xh", "b"]
# the arrays each computing bug must put over the tolerance: the bfloat16 sums hold only
# the parameter gradients (the state gradient is carried apart, in the run's dtype); the
# loss of step 1 and the runs into earlier steps reach every array
WRONG_ARRAYS = {
    "bfloat16_accumulator": PARAMETERS,
    "uncut_graph": [*PARAMETERS, "dh0"],
    "dropped_loss": [*PARAMETERS, "dh0"],
}


@pytest.mark.parametrize("plant", sorted(TABLE))
def test_each_planted_bug_is_caught_at_the_first_departure(example, plant, capsys):
    assert_caught_at_first_departure(example, plant, "float64", TABLE, WRONG_ARRAYS, capsys)
