"""The recorder checks each action as it arrives: it agrees with ``mb.check`` on every plan,
valid or mutated, and stops at the same index with the same error."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning.replay import Replay
from tests.helpers import examples, interrupted_at_line
from tests.oracle import validator
from tests.oracle.test_check import against_plans, mutate, mutation_lists, plan_for

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


@settings(max_examples=examples(300), deadline=None)
@given(problem=plans)
def test_recording_a_valid_plan_gives_the_checkers_verdict(problem):
    plan, memory = planned(*problem)
    _, _, alpha, _, output = problem
    recorder, error = record(plan.actions, plan.steps, memory, alpha, output)
    assert error is None
    pairs = [(a.op, a.step) for a in plan.actions]
    grains = recorder.problem.grains  # the budget and alpha exact, for the plain reading
    budget = Fraction(recorder.problem.budget, grains.hidden)
    broken, state = validator.judge(pairs, plan.steps, budget, grains.alpha, output)
    verdict = recorder.result()
    assert broken is None and verdict.valid and verdict.error == ""
    assert verdict.forward_count == state.forwards == plan.forward_count
    assert verdict.peak_memory == grains.in_units(state.peak * grains.hidden)


@settings(max_examples=examples(400), deadline=None)
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
        assert error is not None and str(error) == verdict.error
        assert error.index == error_index(verdict.error)


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


# -- a Recorder cannot forget --------------------------------------------------------------


def test_after_the_first_broken_rule_every_call_raises_it_again_and_the_verdict_keeps_it(
    tmp_path,
):
    trace = mb.Recorder(2, 1)
    trace.forward(1)
    with pytest.raises(mb.PlanError) as first:
        trace.backward(1)  # the next step to reverse is 2
    message = str(first.value)
    assert message == (
        "action 1 (backward 1): backward must reverse steps in order T..1; the next step is 2"
    )
    # a loop that catches the error and goes on, even with actions that would be valid
    for call in (trace.forward, trace.backward, trace.restore_hidden):
        with pytest.raises(mb.PlanError) as again:
            call(2)
        assert str(again.value) == message
    with pytest.raises(mb.PlanError, match=r"^action 1 \(backward 1\)"):
        trace.finish()
    assert trace.actions == [mb.Action("forward", 1)]  # nothing after the error is taken
    verdict = trace.result()
    assert not verdict.valid and verdict.error == message
    assert verdict == mb.check([("forward", 1), ("backward", 1)], steps=2, memory=1)
    # the file says the same: the broken action is written after the accepted ones
    path = tmp_path / "trace.json"
    trace.write(path)
    data = json.loads(path.read_text())
    assert mb.check(data["actions"], steps=2, memory=1).error == message


def test_a_clean_exit_after_a_caught_error_raises_it():
    refused = pytest.raises(mb.PlanError, match=r"^action 0 \(save_hidden 1\)")
    swallowed = contextlib.suppress(mb.PlanError)  # a loop that swallows the error
    with refused, mb.Recorder(1, 1) as trace, swallowed:
        trace.save_hidden(1)  # the cursor is at h[0]


@pytest.mark.parametrize(
    ("step", "rule"),
    [
        (True, "step must be an integer, got bool"),
        ("1", "step must be an integer, got str"),
        (1.0, "step must be an integer, got float"),
        (np.int64(7), "step must be in [1, 2]"),
        (10**5000, "step must be in [1, 2]"),
    ],
    ids=["bool", "str", "float", "numpy", "huge"],
)
def test_a_bad_step_is_a_broken_rule_with_the_checkers_message(step, rule):
    trace = mb.Recorder(2, 1)
    with pytest.raises(mb.PlanError) as raised:
        trace.forward(step)
    assert str(raised.value).endswith(rule) and "\n" not in str(raised.value)
    assert trace.result().error == str(raised.value)
    assert mb.check([("forward", step)], steps=2, memory=1).error == str(raised.value)
    json.loads(trace.to_json())  # a closed Recorder still writes its file


def test_numpy_steps_are_steps():
    trace = mb.Recorder(np.int64(2), np.int64(1))
    for op, step in (("forward", 1), ("forward", 2), ("backward", 2)):
        getattr(trace, op)(np.int64(step))
    trace.restore_hidden(np.int32(0))
    trace.forward(np.uint8(1))
    trace.backward(np.int64(1))
    assert trace.finish().valid
    assert all(type(a.step) is int for a in trace.actions)
    assert json.loads(trace.to_json())["actions"][0] == {"op": "forward", "step": 1}


def test_a_recorder_that_could_not_write_its_trace_fails_when_made():
    with pytest.raises(ValueError, match="^memory must be a fraction with numerator"):
        mb.Recorder(2, Fraction(10**5000 + 1, 10**5000))
    with pytest.raises(ValueError, match="^alpha must be a fraction with numerator"):
        mb.Recorder(2, 5, alpha=Fraction(7 * 10**300 + 1, 3 * 10**300))
    with pytest.raises(ValueError, match=r"^memory must come to at most 1\.00e\+120"):
        mb.Recorder(2, 10**5000)
    trace = mb.Recorder(2, Fraction(7, 3), alpha=Fraction(7, 3))  # the docs' own example
    assert json.loads(trace.to_json())["alpha"] == "7/3"


# -- threads -------------------------------------------------------------------------------


def test_threads_taking_turns_record_the_order_in_which_their_calls_returned():
    """Four threads share one Recorder; each performs every fourth action of a plan when
    its turn comes (a valid interleaving, sequenced by the test)."""
    plan = mb.plan(60, 6, alpha=2)
    trace = mb.Recorder(60, 6, alpha=2)
    turn = threading.Condition()
    state = {"next": 0}
    returned: list[int] = []

    def worker(me: int, threads: int) -> None:
        for index in range(me, len(plan.actions), threads):
            with turn:
                turn.wait_for(lambda index=index: state["next"] == index)
            action = plan.actions[index]
            getattr(trace, action.op)(np.int64(action.step))
            with turn:
                returned.append(index)
                state["next"] += 1
                turn.notify_all()

    threads = [threading.Thread(target=worker, args=(k, 4)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert returned == list(range(len(plan.actions)))
    assert trace.actions == [plan.actions[i] for i in returned]
    assert trace.finish().valid and trace.result().forward_count == plan.forward_count


def test_concurrent_misuse_never_records_out_of_order(monkeypatch):
    """Threads racing through ``restore_hidden(0)``, ``forward(1)`` break a rule sooner or
    later. Whatever the interleaving, the Recorder's list must be the order in which its
    replay took the actions: the error it raises is the one ``check`` finds in the list
    (with the broken action after it), at the same index. The replay is slowed down so
    that, without the lock, another thread can slip between replaying and recording."""
    original = Replay.apply

    def slow_apply(self, index, op, step):
        original(self, index, op, step)
        time.sleep(0.0005)

    monkeypatch.setattr(Replay, "apply", slow_apply)
    for _ in range(10):
        trace = mb.Recorder(3, 1)
        errors: list[str] = []
        threads = [threading.Thread(target=_misuse, args=(trace, errors)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors and len(set(errors)) == 1  # every thread saw the one error
        assert error_index(errors[0]) == len(trace.actions)
        assert trace.result().error == (errors[0] if errors else "")


def _misuse(trace: mb.Recorder, errors: list[str]) -> None:
    try:
        for _ in range(50):
            trace.restore_hidden(0)
            trace.forward(1)
    except mb.PlanError as error:
        errors.append(str(error))


@pytest.mark.parametrize("line", range(1, 40))
def test_a_recorder_stopped_at_any_line_of_an_action_stays_closed(line):
    """Ctrl-C may land anywhere in an action call, between the replay and the list too:
    afterwards every call raises, and result() is invalid, whatever was recorded."""
    recorder = mb.Recorder(steps=2, memory=2)
    recorder.forward(1)
    with interrupted_at_line(line, Path(mb.__file__).parent) as seen:
        recorder.save_hidden(1)
    if seen[0] < line:  # the call ended before that line: nothing was cut
        return
    try:
        if mb.Action("save_hidden", 1) not in recorder.actions:
            recorder.save_hidden(1)  # cut before anything changed: the recorder is as it was
        recorder.forward(2)
    except mb.PlanError as first:  # cut where the replay and the list may disagree
        assert "interrupted" in str(first)
        with pytest.raises(mb.PlanError) as again:
            recorder.backward(2)
        assert str(again.value) == str(first)
        verdict = recorder.result()
        assert not verdict.valid and verdict.error == str(first)
        return
    for op, step in [
        ("backward", 2),
        ("free_hidden", 1),
        ("restore_hidden", 0),
        ("forward", 1),
        ("backward", 1),
    ]:
        getattr(recorder, op)(step)
    assert recorder.result().valid and recorder.result().forward_count == 3


# -- a Recorder given the plan the loop follows ---------------------------------------------


def record_against(plan, actions, memory):
    """Feed ``actions`` to a Recorder built with ``plan``; (recorder, PlanError or None)."""
    recorder = mb.Recorder(
        plan.steps,
        memory,
        alpha=plan.alpha,
        internal_has_output=plan.internal_has_output,
        plan=plan,
    )
    try:
        for action in actions:
            getattr(recorder, action.op)(action.step)
        recorder.finish()
    except mb.PlanError as error:
        return recorder, error
    return recorder, None


@settings(max_examples=examples(300), deadline=None)
@given(problem=against_plans, tight=st.booleans(), mutations=mutation_lists())
def test_a_recorder_with_a_plan_reports_what_check_against_that_plan_does(
    problem, tight, mutations
):
    plan = plan_for(*problem)  # any of mb.STRATEGIES
    memory = plan.peak_memory if tight else plan.memory
    actions = list(plan.actions)
    for kind, index, delta, op in mutations:
        actions = mutate(actions, kind, index, delta, op)
    verdict = mb.check(
        actions,
        plan.steps,
        memory,
        alpha=plan.alpha,
        internal_has_output=plan.internal_has_output,
        against=plan,
    )
    recorder, error = record_against(plan, actions, memory)
    assert recorder.result() == verdict
    assert recorder.departure == verdict.departure  # finish compared the end too
    if verdict.valid:
        assert error is None
    else:
        assert error is not None and str(error) == verdict.error
        assert getattr(error, "departure", None) == verdict.departure
    if not mutations:
        assert verdict.follows_plan and recorder.departure is None


def test_a_departure_alone_raises_nothing_and_a_later_error_names_it():
    plan = mb.plan(12, 6, alpha=2, strategy="hsm")
    k = next(i for i, a in enumerate(plan.actions) if a.op == "free_hidden")
    with mb.Recorder(12, 12, alpha=2, plan=plan) as roomy:  # the leak fits the budget
        for action in plan.actions[:k] + plan.actions[k + 1 :]:
            getattr(roomy, action.op)(action.step)
    verdict = roomy.result()
    assert verdict.valid and verdict.follows_plan is False and roomy.departure.index == k
    assert str(verdict).endswith(
        f"plan: the trace left the plan at action {k}: the plan has "
        f"free_hidden {plan.actions[k].step}, the trace has {plan.actions[k + 1].op} "
        f"{plan.actions[k + 1].step}"
    )
    # a loop that goes on after a wrong step: the rule breaks later, and says where it began
    trace = mb.Recorder(4, 2, plan=mb.plan(4, 2, strategy="hsm"))
    for op, step in [("forward", 1), ("save_hidden", 1), ("forward", 2), ("forward", 3)]:
        getattr(trace, op)(step)
    trace.forward(4)
    trace.backward(4)
    trace.restore_hidden(0)  # the plan restores h[1]: valid, but the departure
    trace.forward(1)
    with pytest.raises(mb.PlanError) as raised:
        trace.backward(3)
    assert str(raised.value) == (
        "action 8 (backward 3): backward needs s[3] in the core or saved; the trace left the "
        "plan at action 6: the plan has restore_hidden 1, the trace has restore_hidden 0"
    )
    assert raised.value.departure == trace.departure and raised.value.rule.endswith("or saved")
    for call in (lambda: trace.forward(2), trace.finish):  # closed: the same error again
        with pytest.raises(mb.PlanError) as again:
            call()
        assert str(again.value) == str(raised.value)


def test_a_trace_that_stops_before_its_plan_left_it_at_the_end():
    plan = mb.plan(3, 2, strategy="hsm")
    with pytest.raises(mb.PlanError) as raised, mb.Recorder(3, 2, plan=plan) as trace:
        for action in plan.actions[:-1]:
            getattr(trace, action.op)(action.step)
    end = len(plan.actions) - 1
    assert str(raised.value).endswith(
        f"the trace left the plan at action {end}: the plan has backward 1, the trace has ended"
    )
    assert trace.departure == mb.check(plan.actions[:-1], 3, 2, against=plan).departure


@pytest.mark.parametrize(
    ("plan", "error", "message"),
    [
        ("plan.json", TypeError, r"plan must be a mini_bptt Plan \(.*, got str$"),
        (mb.plan(5, 3), ValueError, "plan is a plan for steps=5, but the trace is judged with"),
        (mb.plan(6, 3, alpha=1.5), ValueError, "plan is a plan for alpha=1.5, but .* alpha=1;"),
        (mb.plan(6, 5), ValueError, "plan peaks at 5 units, over the memory budget of 3 units"),
    ],
    ids=["str", "steps", "alpha", "budget"],
)
def test_the_recorders_plan_must_be_a_plan_for_its_problem(plan, error, message):
    with pytest.raises(error, match=f"^{message}"):
        mb.Recorder(6, 3, plan=plan)
