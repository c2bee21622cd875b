"""trace_from_calls: the valid trace of least peak that makes exactly a log's forward and
backward calls (docs/model.md, *Traces from call logs*), proved against an exhaustive
search over every valid trace that makes them (tests/oracle/call_log_search.py), and judged
by a second reading of the rules (tests/oracle/validator.py)."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.oracle.call_log import CallLogPlan, trace_from_calls
from mini_bptt.oracle.call_log_gaps import Gaps, Kept, gap_actions, kept_states
from mini_bptt.planning.units import grains_for
from tests.helpers import examples, from_short, short
from tests.oracle.call_log_search import first_impossible, least_peak
from tests.oracle.validator import judge

ALPHAS = (1, 1.5, 2)


def calls_of(actions) -> list[tuple[str, int]]:
    return [(a.op, a.step) for a in actions if a.op in ("forward", "backward")]


def log_of(text: str) -> list[tuple[str, int]]:
    """A call log written compactly: "F1 F2 B2 F1 B1"."""
    return calls_of(from_short(text))


def grains(units, alpha) -> int:
    value = Fraction(units) * grains_for(alpha).hidden
    assert value.denominator == 1
    return int(value)


def rebuilt(log, steps, alpha, flag) -> CallLogPlan:
    """The trace of ``log``, checked to make exactly its calls and to be valid within its own
    peak by the independent validator, which measures the same peak."""
    trace = trace_from_calls(log, steps=steps, alpha=alpha, internal_has_output=flag)
    assert calls_of(trace.actions) == list(log)
    pairs = [(a.op, a.step) for a in trace.actions]
    broken, state = judge(pairs, steps, Fraction(trace.memory), alpha, flag)
    assert broken is None, (broken, short(trace.actions))
    assert state.peak == Fraction(trace.memory)  # the memory is exact, the peak a float
    assert float(state.peak) == trace.peak_memory
    return trace


def assert_least(log, steps, alpha, flag) -> CallLogPlan:
    """The trace is valid, and no valid trace that makes the calls has a lower peak."""
    trace = rebuilt(log, steps, alpha, flag)
    g = grains_for(alpha)
    ours = grains(trace.memory, alpha)
    lower = least_peak(log, steps, g.hidden, g.internal, flag, below=ours)
    assert lower is None, (log, steps, alpha, flag, short(trace.actions), ours, lower)
    return trace


def plan_logs(max_steps: int):
    """The call log of every plan of every strategy and model for T <= ``max_steps``, every
    budget in half units, alpha 1, 1.5 and 2, both values of internal_has_output, each
    distinct (log, T, alpha, flag) once, with the plan."""
    seen = set()
    for steps, alpha, flag, strategy, model in itertools.product(
        range(1, max_steps + 1), ALPHAS, (True, False), mb.STRATEGIES, mb.MODELS
    ):
        if model == "paper" and (
            strategy not in ("hsm", "ism", "msm") or strategy != "hsm" and not flag
        ):
            continue  # the paper's ISM and MSM restart from internal states
        for halves in range(2, int(2 * (1 + alpha * (steps - 1))) + 3):
            try:
                p = mb.plan(
                    steps, Fraction(halves, 2), alpha=alpha, strategy=strategy, model=model,
                    internal_has_output=flag,
                )  # fmt: skip
            except mb.InfeasibleMemoryError:
                continue
            key = (tuple(calls_of(p.actions)), steps, alpha, flag)
            if key not in seen:
                seen.add(key)
                yield (*key, p)


# ---- what the trace is, on logs worked by hand --------------------------------------------


def test_a_schedule_is_rebuilt_with_its_saves_restores_and_frees():
    trace = rebuilt(log_of("F1 F2 B2 F1 B1"), 2, 1, True)
    assert short(trace.actions) == "F1 F2 B2 RH0 XH0 F1 B1"
    assert (trace.peak_memory, trace.forward_count, trace.strategy) == (1, 3, "hsm")


def test_h0_is_freed_at_once_when_no_forward_restarts_from_it():
    trace = rebuilt(log_of("F1 F2 F3 B3 B2 B1"), 3, 2, True)
    assert short(trace.actions) == "XH0 F1 SI1 F2 SI2 F3 B3 B2 XI2 B1 XI1"
    assert (trace.peak_memory, trace.strategy) == (4, "ism")


def test_a_restart_uses_the_internal_state_kept_for_its_backward():
    trace = rebuilt(log_of("F1 F2 F3 B3 F2 B2 B1"), 3, 2, True)
    assert short(trace.actions) == "XH0 F1 SI1 F2 F3 B3 RI1 F2 B2 B1 XI1"
    hidden = rebuilt(log_of("F1 F2 F3 B3 F2 B2 B1"), 3, 2, False)
    assert short(hidden.actions) == "XH0 F1 SH1 SI1 F2 F3 B3 RH1 XH1 F2 B2 B1 XI1"
    assert (trace.peak_memory, hidden.peak_memory) == (2, 3)


# the example of docs/model.md, *Traces from call logs*
DOCS_LOG = "F1 F2 F3 F2 B3 F1 F2 B2 F1 B1"


def test_a_restart_state_is_kept_internal_when_that_lowers_the_peak():
    trace = assert_least(log_of(DOCS_LOG), 3, 2, True)
    assert short(trace.actions) == "F1 SI1 F2 F3 RI1 XI1 SI3 F2 B3 XI3 RH0 F1 F2 B2 RH0 XH0 F1 B1"
    assert (trace.peak_memory, trace.forward_count, trace.optimal_forward_count) == (3, 7, 4)
    # without the output in s[1] the restart needs h[1], and s[3] is saved beside it
    hidden = assert_least(log_of(DOCS_LOG), 3, 2, False)
    assert short(hidden.actions).startswith("F1 SH1 F2 F3 SI3 RH1 XH1 F2")
    assert hidden.peak_memory == 4


def test_an_internal_restart_state_turns_hidden_at_the_next_restart():
    log = log_of("F1 F2 F3 F1 F2 F4 B4 F3 F3 F2 B3 B2 B1")
    trace = assert_least(log, 4, 1.5, True)
    # s[2] is saved after s[3] is freed, then turned into h[2] for the two restarts from 2
    assert "RI3 XI3 SI2 F4 B4 RI2 XI2 SH2 F3 RH2 XH2 F3" in short(trace.actions)
    assert trace.peak_memory == 3


# ---- the claim: least peak, against the exhaustive search -----------------------------------


def test_every_plan_log_up_to_5_steps_gets_the_least_peak():
    for log, steps, alpha, flag, p in plan_logs(5):
        trace = assert_least(log, steps, alpha, flag)
        assert trace.forward_count == p.forward_count
        assert trace.peak_memory <= p.peak_memory


@pytest.mark.slow
def test_every_plan_log_up_to_8_steps_gets_the_least_peak():
    for log, steps, alpha, flag, p in plan_logs(8):
        trace = assert_least(log, steps, alpha, flag)
        assert trace.forward_count == p.forward_count
        assert trace.peak_memory <= p.peak_memory


def grid_plans(lengths, budgets):
    for steps, strategy, budget, alpha, flag in itertools.product(
        lengths, mb.STRATEGIES, budgets, (1.5, 4.5), (True, False)
    ):
        try:
            yield mb.plan(steps, budget, alpha=alpha, strategy=strategy, internal_has_output=flag)
        except mb.InfeasibleMemoryError:
            continue


def assert_no_worse_than_its_plan(p) -> None:
    flag = p.internal_has_output
    trace = trace_from_calls(calls_of(p.actions), steps=p.steps, alpha=p.alpha,
                             internal_has_output=flag)  # fmt: skip
    assert calls_of(trace.actions) == calls_of(p.actions)
    assert trace.forward_count == p.forward_count
    assert trace.peak_memory <= p.peak_memory
    verdict = mb.check(trace.actions, p.steps, trace.memory, alpha=p.alpha,
                       internal_has_output=flag)  # fmt: skip
    assert verdict.valid, verdict.error
    assert verdict.peak_memory == trace.peak_memory
    assert trace.optimal_forward_count == mb.cost(
        p.steps, trace.memory, alpha=p.alpha, internal_has_output=flag
    )
    assert trace.optimal_forward_count <= trace.forward_count


def test_plans_of_20_and_60_steps_are_rebuilt_no_worse():
    for p in grid_plans((20, 60), (3, "20%")):
        assert_no_worse_than_its_plan(p)


@pytest.mark.slow
def test_plans_up_to_60_steps_are_rebuilt_no_worse():
    for p in grid_plans((*range(1, 13), 17, 25, 33, 47, 60), (2, 3, 5, "10%", "35%", "100%")):
        assert_no_worse_than_its_plan(p)


@st.composite
def random_plans(draw, max_steps=5):
    steps = draw(st.integers(1, max_steps))
    strategy = draw(st.sampled_from(mb.STRATEGIES))
    alpha = draw(st.sampled_from((1, 1.5, 2, 3, Fraction(7, 3))))
    flag = draw(st.booleans())
    model = draw(st.sampled_from(mb.MODELS)) if strategy in ("hsm", "ism", "msm") else "optimal"
    if model == "paper" and strategy != "hsm":
        flag = True
    budget = Fraction(draw(st.integers(1, 3 * (1 + int(alpha * (steps - 1))))), 3)
    try:
        return mb.plan(
            steps, budget, alpha=alpha, strategy=strategy, model=model, internal_has_output=flag
        )
    except mb.InfeasibleMemoryError:  # below the strategy's least: a budget that holds it all
        return mb.plan(steps, 10**6, alpha=alpha, strategy=strategy, internal_has_output=flag)


@settings(max_examples=examples(40), deadline=None)
@given(random_plans())
def test_a_random_plan_log_gets_the_least_peak(p):
    trace = assert_least(calls_of(p.actions), p.steps, p.alpha, p.internal_has_output)
    assert trace.peak_memory <= p.peak_memory


@st.composite
def random_logs(draw, max_steps=5, max_calls=24, reversed_steps=False):
    """A log some valid trace makes (one that keeps every state it computes can make it):
    a forward i once step i-1 is computed (or i = 1), the next backward once its step is.
    Forwards of a step already reversed only when ``reversed_steps``. Past ``max_calls``,
    the steps left are reversed one by one, each from h[0]."""
    steps = draw(st.integers(1, max_steps))
    computed, log, next_step = {0}, [], steps
    while next_step and len(log) < max_calls:
        top = steps if reversed_steps else next_step
        options = [("forward", i) for i in range(1, top + 1) if i - 1 in computed]
        if next_step in computed:
            options += [("backward", next_step)] * 2
        op, step = draw(st.sampled_from(options))
        log.append((op, step))
        if op == "forward":
            computed.add(step)
        else:
            next_step -= 1
    for step in range(next_step, 0, -1):
        log += [("forward", i) for i in range(1, step + 1)] + [("backward", step)]
    return log, steps


SETTINGS = settings(max_examples=examples(60), deadline=None)


@SETTINGS
@given(random_logs(), st.sampled_from((1, 1.5, 2, 3)), st.booleans())
def test_a_random_log_gets_the_least_peak(case, alpha, flag):
    log, steps = case
    assert_least(log, steps, alpha, flag)


def restarts_after_the_backward_that_read_their_state(log) -> bool:
    """Whether a forward k+1 after backward k restarts from the computation of step k whose
    saved s[k] that backward read: the one log the claim leaves out (with the output)."""
    latest, last_forward, read = {}, 0, {}
    for index, (op, step) in enumerate(log):
        if op == "forward":
            restart = last_forward != step - 1
            if restart and step - 1 in read and read[step - 1] == latest[step - 1]:
                return True
            latest[step], last_forward = index, step
        elif last_forward != step:
            read[step] = latest[step]
    return False


def assert_least_but_for_the_exception(log, steps, alpha, flag) -> None:
    if not flag or not restarts_after_the_backward_that_read_their_state(log):
        assert_least(log, steps, alpha, flag)
        return
    trace = rebuilt(log, steps, alpha, flag)  # still valid, and no lower than the least
    g = grains_for(alpha)
    assert least_peak(log, steps, g.hidden, g.internal, flag) <= grains(trace.memory, alpha)


@settings(max_examples=examples(30), deadline=None)
@given(
    random_logs(max_steps=4, reversed_steps=True), st.sampled_from((1, 1.5, 2, 3)), st.booleans()
)
def test_a_log_that_recomputes_reversed_steps_is_least_but_for_the_one_exception(case, alpha, flag):
    assert_least_but_for_the_exception(*case, alpha, flag)


@pytest.mark.slow
@settings(max_examples=examples(400), deadline=None)
@given(random_logs(max_steps=6, max_calls=30), st.sampled_from((1, 1.5, 2, 3)), st.booleans())
def test_many_random_logs_get_the_least_peak(case, alpha, flag):
    log, steps = case
    assert_least(log, steps, alpha, flag)


@pytest.mark.slow
@settings(max_examples=examples(500), deadline=None)
@given(random_logs(reversed_steps=True), st.sampled_from((1, 1.5, 2, 3)), st.booleans())
def test_many_logs_that_recompute_reversed_steps(case, alpha, flag):
    assert_least_but_for_the_exception(*case, alpha, flag)


@pytest.mark.slow
@settings(max_examples=examples(500), deadline=None)
@given(random_plans(max_steps=7))
def test_many_random_plan_logs_get_the_least_peak(p):
    trace = assert_least(calls_of(p.actions), p.steps, p.alpha, p.internal_has_output)
    assert trace.peak_memory <= p.peak_memory


def test_a_restart_after_the_backward_that_read_its_state_keeps_that_state_on():
    # backward 2 reads s[2] (the core holds s[3]); forward 3 then restarts from that s[2]
    log = log_of("F1 F2 F3 B3 B2 F3 B1")
    assert restarts_after_the_backward_that_read_their_state(log)
    assert short(assert_least(log, 3, 2, True).actions) == (
        "XH0 F1 SI1 F2 SI2 F3 B3 B2 RI2 XI2 F3 B1 XI1"
    )
    assert short(assert_least(log, 3, 2, False).actions) == (
        "XH0 F1 SI1 F2 SH2 SI2 F3 B3 B2 XI2 RH2 XH2 F3 B1 XI1"
    )


def test_the_exception_is_real():
    # s[3], read by backward 3, is kept on for the forward 4 after backward 2; the least
    # trace turns it into h[3] just before backward 3, moving the cursor away from h[1]
    # and back by restoring s[1], which it saves there for backward 1: ours cannot
    log = log_of("F1 F1 F2 F2 F2 F3 F2 F3 F4 B4 F1 B3 F2 B2 F4 B1")
    assert restarts_after_the_backward_that_read_their_state(log)
    assert rebuilt(log, 4, 1.5, True).peak_memory == 3
    assert least_peak(log, 4, 2, 3, True) == 5  # grains: 2.5 units


# ---- logs that no trace can make -------------------------------------------------------------


def past_the_run(log, steps) -> int | None:
    """The index of the first call after backward 1 ended the run (a log holds one run),
    None when there is none."""
    reversed_steps = 0
    for index, (op, _) in enumerate(log):
        if reversed_steps == steps:
            return index
        reversed_steps += op == "backward"
    return None


def expected_refusal(log, steps, flag) -> int | None:
    """Where trace_from_calls must refuse ``log``: the first call no valid trace can make
    (the exhaustive search), or the first call past the run, whichever comes first."""
    found = [
        i for i in (first_impossible(log, steps, flag), past_the_run(log, steps)) if i is not None
    ]
    return min(found, default=None)


@pytest.mark.parametrize(
    ("text", "steps", "index", "words"),
    [
        ("F1 F2 B1 B2", 2, 2, "the next step is 2"),  # before its later steps are reversed
        ("F2 B2 B1", 2, 0, "cursor at h[1], and no earlier call computed step 1"),
        ("F1 F3 B3 B2 B1", 3, 1, "cursor at h[2]"),
        ("F1 B2 B1", 2, 1, "backward 2 needs s[2], and no earlier forward 2 computed it"),
        ("F1 F2 B2 B2 B1", 2, 3, "the next step is 1"),
        ("F1 F2 B2 B1 F1 B1", 2, 4, "calls[4] (forward 1): a call after backward 1 completed"),
        ("F1 F2 B2 B1 F2", 2, 4, "a log holds one run (a forward sweep and its backward)"),
        ("F1 F2 B2", 2, 3, "the log ends before steps 1..1 are reversed"),
        ("F1 B1 B1", 1, 2, "calls[2] (backward 1): a call after backward 1 completed the run"),
        ("", 3, 0, "the end of calls (index 0 = len(calls)): the log ends before steps 3..1"),
    ],
)
def test_an_impossible_log_is_refused_at_its_first_impossible_call(text, steps, index, words):
    log = log_of(text)
    with pytest.raises(mb.PlanError) as caught:
        trace_from_calls(log, steps=steps)
    assert caught.value.index == index == expected_refusal(log, steps, True)
    assert words in str(caught.value)


def test_the_errors_name_the_call_as_calls_index_like_the_bad_input_errors():
    with pytest.raises(mb.PlanError) as caught:
        trace_from_calls(log_of("F1 F2 B1 B2"), steps=2)
    assert str(caught.value).startswith("calls[2] (backward 1): backward must reverse steps")
    assert (caught.value.index, caught.value.op, caught.value.step) == (2, "backward", 1)
    assert "action" not in str(caught.value)


def run_twice(steps: int) -> list:
    """The log of a loop run twice through the same hooks: a training step with
    checkpointing, then an evaluation pass (forwards only)."""
    one_run = [("forward", i) for i in range(1, steps + 1)]
    for i in range(steps, 0, -1):
        one_run += [("forward", i), ("backward", i)]
    return one_run + [("forward", i) for i in range(1, steps + 1)]


def test_a_log_holds_one_run_an_evaluation_pass_after_it_is_refused():
    # mb.check accepts a trace that runs on after backward 1 (h[0] kept): a log of two
    # runs would otherwise give a valid trace of both, as if one loop made them
    log = run_twice(6)
    with pytest.raises(mb.PlanError) as caught:
        trace_from_calls(log, steps=6)
    assert caught.value.index == 18 == past_the_run(log, 6)
    assert first_impossible(log, 6, True) is None  # the rules alone would allow it
    assert "use a new log, or clear it, for each run" in str(caught.value)
    assert trace_from_calls(log[:18], steps=6).forward_count == 12


@pytest.mark.parametrize(
    ("text", "steps", "words"),
    [  # the likely cause in a real loop, after the rule
        ("F1 F2 B2 B1", 3, "no forward computed step 3, the forwards reached step 2 only: "
         "is steps=3 right?"),
        ("F1 F2 F3 B2 B1 B3 B2 B1", 3, "backward 2 comes while steps 3..3 are still to be "
         "reversed: did the loop run backward more than once over its graph"),
        ("F1 F2 F3", 3, "no backward was logged: was the loss differentiated"),
        ("F1 F2 F3 B3 B2", 3, "the backward stopped after step 2: the gradient may not reach "
         "step 1's input state"),
    ],
)  # fmt: skip
def test_a_refusal_says_the_likely_cause(text, steps, words):
    with pytest.raises(mb.PlanError) as caught:
        trace_from_calls(log_of(text), steps=steps)
    assert words in str(caught.value)


def test_an_out_of_order_backward_of_a_later_step_gets_no_hint_that_does_not_fit():
    with pytest.raises(mb.PlanError) as caught:
        trace_from_calls(log_of("F1 F2 B2 B2 B1"), steps=2)
    assert str(caught.value).endswith("the next step is 1")


@settings(max_examples=examples(100), deadline=None)
@given(random_logs(reversed_steps=True), st.data(), st.booleans())
def test_a_spoilt_log_is_refused_exactly_where_no_trace_can_go_on(case, data, flag):
    log, steps = case
    spoilt = list(log)
    at = data.draw(st.integers(0, len(spoilt)))
    how = data.draw(st.sampled_from(("drop", "insert", "change", "swap")))
    call = (data.draw(st.sampled_from(("forward", "backward"))), data.draw(st.integers(1, steps)))
    if how == "drop" and at < len(spoilt):
        del spoilt[at]
    elif how == "change" and at < len(spoilt):
        spoilt[at] = call
    elif how == "swap" and at + 1 < len(spoilt):
        spoilt[at], spoilt[at + 1] = spoilt[at + 1], spoilt[at]
    else:
        spoilt.insert(at, call)
    expected = expected_refusal(spoilt, steps, flag)
    if expected is None:
        rebuilt(spoilt, steps, 1.5, flag)
        return
    with pytest.raises(mb.PlanError) as caught:
        trace_from_calls(spoilt, steps=steps, alpha=1.5, internal_has_output=flag)
    assert caught.value.index == expected


# ---- the result ----------------------------------------------------------------------------


def test_the_result_is_a_plan_that_names_its_class_and_the_optimum():
    p = mb.plan(30, 4, alpha=2, strategy="msm")
    trace = trace_from_calls(calls_of(p.actions), steps=30, alpha=2)
    assert isinstance(trace, mb.Plan) and isinstance(trace, CallLogPlan)
    assert (trace.model, trace.memory, trace.optimum_note) == ("call-log", trace.peak_memory, "")
    assert trace.optimal_forward_count == mb.cost(30, trace.peak_memory, alpha=2)
    assert "optimal_forward_count" in repr(trace)
    again = mb.Plan.from_json(trace.to_json())
    assert (again.actions, again.strategy, again.model) == (trace.actions, "msm", "call-log")
    kinds = {
        s: trace_from_calls(
            calls_of(mb.plan(12, 10**6, alpha=2, strategy=s).actions), steps=12, alpha=2
        ).strategy
        for s in ("hsm", "ism", "recompute", "bptt")
    }
    assert kinds == {"hsm": "hsm", "ism": "ism", "recompute": "hsm", "bptt": "ism"}
    assert json.loads(trace.to_json())["model"] == "call-log"


def test_calls_may_be_actions_dicts_or_numpy_steps():
    log = log_of("F1 F2 B2 F1 B1")
    expected = trace_from_calls(log, steps=2).actions
    assert trace_from_calls([mb.Action(op, i) for op, i in log], steps=2).actions == expected
    assert trace_from_calls([{"op": op, "step": i} for op, i in log], steps=2).actions == expected
    assert trace_from_calls(((op, np.int64(i)) for op, i in log), steps=np.int32(2)).actions == (
        expected
    )


def test_the_optimum_is_left_out_past_the_check_time_limit():
    log = calls_of(mb.plan(4000, 20, strategy="hsm").actions)
    with mb.resource_limits(check_seconds=1e-3):
        trace = trace_from_calls(log, steps=4000)
    assert (trace.peak_memory, trace.strategy) == (20, "hsm")
    assert trace.optimal_forward_count is None
    assert trace.optimum_note.startswith("optimum not computed: its DP would take")


# ---- bad arguments and limits -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("calls", "steps", "error", "words"),
    [
        (5, 2, TypeError, "calls must be an iterable of ('forward', i) and ('backward', i)"),
        ("F1 B1", 2, TypeError, "got 'F1 B1'"),
        ([("forward", 1, 2)], 2, TypeError, "calls[0] must be a ('forward', i) or"),
        ([("forward", 1), ("save_hidden", 1)], 2, ValueError,
         "calls[1] has op 'save_hidden'; a call log accepts only 'forward' and 'backward'"),
        ([("forward", 3)], 2, ValueError, "calls[0] has step 3; a step is an integer from 1 to 2"),
        ([("backward", 0)], 2, ValueError, "calls[0] has step 0; a step is an integer from 1"),
        ([("forward", 1.0)], 2, TypeError, "calls[0] has step 1.0; a step is an integer"),
        ([("forward", True)], 2, TypeError, "calls[0] has step True"),
        ([], 2.0, TypeError, "steps must be an integer >= 1, got 2.0"),
        ([], "3", TypeError, "steps must be an integer >= 1, got '3'"),
        ([], True, TypeError, "steps must be an integer >= 1, got True"),
        ([], 0, ValueError, "steps must be an integer >= 1, got 0"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_argument_and_what_is_accepted(calls, steps, error, words):
    with pytest.raises(error) as caught:
        trace_from_calls(calls, steps=steps)
    assert words in str(caught.value)
    assert not isinstance(caught.value, mb.PlanError)


def test_bad_alpha_and_flag_are_refused_by_name():
    with pytest.raises(ValueError, match="alpha must be"):
        trace_from_calls([("forward", 1), ("backward", 1)], steps=1, alpha=0.5)
    with pytest.raises(TypeError, match="internal_has_output must be True or False"):
        trace_from_calls([("forward", 1), ("backward", 1)], steps=1, internal_has_output=1)


def test_an_endless_log_is_read_only_up_to_the_actions_limit():
    read = []

    def endless():
        while True:
            read.append(1)
            yield ("forward", 1)

    with mb.resource_limits(actions=50), pytest.raises(mb.ResourceLimitError, match="call log"):
        trace_from_calls(endless(), steps=1)
    assert len(read) == 51


def test_a_trace_past_the_actions_limit_is_refused_before_it_is_built():
    log = calls_of(mb.plan(20, 3).actions)
    refused = pytest.raises(mb.ResourceLimitError, match="the trace of this call log")
    with mb.resource_limits(actions=len(log)), refused:
        trace_from_calls(log, steps=20)


# ---- the peak model and the choice, on their own ------------------------------------------

ONE_AND_A_HALF = grains_for(1.5)  # a hidden state 2 grains, an internal one 3


def held_through_the_gap(entering: int, actions) -> int:
    """The most grains held while ``actions`` run, from ``entering``."""
    sizes = {"save_hidden": 2, "save_internal": 3, "free_hidden": -2, "free_internal": -3}
    most = held = entering
    for a in actions:
        held += sizes.get(a.op, 0)
        most = max(most, held)
    return most


def gap_cases():
    """Every kind of gap 6 (before a forward): what is saved there, what turns hidden there,
    what is restored there and whether for the last time."""
    saves = {
        "nothing": [],
        "h": [Kept(1, 6, 9, False, 6, choice=True)],
        "s": [Kept(1, 6, 9, True, 9)],
        "h and s": [Kept(1, 6, 9, False, 6), Kept(1, 6, 8, True, 8)],
    }
    for (name, saved), turning, restored in itertools.product(
        saves.items(), range(3), ("none", "h last", "h", "s last", "s", "turning")
    ):
        turns = [Kept(2 + n, 1 + n, 9, False, 6, choice=True, turn_gap=6) for n in range(turning)]
        source = {
            "none": None,
            "h last": Kept(4, 2, 6, False, 2),
            "h": Kept(4, 2, 9, False, 2),
            "s last": Kept(4, 2, 6, False, 6, choice=True),
            "s": Kept(4, 2, 9, True, 9),
            "turning": turns[0] if turns else None,
        }[restored]
        kept = saved + turns + ([source] if source is not None and source not in turns else [])
        yield name, turning, restored, kept, saved, turns, source


def test_the_peak_of_a_gap_is_what_its_actions_hold():
    for name, turning, restored, kept, saved, turns, source in gap_cases():
        gaps = Gaps(10, kept, {6: source} if source is not None else {}, ONE_AND_A_HALF)
        held, turned = gaps.loads()
        assert held[6] == sum(3 if k.internal_at(6) else 2 for k in kept if k.save < 6), name
        actions = gap_actions(6, saved, turns, {6: source} if source is not None else {})
        assert gaps.peak(6, held[6], turned.get(6, 0)) == held_through_the_gap(held[6], actions), (
            name, turning, restored, short(actions)
        )  # fmt: skip


def test_a_gap_over_the_peak_makes_only_its_saved_state_internal_when_that_is_enough():
    # two states turn hidden in gap 6, freeing 2 grains: an internal save there then adds
    # only 1, so making the saved state internal (3 - 2) beats keeping it hidden (2)
    turns = [Kept(2 + n, 1 + n, 9, False, 6, turn_gap=6) for n in range(2)]
    source = Kept(4, 3, 6, False, 3, choice=True)  # restored for the last time in gap 6
    saved = Kept(5, 6, 9, False, 6, choice=True)
    gaps = Gaps(10, [*turns, source, saved], {6: source}, ONE_AND_A_HALF)
    held, turned = gaps.loads()
    assert gaps.peak(6, held[6], turned[6]) == held[6] + 2
    assert gaps._force(6, held[6], turned[6], budget=held[6] + 1)
    assert saved.saved_internal and not source.internal_at(6)
    assert gaps.peak(6, held[6], turned[6]) == held[6] + 1


def levels(k: Kept) -> list[int]:
    """The gaps up to which a choice state may be internal: never, until its turn, to its end."""
    return sorted({k.save, k.end, *([k.turn_gap] if k.turn_gap is not None else [])})


@settings(max_examples=examples(60), deadline=None)
@given(random_logs(max_steps=5, max_calls=20), st.sampled_from((1, 1.25, 1.5, 2, 3)))
def test_the_internal_states_chosen_are_in_every_choice_of_least_peak(case, alpha):
    log, steps = case
    trace = trace_from_calls(log, steps=steps, alpha=alpha)
    kept, restored = kept_states(log, steps, True)
    choices = [k for k in kept if k.choice][:6]  # 3**6 choices at most
    gaps = Gaps(len(log), kept, restored, grains_for(alpha))
    least, best = None, []
    for until in itertools.product(*map(levels, choices)):
        for k, u in zip(choices, until, strict=True):
            k.internal_until = u
        peak = gaps.highest()
        if least is None or peak < least:
            least, best = peak, []
        if peak == least:
            best.append(until)
    if len(choices) == sum(k.choice for k in kept):
        assert grains(trace.memory, alpha) == least
        gaps.fits(least)
        ours = tuple(k.internal_until for k in choices)
        assert all(o <= u for until in best for o, u in zip(ours, until, strict=True))
