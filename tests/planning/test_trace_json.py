"""One trace format (docs/model.md, *Plan and trace JSON*): what a Plan or a Recorder
writes, ``load_trace`` and ``Plan.from_json`` read back to the same budget and alpha;
every malformed field is refused naming it."""

from __future__ import annotations

import json
import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning.trace_json import FORMAT, Trace, load_trace, trace_dict, trace_text
from mini_bptt.planning.units import budget_grains, grains_for
from tests.helpers import examples

TWO_STEPS = [("forward", 1), ("forward", 2), ("backward", 2)]
TWO_STEPS += [("restore_hidden", 0), ("forward", 1), ("backward", 1)]


def recorded(steps, memory, alpha, actions) -> mb.Recorder:
    recorder = mb.Recorder(steps, memory, alpha=alpha)
    for op, step in actions:
        getattr(recorder, op)(step)
    return recorder


@pytest.mark.parametrize(
    ("memory", "alpha", "written_memory", "written_alpha"),
    [
        (Fraction(7, 3), Fraction(7, 3), "7/3", "7/3"),
        (Fraction(6, 3), Fraction(4, 2), 2, 2),
        (np.int64(3), np.int64(2), 3, 2),
        (np.float64(2.5), np.float32(1.5), 2.5, 1.5),
        (np.float32(0.1) + 2, 1, float(np.float32(0.1) + 2), 1),
        (12.666666666666666, 7 / 3, 12.666666666666666, 7 / 3),
        ("50%", 4.5, "50%", 4.5),
    ],
)
def test_numbers_are_written_exactly_and_read_back_to_the_same_budget(
    memory, alpha, written_memory, written_alpha
):
    recorder = recorded(2, memory, alpha, TWO_STEPS)
    data = json.loads(recorder.to_json())
    assert data["format"] == FORMAT
    assert (data["memory"], data["alpha"]) == (written_memory, written_alpha)
    assert type(data["memory"]) is type(written_memory)
    trace = load_trace(recorder.to_json())
    units = grains_for(trace.alpha)
    assert units == grains_for(alpha)
    assert budget_grains(trace.memory, 2, units) == budget_grains(memory, 2, grains_for(alpha))
    again = mb.Plan.from_json(recorder.to_json())  # a Recorder's file is a plan file
    assert (again.strategy, again.model) == ("trace", "recorded")
    assert again.forward_count == recorder.result().forward_count == 3


def test_a_plan_with_fraction_and_numpy_numbers_round_trips_equal():
    plan = mb.plan(np.int64(12), Fraction(11, 3), alpha=Fraction(7, 3))
    assert plan.memory == Fraction(11, 3) and plan.alpha == Fraction(7, 3)
    text = plan.to_json()
    assert '"memory": "11/3"' in text and '"alpha": "7/3"' in text
    assert mb.Plan.from_json(text) == plan
    plan = mb.plan(12, np.float64(4.5), alpha=np.float32(1.5))
    assert (type(plan.memory), type(plan.alpha)) == (float, float)
    assert mb.Plan.from_json(plan.to_json()) == plan


def test_from_json_compares_counts_only_when_present():
    plan = mb.plan(8, 3, strategy="hsm")
    data = plan.to_dict()
    del data["forward_count"], data["peak_memory"], data["strategy"], data["model"]
    again = mb.Plan.from_json(json.dumps(data))
    assert again.forward_count == plan.forward_count and again.strategy == "trace"
    data["forward_count"] = plan.forward_count + 1
    with pytest.raises(ValueError, match="^plan JSON says forward_count = "):
        mb.Plan.from_json(json.dumps(data))


def test_files_of_format_plan_1_are_still_read():
    old = (
        '{"format": "mini_bptt.plan/1", "steps": 2, "memory": 1, "alpha": 1, '
        '"internal_has_output": true, "strategy": "hsm", "model": "optimal", '
        '"forward_count": 3, "peak_memory": 1, "actions": '
        + json.dumps([{"op": op, "step": step} for op, step in TWO_STEPS])
        + "}"
    )
    assert mb.Plan.from_json(old).forward_count == 3
    # the writer of plan/1 (Recorder.write before this version) left out the plan fields
    recorder_v1 = json.loads(old)
    for key in ("strategy", "model", "forward_count", "peak_memory"):
        del recorder_v1[key]
    assert mb.Plan.from_json(json.dumps(recorder_v1)).model == "recorded"


def test_the_reader_returns_the_optional_fields_as_none():
    trace = load_trace('{"steps": 2, "memory": "5%", "actions": []}')
    assert trace == Trace(2, "5%", 1, True, ())
    assert trace.strategy is trace.model is trace.forward_count is trace.peak_memory is None


BASE = {"steps": 2, "memory": 1, "actions": []}


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"steps": True}, TypeError, 'trace field "steps" must be an integer >= 1, got True'),
        ({"steps": 2.0}, TypeError, 'trace field "steps" must be an integer >= 1, got 2.0'),
        ({"steps": 0}, ValueError, 'trace field "steps" must be an integer >= 1, got 0'),
        ({"memory": [1]}, TypeError, 'trace field "memory" must be a number of units'),
        ({"memory": None}, TypeError, 'trace field "memory" must be a number of units'),
        ({"memory": "1e99999999"}, ValueError, 'trace field "memory" must be a decimal'),
        ({"alpha": [2]}, TypeError, 'trace field "alpha" must be a number or text'),
        ({"alpha": "7/0"}, ValueError, 'trace field "alpha" must be a decimal'),
        ({"internal_has_output": "yes"}, TypeError, 'trace field "internal_has_output"'),
        ({"actions": 7}, TypeError, 'trace field "actions" must be a list, got int'),
        ({"format": "mini_bptt.plan/9"}, ValueError, 'trace field "format" must be'),
        ({"format": 2}, ValueError, 'trace field "format" must be'),
        ({"strategy": 3}, TypeError, 'trace field "strategy" must be text, got 3'),
        ({"forward_count": -1}, ValueError, 'trace field "forward_count" must be'),
        ({"peak_memory": "x"}, ValueError, 'trace field "peak_memory" must be a decimal'),
    ],
)
def test_each_malformed_field_is_named(change, error, message):
    with pytest.raises(error) as raised:
        load_trace(json.dumps(BASE | change))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"steps": 2, "memory": 1}', "trace JSON lacks the fields actions"),
        ("{}", "trace JSON lacks the fields steps, memory, actions"),
        ("[1, 2]", "trace JSON must be an object, got list"),
        ('{"steps": 2', "trace is not valid JSON: "),
        ("", "trace is not valid JSON: "),
        ('{"steps": 2, "steps": 3, "memory": 1, "actions": []}', "the key 'steps' appears twice"),
        ('{"steps": ' + "9" * 5000 + ', "memory": 1, "actions": []}', "an integer of 5000 digits"),
        ('{"actions": ' + "[" * 100_000 + "]" * 100_000 + "}", "trace JSON nests too deeply"),
    ],
)
def test_text_that_is_no_trace_is_refused_in_one_line(text, message):
    started = time.perf_counter()
    with pytest.raises(ValueError) as raised:
        load_trace(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert "Exceeds the limit" not in str(raised.value)
    assert time.perf_counter() - started < 2


def test_the_reader_wants_text():
    with pytest.raises(TypeError, match="^trace text must be a str, got bytes$"):
        load_trace(b"{}")


def test_an_action_that_is_not_an_object_is_judged_by_check_at_its_index():
    trace = load_trace('{"steps": 1, "memory": 1, "actions": [{"op": "forward", "step": 1}, 7]}')
    assert trace.actions == (mb.Action("forward", 1), 7)
    verdict = mb.check(trace.actions, steps=trace.steps, memory=trace.memory)
    assert verdict.error.startswith("action 1 (? ?): an action must be")


def test_the_writer_never_fails_on_an_odd_step_and_keeps_json_numbers():
    actions = [mb.Action("forward", np.int64(1)), mb.Action("forward", 10**5000)]
    actions.append(mb.Action("forward", object()))
    data = trace_dict(3, Fraction(7, 3), 1, True, actions)
    assert data["actions"][0] == {"op": "forward", "step": 1}
    assert data["actions"][1]["step"] == "an integer of about 10**5000"
    assert isinstance(data["actions"][2]["step"], str)
    json.dumps(data)
    with pytest.raises(ValueError, match="^memory must have at most 129 digits"):
        trace_text(3, 10**200, 1, True, [])


@settings(max_examples=examples(200), deadline=None)
@given(
    memory=st.fractions(1, 10**12, max_denominator=10**6)
    | st.floats(1, 1e15)
    | st.integers(1, 10**30),
    alpha=st.fractions(1, 10**6, max_denominator=1000) | st.sampled_from([1, 4.5, 7 / 3, 2.0]),
    steps=st.integers(1, 10**6),
)
def test_any_budget_written_reads_back_to_the_same_units(memory, alpha, steps):
    text = trace_text(steps, memory, alpha, True, [])
    trace = load_trace(text)
    assert trace.memory == memory and trace.alpha == alpha and trace.steps == steps
    units = grains_for(alpha)
    assert budget_grains(trace.memory, steps, grains_for(trace.alpha)) == budget_grains(
        memory, steps, units
    )
