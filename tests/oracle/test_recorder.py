"""The recorder checks each action as it arrives: it agrees with ``mb.check`` on every plan,
valid or mutated, and stops at the same index with the same error."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from tests.oracle.test_check import mutate, mutation_lists

ALPHAS = [1, 1.5, 7 / 3, 4.5]


def record(actions, steps, memory, alpha, output):
    """Feed ``actions`` to a Recorder; (recorder, PlanError or None)."""
    recorder = mb.Recorder(steps, memory, alpha=alpha, internal_has_output=output)
    try:
        for action in actions:  # mutations keep to the eight ops, one method each
            getattr(recorder, action.op)(action.step)
        recorder.finish()
    except mb.PlanError as error:
        return recorder, error
    return recorder, None


def error_index(message: str) -> int:
    return int(re.match(r"action (\d+) ", message).group(1))


plans = st.tuples(
    st.integers(1, 14),
    st.fractions(0, 1),
    st.sampled_from(ALPHAS),
    st.sampled_from(["hsm", "ism", "msm", "bptt", "chen", "recompute"]),
    st.booleans(),
)


def planned(steps, fraction, alpha, strategy, output):
    full = mb.plan(steps, "100%", alpha=alpha, strategy=strategy).peak_memory
    smallest = 1 if strategy in ("hsm", "ism", "msm") else full
    memory = smallest + fraction * (full - smallest) if smallest != full else full
    plan = mb.plan(steps, memory, alpha=alpha, strategy=strategy, internal_has_output=output)
    return plan, plan.peak_memory  # the budget at the plan's exact peak


@settings(max_examples=300, deadline=None)
@given(problem=plans)
def test_recording_a_valid_plan_gives_the_checkers_verdict(problem):
    plan, memory = planned(*problem)
    _, _, alpha, _, output = problem
    recorder, error = record(plan.actions, plan.steps, memory, alpha, output)
    assert error is None
    expected = mb.check(
        plan.actions, steps=plan.steps, memory=memory, alpha=alpha, internal_has_output=output
    )
    assert recorder.result() == expected and expected.valid


@settings(max_examples=400, deadline=None)
@given(
    problem=plans,
    mutations=mutation_lists(min_size=1),
)
@example(problem=(3, 0, 1, "hsm", True), mutations=[("drop", 0, 1, "forward")])
def test_a_mutated_plan_is_rejected_at_the_same_index(problem, mutations):
    plan, memory = planned(*problem)
    _, _, alpha, _, output = problem
    actions = list(plan.actions)
    for kind, index, delta, op in mutations:
        actions = mutate(actions, kind, index, delta, op)
    verdict = mb.check(
        actions, steps=plan.steps, memory=memory, alpha=alpha, internal_has_output=output
    )
    _, error = record(actions, plan.steps, memory, alpha, output)
    if verdict.valid:
        assert error is None
    else:
        assert error is not None and str(error) == verdict.errors[0]
        assert error.index == error_index(verdict.errors[0])


def test_the_recorder_writes_a_trace_that_check_and_the_cli_accept(tmp_path):
    plan = mb.plan(30, "20%", alpha=2)
    with mb.Recorder(30, "20%", alpha=2) as trace:
        for action in plan.actions:
            getattr(trace, action.op)(action.step)
    path = tmp_path / "trace.json"
    trace.write(path)
    data = json.loads(path.read_text())
    assert data["actions"] == [a.to_dict() for a in plan.actions]
    verdict = mb.check(data["actions"], steps=30, memory="20%", alpha=2)
    assert verdict == trace.result() and verdict.forward_count == plan.forward_count


def test_the_first_broken_rule_raises_in_the_loop_and_a_short_trace_at_the_end():
    trace = mb.Recorder(4, 2)
    trace.forward(1)
    with pytest.raises(mb.PlanError, match=r"action 1 \(forward 3\): forward needs the cursor"):
        trace.forward(3)
    assert len(trace.actions) == 1  # the broken action is not recorded
    too_short = pytest.raises(mb.PlanError, match="plan ends before steps 4..1 are reversed")
    with too_short, mb.Recorder(4, 2) as short:
        short.forward(1)
    with pytest.raises(ZeroDivisionError), mb.Recorder(4, 2):  # your own error passes through
        raise ZeroDivisionError
