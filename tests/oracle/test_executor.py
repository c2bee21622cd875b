"""Executor: every plan runs with exact accounting and gradients bitwise equal to full BPTT."""

from __future__ import annotations

import sys
from fractions import Fraction
from functools import partial

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.machine import traced_peak
from mini_bptt.planning.plan import Plan, bptt_peak
from mini_bptt.planning.replay import Replay
from mini_bptt.planning.units import grains_for
from tests.helpers import examples, forged_plan, from_short, make_problem


def assert_bitwise_equal(result: mb.Result, reference: mb.Result) -> None:
    assert result.loss == reference.loss
    assert np.array_equal(result.dh0, reference.dh0)
    assert result.grads.keys() == reference.grads.keys()
    for name in reference.grads:
        assert np.array_equal(result.grads[name], reference.grads[name]), name


def smallest_memory(steps: int, alpha: float, strategy: str) -> Fraction:
    if strategy in ("hsm", "ism", "msm"):
        return Fraction(1)
    full = float(bptt_peak(steps, grains_for(alpha)))
    return Fraction(mb.plan(steps, full, alpha=alpha, strategy=strategy).peak_memory)


@settings(max_examples=examples(200), deadline=None)
@given(
    steps=st.integers(1, 60),
    batch=st.integers(1, 3),
    cell_name=st.sampled_from(["rnn", "lstm"]),
    head_name=st.sampled_from(["mse", "softmax"]),
    strategy=st.sampled_from(mb.STRATEGIES),
    model=st.sampled_from(mb.MODELS),
    internal_has_output=st.booleans(),
    fraction=st.floats(0, 1),
    seed=st.integers(0, 2**16),
)
# a float budget 1e-16 below a whole unit (5.5 at alpha 4.5) means that unit
@example(2, 1, "lstm", "mse", "ism", "paper", True, 0.9999999999999999, 0)
def test_execution_matches_plan_and_full_bptt_bitwise(
    steps, batch, cell_name, head_name, strategy, model, internal_has_output, fraction, seed
):
    if model == "paper" and (
        strategy not in ("hsm", "ism", "msm") or (strategy != "hsm" and not internal_has_output)
    ):
        model = "optimal"  # the paper's model does not exist for these
    cell, xs, h0, head = make_problem(cell_name, steps, batch, head_name, seed=seed)
    alpha = cell.alpha
    smallest = smallest_memory(steps, alpha, strategy)
    full = bptt_peak(steps, grains_for(alpha))
    memory = float(smallest + Fraction(fraction) * (full - smallest))
    plan = mb.plan(
        steps,
        memory,
        alpha=alpha,
        strategy=strategy,
        model=model,
        internal_has_output=internal_has_output,
    )
    calls = {"forward": 0, "backward_into": 0}  # counted at the cell: not by the replay

    def counted(name, method):
        def call(*args):
            calls[name] += 1
            return method(*args)

        return call

    cell.forward = counted("forward", cell.forward)
    cell.backward_into = counted("backward_into", cell.backward_into)
    result = mb.execute(plan, cell, xs, h0, head)
    del cell.forward, cell.backward_into
    kwargs = dict(alpha=alpha, strategy=strategy, model=model)
    expected = mb.cost(steps, memory, internal_has_output=internal_has_output, **kwargs)
    assert calls["forward"] == result.forward_count == plan.forward_count == expected
    assert calls["backward_into"] == result.backward_count == steps
    assert result.peak_memory == plan.peak_memory
    # the budget's rule: a float within 1e-9 (relative) of a whole unit counts as that unit
    assert plan.peak_memory <= memory or abs(plan.peak_memory - memory) <= 1e-9 * memory
    assert result.peak_bytes == result.peak_memory * h0.nbytes  # units follow real arrays
    # the timeline is after each action; before the first, h[0] holds 1 unit
    assert max((1.0, *result.memory_timeline)) == result.peak_memory
    assert_bitwise_equal(result, mb.full_bptt(cell, xs, h0, head))


def test_plans_from_json_and_by_hand_run():
    cell, xs, h0, head = make_problem("lstm", 12, 2)
    plan = mb.plan(12, 10, alpha=cell.alpha)
    loaded = Plan.from_json(plan.to_json())
    assert_bitwise_equal(mb.execute(loaded, cell, xs, h0, head), mb.full_bptt(cell, xs, h0, head))
    by_hand = Plan(
        steps=2,
        memory=1,
        alpha=4.5,
        internal_has_output=True,
        strategy="hand",
        model="hand",
        actions=tuple(
            mb.Action(op, step)
            for op, step in [
                ("forward", 1),
                ("forward", 2),
                ("backward", 2),
                ("restore_hidden", 0),
                ("forward", 1),
                ("backward", 1),
            ]
        ),
    )
    cell, xs, h0, head = make_problem("lstm", 2, 1)
    result = mb.execute(by_hand, cell, xs, h0, head)
    assert result.forward_count == by_hand.forward_count == 3 and by_hand.peak_memory == 1
    assert_bitwise_equal(result, mb.full_bptt(cell, xs, h0, head))
    # step 2 reversed from its saved state while the core holds s[1], which step 1 then uses
    core_kept = Plan(2, 10, 4.5, True, "hand", "hand", from_short("F1 F2 SI2 RH0 F1 B2 B1"))
    assert_bitwise_equal(
        mb.execute(core_kept, cell, xs, h0, head), mb.full_bptt(cell, xs, h0, head)
    )


@pytest.mark.parametrize(
    "actions, index, rule",
    [
        ([("forward", 2)], 0, "cursor at h\\[1\\]"),
        ([("forward", 1), ("save_internal", 1)], 1, "memory would reach 3"),
        ([("forward", 1), ("backward", 1)], 1, "next step is 3"),
        ([("restore_hidden", 2)], 0, "h\\[2\\] is not saved"),
        ([("forward", 1), ("forward", 2), ("save_hidden", 1)], 2, "cursor at h\\[1\\]"),
        ([("forward", 1), ("free_internal", 1)], 1, "s\\[1\\] is not saved"),
        ([("jump", 1)], 0, "unknown op"),
        ([("forward", 1), ("forward", 2), ("forward", 3), ("backward", 3)], 4, "steps 2..1"),
    ],
)
def test_broken_plans_are_refused_before_any_arithmetic(actions, index, rule):
    cell, xs, h0, head = make_problem("rnn", 3, 1)
    calls = []
    forward = cell.forward
    cell.forward = lambda *a: calls.append(1) or forward(*a)
    with pytest.raises(mb.PlanError, match=rf"action {index} .*{rule}") as info:
        mb.execute(forged_plan(actions, 3, 2, 2), cell, xs, h0, head)
    assert info.value.index == index
    assert len(calls) == sum(op == "forward" for op, _ in actions[:index])


def test_execute_rejects_mismatched_arguments():
    cell, xs, h0, head = make_problem("rnn", 5, 2)
    with pytest.raises(ValueError, match="steps"):
        mb.execute(mb.plan(4, 3), cell, xs[:5], h0, head)
    with pytest.raises(TypeError, match=r"^plan must be a mini_bptt.Plan .*, got list$"):
        mb.execute([("forward", 1)], cell, xs, h0, head)
    with pytest.raises(ValueError, match="h0"):
        mb.execute(mb.plan(5, 3), cell, xs, h0[:1].copy(), head)


# -- real memory ------------------------------------------------------------------------------


def _lstm_problem(steps, batch=8, hidden=64):
    return make_problem("lstm", steps, batch, input_size=8, hidden_size=hidden)


def saved_bound(peak_memory: float, state_bytes: int) -> float:
    """Bytes the store may hold: the data, plus a Python object header (< 128 bytes) for each
    of at most 11 arrays per saved item, and at most ``peak_memory`` items (each >= 1 unit)."""
    return peak_memory * (state_bytes + 11 * 128)


def working_set(cell, state_bytes: int) -> int:
    """Free working space that does not grow with T (docs/model.md): gradient accumulators
    (updated in place: no per-step gradient arrays), cursor, core and carry with one step's
    temporaries, and the per-action timeline of a few hundred actions."""
    gradient_bytes = sum(p.nbytes for p in cell.params.values())
    return gradient_bytes + 16 * state_bytes + 64 * 1024


@pytest.mark.parametrize(
    "strategy, memory", [("msm", 40), ("hsm", 12), ("chen", "100%"), ("bptt", "100%")]
)
def test_traced_bytes_follow_the_unit_accounting(strategy, memory):
    cell, xs, h0, head = _lstm_problem(200)
    plan = mb.plan(200, memory, alpha=cell.alpha, strategy=strategy)
    state_bytes = h0.nbytes
    peak = traced_peak(lambda: mb.execute(plan, cell, xs, h0, head))
    assert peak <= saved_bound(plan.peak_memory, state_bytes) + working_set(cell, state_bytes)
    assert peak >= (plan.peak_memory - 1) * state_bytes


def test_full_bptt_grows_linearly_while_msm_stays_flat():
    lengths = [100, 200, 400]
    full, msm = [], []
    for steps in lengths:
        cell, xs, h0, head = _lstm_problem(steps)
        plan = mb.plan(steps, 60, alpha=cell.alpha)
        full.append(traced_peak(partial(mb.full_bptt, cell, xs, h0, head)))
        msm.append(traced_peak(partial(mb.execute, plan, cell, xs, h0, head)))
    state_bytes = h0.nbytes
    per_step = [(full[i + 1] - full[i]) / (lengths[i + 1] - lengths[i]) for i in range(2)]
    for slope in per_step:  # about one internal state (alpha = 4.5 states) per step
        assert 4.5 * state_bytes <= slope <= saved_bound(4.5, state_bytes)
    assert max(msm) - min(msm) <= 8 * state_bytes
    assert max(msm) <= saved_bound(60, state_bytes) + working_set(cell, state_bytes)


@pytest.mark.parametrize(
    "memory", [pytest.param(m, marks=pytest.mark.slow) for m in ("2%", "3%", "5%")] + ["20%"]
)
def test_measured_bytes_beyond_the_plan_are_the_gradients_and_one_step(memory):
    """LSTM at T = 200: what the run holds beyond the plan's saved arrays is bounded by the
    gradient accumulators plus one step's arrays, both counted from the shapes."""
    steps, batch, inputs, hidden = 200, 32, 64, 128
    rng = np.random.default_rng(0)
    cell = mb.LSTMCell(inputs, hidden, seed=0)
    xs = rng.normal(size=(steps, batch, inputs))
    h0 = rng.normal(size=(batch, 2 * hidden))
    head = mb.MSEHead(rng.normal(size=(steps, batch, hidden)))
    plan = mb.plan(steps, memory, alpha=cell.alpha)
    report = mb.execute(plan, cell, xs, h0, head, measure_memory=True).memory

    state, gates, half = 8 * batch * 2 * hidden, 8 * batch * 4 * hidden, 8 * batch * hidden
    assert report.gradient_bytes == 8 * 4 * hidden * (inputs + hidden + 1)
    assert report.unit_bytes == state
    assert report.plan_peak_bytes == plan.peak_memory * state  # saved arrays follow the units
    # one step, read off LSTMCell.forward/backward_into and reverse_step: the cursor, the
    # carry in and out, the core (alpha states), dz and one block of a gradient product
    # (each at most a (batch, 4H) array), dc and its two temporaries and the head's dh
    # (four (batch, H) arrays), and the replay's timeline (8 bytes per action, grown by 1/8)
    one_step = 3 * state + cell.alpha * state + 2 * gates + 4 * half + 9 * len(plan.actions)
    # besides, each saved state is a few Python objects around its arrays (and a dict slot)
    _, cache = cell.forward(h0, xs[0])
    headers = sum(sys.getsizeof(a) - (a.nbytes if a.flags.owndata else 0) for a in cache)
    per_state = sys.getsizeof(cache) + headers + 100
    objects = per_state * most_states_saved(plan)
    bound = report.gradient_bytes + one_step + objects
    assert report.gradient_bytes < report.beyond_plan_bytes <= bound
    assert report.measured_peak_bytes == report.plan_peak_bytes + report.beyond_plan_bytes
    assert "gradient accumulators" in report.table()


def most_states_saved(plan) -> int:
    """The most hidden and internal states the plan holds at once."""
    units = grains_for(plan.alpha)
    replay = Replay(plan.steps, units, None, plan.internal_has_output)
    most = 1
    for index, action in enumerate(plan.actions):
        replay.apply(index, action.op, action.step)
        most = max(most, len(replay.hidden) + len(replay.internal))
    return most


def test_memory_is_measured_only_when_asked():
    cell, xs, h0, head = make_problem("rnn", 5, 2)
    plan = mb.plan(5, 3, alpha=cell.alpha)
    assert mb.execute(plan, cell, xs, h0, head).memory is None
    with pytest.raises(TypeError, match="measure_memory must be True or False, got 1"):
        mb.execute(plan, cell, xs, h0, head, measure_memory=1)


def test_execute_returns_a_result_with_its_memory_report():
    cell, xs, h0, head = make_problem("rnn", 6, 2)
    plan = mb.plan(6, 3)
    plain = mb.execute(plan, cell, xs, h0, head)
    measured = mb.execute(plan, cell, xs, h0, head, measure_memory=True)
    assert isinstance(plain, mb.ExecutionResult) and isinstance(plain, mb.Result)
    assert plain.memory is None and isinstance(measured.memory, mb.MemoryReport)
    assert measured.memory.plan_peak_units == plan.peak_memory == plain.peak_memory
