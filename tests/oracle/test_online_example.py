"""examples/online_random_stop.py runs a PyTorch loop whose length is drawn at random,
checkpointed by ``mb.OnlinePlanner`` while it runs, and checks it with the oracle: its trace
recorded from the data path against the finished plan, its gradients against
``mb.full_bptt``. A bug planted in the loop is caught where the loop leaves the plan. It
runs where torch is installed (torch is never a dependency of mini_bptt or of its tests);
elsewhere these tests are skipped."""

from __future__ import annotations

import runpy
from fractions import Fraction
from pathlib import Path

import pytest

import mini_bptt as mb

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "online_random_stop.py"

torch = pytest.importorskip(
    "torch", reason="the PyTorch example needs torch, which mini_bptt does not depend on"
)

SEEDS = range(6)
# (memory, alpha): the example's LSTM budget, and alpha = 1, where the planner frees h[0]
# during the sweep (s[1] serves in its place)
BUDGETS = [(24, Fraction(9, 2)), (8, 1)]


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLE))


@pytest.mark.parametrize(("memory", "alpha"), BUDGETS)
def test_episodes_of_random_length_are_valid_follow_their_plan_and_agree(example, memory, alpha):
    lengths = set()
    for seed in SEEDS:
        verdict, comparison, plan, planted = example["run_episode"](seed, memory, alpha)
        lengths.add(plan.steps)
        assert not planted and plan.steps <= example["MAX_STEPS"]
        assert verdict.valid and verdict.follows_plan, (seed, verdict)
        assert verdict.forward_count == plan.forward_count >= plan.steps
        assert verdict.peak_memory <= memory
        assert mb.check(plan.actions, steps=plan.steps, memory=memory, alpha=alpha).valid
        assert comparison.ok and max(a.max_rel_error for a in comparison.arrays) < 1e-12
    assert len(lengths) >= len(SEEDS) // 2, lengths  # the stop is drawn, not fixed


def test_main_exits_zero_and_prints_the_ratio_to_the_offline_optimum(example, capsys):
    for seed in (0, 3):
        assert example["main"](["--seed", str(seed)]) == 0
        out = capsys.readouterr().out
        steps = int(out.split("stopped at T = ")[1].split(";")[0])
        assert f"the offline optimum knowing T {mb.cost(steps, 24, alpha=4.5)} " in out
        assert "plan: the trace follows it action for action" in out and "INVALID" not in out
    assert example["main"](["--alpha", "1", "--memory", "8"]) == 0


def sweep(plan: mb.Plan) -> tuple[mb.Action, ...]:
    """The first sweep of a finished plan: up to the forward of step T, the first."""
    return plan.actions[: plan.actions.index(mb.Action("forward", plan.steps))]


def first_asked(plan: mb.Plan, kind: str) -> int:
    """The index in ``plan`` of the first save (or free) the planner asked for during the
    sweep: where the loop with that action skipped first leaves the plan."""
    return next(k for k, a in enumerate(sweep(plan)) if a.op.startswith(kind))


@pytest.mark.parametrize(("plant", "kind"), [("skip_save", "save"), ("keep_free", "free")])
@pytest.mark.parametrize(("memory", "alpha"), BUDGETS)
def test_a_planted_bug_is_caught_where_the_loop_leaves_the_plan(
    example, plant, kind, memory, alpha
):
    assert plant in example["PLANTED"]
    caught = 0
    for seed in SEEDS:
        verdict, comparison, plan, planted = example["run_episode"](seed, memory, alpha, plant)
        if not planted:  # an episode too short for the planner to ask for it
            assert not any(a.op.startswith(kind) for a in sweep(plan))
            continue
        caught += 1
        k = first_asked(plan, kind)
        assert verdict.follows_plan is False
        assert verdict.departure.index == k and verdict.departure.planned == plan.actions[k]
        if not verdict.valid:  # the broken rule comes at or after the departure
            assert int(verdict.error.split()[1]) >= k and comparison is None
        args = ["--seed", str(seed), "--memory", str(memory), "--alpha", str(alpha)]
        assert example["main"]([*args, "--plant", plant]) == 0  # caught
    assert caught >= len(SEEDS) // 2


def test_a_plant_with_nothing_to_act_on_is_not_reported_as_caught(example, capsys):
    """An episode short enough for every internal state to fit beside h[0] (the planner's
    exact guarantee: all of s[1..T-1] stored) needs no free: a forgotten free has nothing
    to act on, the loop runs clean, and --plant must not exit 0 as if it caught a bug."""
    alpha = Fraction(9, 2)
    fits = int((24 - 1) / alpha) + 1  # 1 + alpha (T - 1) <= 24
    seed = next(s for s in range(100) if example["run_episode"](s, 24, alpha)[2].steps <= fits)
    verdict, _, plan, planted = example["run_episode"](seed, 24, alpha, "keep_free")
    assert not planted and verdict.valid and verdict.follows_plan
    assert not any(a.op.startswith("free") for a in sweep(plan))
    assert example["main"](["--seed", str(seed), "--plant", "keep_free"]) == 1
    assert "(nothing to plant)" in capsys.readouterr().out
