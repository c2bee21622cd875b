"""Fuzzed inputs never crash: every entry point ends in a result or in one clear line.

Each input to the CLI, a trace file or the Python API must end, within a fixed deadline,
as one of: a result; exit 1 (an invalid trace); exit 2 / ``ValueError`` / ``TypeError``
with one line naming the argument. Never a traceback, a hang or an allocation the
machine cannot hold. The resource guard's limits are lowered here so that a request
the guard lets through also finishes within the deadline.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import multiprocessing
import os
from datetime import timedelta
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt import cli
from tests.helpers import examples

EXAMPLES = max(examples(500), settings().max_examples)  # more under --hypothesis-profile=explore
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LOW_LIMITS = dict(
    table_bytes=2**28, seconds=2.0, actions=300_000, check_seconds=1.0, array_bytes=2**24
)

# -- values of every size and form ---------------------------------------------------------------

NUMBER_TEXTS = [
    "0", "1", "-1", "-0", "2", "3", "7", "40", "1000", "100000", "99999999999999999999",
    "1e400", "-1e400", "1e-400", "1e30", "1e6", "1e-9", "0e0", "0.5", "2.5", "4.5", "7/3",
    "1/3", "1/0", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "0x10", "0b11", "0o7",
    "10**30", "1_000", "+3", " 7 ", "", " ", "\t", "٣", "³", "½", "Ⅻ", "1,5", "1.5.2", "e",
    "5%", "5%%", "-5%", "0%", "100%", "150%", "1e400%", "nan%", "inf%", "%", " 5 %", "5 %",
    "4%", "0.001%", "1e-30%",
]  # fmt: skip
OPTION_TEXTS = [
    "--alpha", "--strategy", "--model", "--no-internal-output", "--json", "--show",
    "--steps", "--memory", "--out", "--quick", "--version", "-h", "--", "-", "--bogus",
    "--cell", "lstm", "rnn", "--batch", "--input-size", "--hidden-size",
    *mb.STRATEGIES, *mb.MODELS, "bogus", "1:10", "1:100:5", "10:1", "1:2:0", "1:2:3:4",
    "a:b", "5%,10%", "1,2,3", ",", "1:", ":",
]  # fmt: skip
tokens = st.one_of(
    st.sampled_from(NUMBER_TEXTS),
    st.sampled_from(OPTION_TEXTS),
    st.text(max_size=8),
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)

NUMPY_INTEGERS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]
huge_ints = st.one_of(
    st.integers(-3, 50), st.sampled_from([10**6, 10**9, 10**30, 2**63, -(2**63), 10**400])
)
nasty_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 1e-300, 1e300, 0.5, 2.5, 1e6, 1e7]),
)
nasty_scalars = st.one_of(
    huge_ints,
    nasty_floats,
    st.sampled_from(NUMBER_TEXTS),
    st.text(max_size=6),
    st.none(),
    st.booleans(),
    st.sampled_from(
        [Fraction(7, 3), Fraction(1, 10**9), np.int64(5), np.float32(2.5), np.float64("nan")]
    ),
    st.sampled_from(NUMPY_INTEGERS).flatmap(
        lambda kind: st.integers(np.iinfo(kind).min, np.iinfo(kind).max).map(kind)
    ),
    st.sampled_from([np.bool_(True), np.bool_(False)]),
    st.sampled_from([1j, b"5", [], {}, (3,), object()]),
)


# -- what every input must end as ----------------------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # --help and --version print and exit 0
            assert exc.code == 0, (argv, exc.code, err.getvalue())
            code = 0
    return code, out.getvalue(), err.getvalue()


def assert_clean_end(code: int, err: str, argv) -> None:
    assert code in (0, 1, 2), (argv, code)
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mini-bptt: error: "), (argv, err)
        assert len(lines[0]) > len("mini-bptt: error: "), argv
    else:
        assert err == "", (argv, err)


def assert_named_error(exc: Exception, names: tuple[str, ...], call) -> None:
    """A ValueError/TypeError of one line that names one of ``names``."""
    message = str(exc)
    assert isinstance(exc, ValueError | TypeError), (call, repr(exc))
    assert "\n" not in message and message, (call, message)
    assert any(name in message for name in names), (call, message)


@pytest.fixture(autouse=True)
def low_limits(tmp_path, monkeypatch):
    """Small limits (so that anything accepted is quick), a scratch folder for files the
    CLI writes, and ``reproduce`` replaced: its work is tested elsewhere and takes minutes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import mini_bptt.reproduce

    monkeypatch.setattr(mini_bptt.reproduce, "reproduce", lambda out, **kw: f"{out}/REPORT.md")
    with mb.resource_limits(**LOW_LIMITS):
        yield


# -- the command line ----------------------------------------------------------------------------


@FUZZ
@given(
    command=st.sampled_from(["plan", "table", "run", "check", "reproduce", "bogus", "", "-h"]),
    rest=st.lists(tokens, max_size=7),
)
def test_cli_argv_ends_in_a_result_or_one_line(command, rest):
    argv = [command, *rest]
    code, _, err = run_cli(argv)
    assert_clean_end(code, err, argv)


@FUZZ
@given(
    steps=st.sampled_from(NUMBER_TEXTS),
    memory=st.sampled_from(NUMBER_TEXTS),
    options=st.lists(st.sampled_from(OPTION_TEXTS + NUMBER_TEXTS), max_size=4),
)
def test_cli_plan_with_every_number_form(steps, memory, options):
    argv = ["plan", steps, memory, *options]
    code, _, err = run_cli(argv)
    assert_clean_end(code, err, argv)


# -- trace files ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), huge_ints, nasty_floats, st.text(max_size=5)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
actions = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"op": st.sampled_from([*mb.OPS, "jump", ""]) | json_values, "step": json_values}
        ),
        json_values,
    ),
    max_size=12,
)
traces = st.fixed_dictionaries(
    {},
    optional={
        "steps": json_values,
        "memory": json_values,
        "alpha": json_values,
        "internal_has_output": json_values,
        "actions": actions,
        "format": json_values,
    },
)


@FUZZ
@given(trace=traces | json_values, cut=st.none() | st.integers(0, 200), junk=st.binary(max_size=3))
def test_check_of_any_trace_file_ends_in_a_verdict_or_one_line(trace, cut, junk, tmp_path):
    text = json.dumps(trace, allow_nan=True).encode()
    if cut is not None:
        text = text[:cut] + junk  # truncated, maybe with bytes that are not UTF-8
    path = tmp_path / "trace.json"
    path.write_bytes(text)
    code, _, err = run_cli(["check", str(path)])
    assert_clean_end(code, err, text[:200])


# -- the Python API ------------------------------------------------------------------------------

PLAN_NAMES = ("steps", "memory", "alpha", "strategy", "model", "internal_has_output")


@FUZZ
@given(
    function=st.sampled_from([mb.plan, mb.cost]),
    steps=nasty_scalars,
    memory=nasty_scalars,
    alpha=nasty_scalars,
    strategy=st.sampled_from(mb.STRATEGIES) | nasty_scalars,
    model=st.sampled_from(mb.MODELS) | nasty_scalars,
    internal_has_output=st.booleans() | nasty_scalars,
)
def test_plan_and_cost_end_in_a_result_or_a_named_error(
    function, steps, memory, alpha, strategy, model, internal_has_output
):
    kwargs = dict(alpha=alpha, strategy=strategy, model=model)
    kwargs["internal_has_output"] = internal_has_output
    try:
        result = function(steps, memory, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the test is what it may be
        assert_named_error(exc, PLAN_NAMES, (function.__name__, steps, memory, kwargs))
    else:
        assert isinstance(result, mb.Plan | int)


@FUZZ
@given(
    steps=st.integers(1, 30) | nasty_scalars,
    memory=st.integers(1, 40) | nasty_scalars,
    alpha=st.sampled_from([1, 1.5, 2, 7 / 3]) | nasty_scalars,
    internal_has_output=st.booleans() | nasty_scalars,
    actions=actions | nasty_scalars,
)
def test_check_ends_in_a_verdict_or_a_named_error(
    steps, memory, alpha, internal_has_output, actions
):
    kwargs = dict(steps=steps, memory=memory, alpha=alpha, internal_has_output=internal_has_output)
    try:
        verdict = mb.check(actions, **kwargs)
    except Exception as exc:  # noqa: BLE001
        assert_named_error(exc, ("actions", *PLAN_NAMES), (actions, kwargs))
    else:
        assert isinstance(verdict, mb.CheckResult)


def arrays(max_side: int = 4):
    shapes = st.lists(st.integers(0, max_side), min_size=0, max_size=4).map(tuple)
    dtypes = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.bool_, object])
    return st.builds(_array, shapes, dtypes, st.sampled_from([0.0, 1.0, np.nan, np.inf, 1e300]))


def _array(shape, dtype, fill):
    with np.errstate(all="ignore"):
        return np.full(shape, fill).astype(dtype)


def _good_problem(cell_name: str, steps: int):
    cell = (mb.RNNCell if cell_name == "rnn" else mb.LSTMCell)(3, 4, seed=1)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(steps, 2, 3))
    h0 = rng.normal(size=(2, cell.state_size))
    return cell, xs, h0, mb.MSEHead(rng.normal(size=(steps, 2, 4)))


@FUZZ
@given(
    cell_name=st.sampled_from(["rnn", "lstm"]),
    steps=st.integers(1, 6),
    replace=st.sets(st.sampled_from(["plan", "cell", "xs", "h0", "head"])),
    values=st.fixed_dictionaries(
        {k: arrays() | nasty_scalars for k in ("plan", "cell", "xs", "h0", "head")}
    ),
    full=st.booleans(),
)
def test_execute_and_full_bptt_end_in_a_result_or_a_named_error(
    cell_name, steps, replace, values, full
):
    cell, xs, h0, head = _good_problem(cell_name, steps)
    plan = mb.plan(steps, "100%", alpha=cell.alpha)
    given_ = dict(plan=plan, cell=cell, xs=xs, h0=h0, head=head)
    given_ |= {name: values[name] for name in replace}
    try:
        if full:
            result = mb.full_bptt(given_["cell"], given_["xs"], given_["h0"], given_["head"])
        else:
            result = mb.execute(**given_)
    except Exception as exc:  # noqa: BLE001
        assert_named_error(exc, ("plan", "cell", "xs", "h0", "head", "targets"), replace)
    else:
        assert isinstance(result, mb.Result)
        swapped = replace - {"plan"} if full else replace  # full_bptt takes no plan
        assert swapped <= {"xs", "h0"}  # only arrays may be swapped for arrays


CONSTRUCTORS = {
    "RNNCell": (mb.RNNCell, ("input_size", "hidden_size", "seed")),
    "LSTMCell": (mb.LSTMCell, ("input_size", "hidden_size", "seed", "forget_bias")),
    "MSEHead": (mb.MSEHead, ("targets",)),
    "SoftmaxHead": (mb.SoftmaxHead, ("labels", "num_classes", "hidden_size", "seed")),
}


@FUZZ
@example(name="RNNCell", values=[1_000_000_000, 2])  # 15 GB: built in 15 s where it fit
@example(name="LSTMCell", values=[10**6, 50])  # 1.6 GB: under the default cap, over this one
@example(name="SoftmaxHead", values=[np.zeros((1, 1), int), 10**6, 10**3])
@given(
    name=st.sampled_from(sorted(CONSTRUCTORS)),
    values=st.lists(st.integers(1, 5) | nasty_scalars | arrays(), min_size=1, max_size=4),
)
def test_cell_and_head_constructors_end_in_an_object_or_a_named_error(name, values):
    """Whatever the host's free memory: the fixture caps arrays at 16 MiB (a build under
    it takes milliseconds), and a size past the cap is refused before allocating."""
    build, names = CONSTRUCTORS[name]
    values = values[: len(names)]
    try:
        built = build(*values)
    except Exception as exc:  # noqa: BLE001
        assert_named_error(exc, names, (name, values))
    else:
        assert isinstance(built, build)
        held = sum(array.nbytes for array in built.params.values())
        assert held <= mb.common.resources.current().array_bytes, (name, values)


@FUZZ
@example(name="RNNCell", arrays_=[np.zeros((1, 0)), None])  # found by CI: no input columns
@given(
    name=st.sampled_from(["RNNCell", "LSTMCell"]),
    arrays_=st.lists(arrays(6) | nasty_scalars, min_size=1, max_size=4),
)
def test_from_weights_ends_in_a_cell_or_a_named_error(name, arrays_):
    build = getattr(mb, name).from_weights
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    try:
        built = build(*arrays_)
    except Exception as exc:  # noqa: BLE001
        assert_named_error(exc, names, (name, [getattr(a, "shape", a) for a in arrays_]))
    else:
        assert isinstance(built, getattr(mb, name))


# -- named nasty inputs, pinned -----------------------------------------------------------------

NAMED_ARGV = {
    "alpha 1e400 overflows a float": ["plan", "10", "5%", "--alpha", "1e400"],
    "a million steps at 5%": ["plan", "1000000", "5%"],
    "1e5 steps at 5%, alpha 5": ["plan", "100000", "5%", "--alpha", "5"],
    "20-digit steps, hsm": ["plan", "99999999999999999999", "3", "--strategy", "hsm"],
    "1e30 steps, hsm, json": ["plan", str(10**30), "3", "--strategy", "hsm", "--json"],
    "negative zero steps": ["plan", "-0", "3"],
    "nan steps": ["plan", "nan", "3"],
    "inf memory": ["plan", "10", "inf"],
    "nan percent": ["plan", "10", "nan%"],
    "hex steps": ["plan", "0x10", "3"],
    "power syntax": ["plan", "10**30", "3"],
    "double percent": ["plan", "10", "5%%"],
    "unicode digit": ["plan", "٣", "3"],
    "empty steps": ["plan", "", "3"],
    "blank memory": ["plan", "10", " "],
    "negative percent": ["plan", "10", "-5%"],
    "tiny alpha": ["plan", "10", "5", "--alpha", "1e-400"],
    "alpha over a million": ["plan", "10", "5", "--alpha", "1e7"],
    "fraction alpha": ["plan", "10", "5", "--alpha", "7/3"],
    "alpha divided by zero": ["plan", "10", "5", "--alpha", "1/0"],
    "unknown strategy": ["plan", "10", "5", "--strategy", "bogus"],
    "paper model for chen": ["plan", "10", "50", "--strategy", "chen", "--model", "paper"],
    "show without a display": ["plan", "12", "4", "--show"],
    "table reversed range": ["table", "--steps", "10:1", "--memory", "3"],
    "table zero step": ["table", "--steps", "1:10:0", "--memory", "3"],
    "table huge range": ["table", "--steps", f"1:{10**12}", "--memory", "3"],
    "table nan memory": ["table", "--steps", "5", "--memory", "nan"],
    "run a huge batch": ["run", "10", "5%", "--batch", str(10**12)],
    "run for hours": ["run", "20000", "5%", "--hidden-size", "2000"],
    "run a zero hidden size": ["run", "10", "5%", "--hidden-size", "0"],
    "run a fraction batch": ["run", "10", "5%", "--batch", "2.5"],
    "check a missing file": ["check", "no-such-trace.json"],
    "check a directory": ["check", "."],
    "check an empty name": ["check", ""],
    "no command": [],
    "unknown command": ["bogus"],
}


@pytest.mark.parametrize("name", sorted(NAMED_ARGV))
def test_named_nasty_argv(name):
    argv = NAMED_ARGV[name]
    code, out, err = run_cli(argv)
    assert_clean_end(code, err, argv)
    if name in ("alpha 1e400 overflows a float", "a million steps at 5%", "nan steps"):
        assert code == 2
    if name == "20-digit steps, hsm":  # refused at once: its action list is too long
        assert code == 2 and "use cost()" in err


NAMED_TRACES = {
    "truncated": b'{"steps": 3, "memory": 2, "actions": [{"op": "forw',
    "not utf-8": b'{"steps": 3, "memory": "\xff\xfe", "actions": []}',
    "nan steps": b'{"steps": NaN, "memory": 2, "actions": []}',
    "infinite memory": b'{"steps": 3, "memory": Infinity, "actions": []}',
    "huge steps": b'{"steps": 1e400, "memory": 2, "actions": []}',
    "20-digit steps": b'{"steps": 99999999999999999999, "memory": 2, "actions": []}',
    "negative steps": b'{"steps": -3, "memory": 2, "actions": []}',
    "duplicate keys": b'{"steps": 3, "steps": "x", "memory": 2, "actions": []}',
    "actions not a list": b'{"steps": 3, "memory": 2, "actions": 7}',
    "action not an object": b'{"steps": 3, "memory": 2, "actions": [[1, 2]]}',
    "deep nesting": b'{"steps": 3, "memory": 2, "actions": ' + b"[" * 100_000 + b"]" * 100_000,
    "top level list": b"[1, 2, 3]",
    "empty file": b"",
    "bom": b'\xef\xbb\xbf{"steps": 1, "memory": 1, "actions": []}',
}


@pytest.mark.parametrize("name", sorted(NAMED_TRACES))
def test_named_nasty_trace_files(name, tmp_path):
    path = tmp_path / "trace.json"
    path.write_bytes(NAMED_TRACES[name])
    code, _, err = run_cli(["check", str(path)])
    assert_clean_end(code, err, name)
    assert code in (1, 2)


@pytest.mark.slow
def test_a_trace_of_a_million_actions_is_judged(tmp_path):
    steps = 500_000
    trace = [{"op": "forward", "step": i} for i in range(1, steps + 1)]
    trace += [{"op": "backward", "step": i} for i in range(steps, 0, -1)]
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"steps": steps, "memory": 1, "actions": trace}))
    code, out, err = run_cli(["check", str(path)])
    assert_clean_end(code, err, "a million actions")
    assert code == 1 and "backward needs s[" in out  # step T-1's state was never kept


NAMED_CALLS = {
    "cost 1e30 steps hsm": lambda: mb.cost(10**30, 3, strategy="hsm"),
    "plan alpha inf": lambda: mb.plan(10, 5, alpha=math.inf),
    "plan steps True": lambda: mb.plan(True, 5),
    "plan memory nan": lambda: mb.plan(10, math.nan),
    "cost memory 1e400 percent": lambda: mb.cost(10, "1e400%"),
    "check steps 10**400": lambda: mb.check([], steps=10**400, memory=2),
    "RNNCell a billion wide": lambda: mb.RNNCell(10**9, 10**9),
    "LSTMCell negative": lambda: mb.LSTMCell(-1, 4),
    "MSEHead nan targets": lambda: mb.MSEHead(np.full((2, 1, 3), np.nan)),
    "SoftmaxHead one class": lambda: mb.SoftmaxHead(np.zeros((2, 1), int), 1, 3),
}


@pytest.mark.parametrize("name", sorted(NAMED_CALLS))
def test_named_nasty_calls(name):
    try:
        NAMED_CALLS[name]()
    except (ValueError, TypeError) as exc:
        assert "\n" not in str(exc) and str(exc)


# -- numbers as users have them: NumPy integers, bool, huge exponents ---------------------------


def numpy_counts(low: int, high: int):
    """A NumPy integer of any width that can hold the values ``low`` to ``high``."""
    kinds = [k for k in NUMPY_INTEGERS if np.iinfo(k).min <= low and high <= np.iinfo(k).max]
    return st.tuples(st.sampled_from(kinds), st.integers(low, high))


@FUZZ
@given(
    count=numpy_counts(1, 40), memory=st.integers(1, 12), strategy=st.sampled_from(["msm", "hsm"])
)
def test_numpy_integer_steps_are_accepted_wherever_a_count_is_taken(count, memory, strategy):
    """plan, cost, check (steps and each action's step) and the Recorder take a NumPy
    integer as the Python int it equals, and answer as for that int, in Python ints."""
    kind, steps = count
    expected = mb.plan(steps, memory, strategy=strategy)
    got = mb.plan(kind(steps), memory, strategy=strategy)
    assert got == expected and type(got.steps) is int
    assert all(type(a.step) is int for a in got.actions)
    assert mb.cost(kind(steps), memory, strategy=strategy) == expected.forward_count
    verdict = mb.check(expected.actions, steps=steps, memory=memory)
    as_numpy = [{"op": a.op, "step": kind(a.step)} for a in expected.actions]
    assert mb.check(as_numpy, steps=kind(steps), memory=memory) == verdict
    as_actions = [mb.Action(a.op, kind(a.step)) for a in expected.actions]
    assert mb.check(as_actions, steps=kind(steps), memory=memory) == verdict
    recorder = mb.Recorder(steps=kind(steps), memory=memory)
    for action in expected.actions:
        getattr(recorder, action.op)(kind(action.step))
    assert recorder.result() == verdict and verdict.valid


@pytest.mark.parametrize("kind", NUMPY_INTEGERS)
def test_numpy_integer_memory_and_alpha_answer_as_the_int_they_equal(kind):
    """A budget or an alpha that is a NumPy integer is the number it equals: no overflow
    of its own width inside the planner (int8 holds 5, not 5 * 10**9)."""
    expected = mb.plan(12, 5, alpha=2)
    assert mb.plan(12, kind(5), alpha=kind(2)) == expected
    assert mb.cost(12, kind(5), alpha=kind(2)) == expected.forward_count
    verdict = mb.check(expected.actions, steps=12, memory=kind(5), alpha=kind(2))
    assert verdict == mb.check(expected.actions, steps=12, memory=5, alpha=2)
    recorder = mb.Recorder(steps=12, memory=kind(5), alpha=kind(2))
    for action in expected.actions:
        getattr(recorder, action.op)(action.step)
    assert recorder.result() == verdict
    json.loads(recorder.to_json())  # written as plain JSON numbers


BOOL_COUNTS = {
    "plan steps True": lambda: mb.plan(True, 3),
    "plan steps np.True_": lambda: mb.plan(np.bool_(True), 3),
    "cost steps True": lambda: mb.cost(True, 3),
    "cost steps np.True_": lambda: mb.cost(np.bool_(True), 3),
    "check steps True": lambda: mb.check([], steps=True, memory=2),
    "check steps np.True_": lambda: mb.check([], steps=np.bool_(True), memory=2),
    "Recorder steps True": lambda: mb.Recorder(steps=True, memory=2),
    "Recorder steps np.False_": lambda: mb.Recorder(steps=np.bool_(False), memory=2),
    "Recorder action step True": lambda: mb.Recorder(steps=2, memory=2).forward(True),
    "Recorder action step np.True_": lambda: mb.Recorder(steps=2, memory=2).forward(np.bool_(True)),
    "resource_limits actions True": lambda: mb.resource_limits(actions=True).__enter__(),
}


@pytest.mark.parametrize("name", sorted(BOOL_COUNTS))
def test_a_bool_is_refused_as_a_count_with_one_named_line(name):
    with pytest.raises((TypeError, ValueError)) as caught:
        BOOL_COUNTS[name]()
    assert_named_error(caught.value, ("steps", "step", "actions"), name)
    assert "True" in str(caught.value) or "False" in str(caught.value)


@pytest.mark.parametrize("step", [True, np.bool_(True)], ids=["True", "np.True_"])
def test_a_bool_step_in_a_checked_trace_is_an_error_naming_it(step):
    actions = [{"op": "forward", "step": step}, {"op": "backward", "step": 1}]
    verdict = mb.check(actions, steps=1, memory=1)
    assert not verdict.valid and "step must be an integer" in verdict.error


DEADLINE_SECONDS = 5.0
HUGE_EXPONENT_CALLS = {
    "cost memory 1e99999999": (lambda: mb.cost(10, "1e99999999"), "memory"),
    "cost memory 1e99999999%": (lambda: mb.cost(10, "1e99999999%"), "memory"),
    "plan memory 1e99999999%": (lambda: mb.plan(10, "1e99999999%"), "memory"),
    "plan memory -1e99999999%": (lambda: mb.plan(10, "-1e99999999%"), "memory"),
    "plan memory 1e-99999999%": (lambda: mb.plan(10, "1e-99999999%"), "memory"),
    "plan memory 1e+99999999": (lambda: mb.plan(10, "1e+99999999"), "memory"),
    "plan steps 1e99999999": (lambda: mb.plan("1e99999999", 3), "steps"),
    "cost alpha 1e99999999": (lambda: mb.cost(10, 5, alpha="1e99999999"), "alpha"),
    "check memory 1e99999999": (lambda: mb.check([], steps=3, memory="1e99999999"), "memory"),
    "check memory 1e99999999%": (lambda: mb.check([], steps=3, memory="1e99999999%"), "memory"),
    "Recorder memory 1e99999999%": (
        lambda: mb.Recorder(steps=3, memory="1e99999999%"),
        "memory",
    ),
}
HUGE_EXPONENT_ARGV = {
    "plan memory": ["plan", "10", "1e99999999"],
    "plan memory percent": ["plan", "10", "1e99999999%"],
    "plan steps": ["plan", "1e99999999", "3"],
    "plan alpha": ["plan", "10", "5", "--alpha", "1e99999999"],
    "table steps": ["table", "--steps", "1e99999999", "--memory", "1"],
    "table memory percent": ["table", "--steps", "10", "--memory", "1e99999999%"],
    "run memory percent": ["run", "10", "1e99999999%"],
}
HUGE_EXPONENT_TRACES = {
    "trace memory": {"steps": 3, "memory": "1e99999999", "actions": []},
    "trace memory percent": {"steps": 3, "memory": "1e99999999%", "actions": []},
    "trace steps": {"steps": "1e99999999", "memory": 2, "actions": []},
    "trace alpha": {"steps": 3, "memory": 2, "alpha": "1e99999999", "actions": []},
}


def _ends_in_a_child(work, seconds: float = DEADLINE_SECONDS):
    """Run ``work()`` in a forked child and return what it returned, or fail the test if
    it has not ended within ``seconds`` (a hang in C, such as building a hundred-million
    digit integer, cannot be interrupted in this process)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        try:
            send.send(("returned", work()))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as it is
            send.send(
                ("raised", (type(exc).__name__, str(exc), isinstance(exc, ValueError | TypeError)))
            )

    process = context.Process(target=child, daemon=True)
    process.start()
    ended = receive.poll(seconds)
    if not ended:
        process.kill()
    process.join()
    assert ended, f"still running after {seconds} s"
    return receive.recv()


@pytest.mark.parametrize("name", sorted(HUGE_EXPONENT_CALLS))
def test_a_huge_exponent_is_refused_in_python_within_the_deadline(name):
    call, argument = HUGE_EXPONENT_CALLS[name]
    kind, outcome = _ends_in_a_child(lambda: repr(call())[:100])
    assert kind == "raised", (name, outcome)
    error, message, named = outcome
    assert named and "\n" not in message and argument in message, (name, error, message)


@pytest.mark.parametrize("name", sorted(HUGE_EXPONENT_ARGV))
def test_a_huge_exponent_is_refused_by_the_cli_within_the_deadline(name):
    argv = HUGE_EXPONENT_ARGV[name]
    kind, outcome = _ends_in_a_child(lambda: run_cli(argv))
    assert kind == "returned", (argv, outcome)
    code, out, err = outcome
    assert_clean_end(code, err, argv)
    assert code == 2, (argv, out)


@pytest.mark.parametrize("name", sorted(HUGE_EXPONENT_TRACES))
def test_a_huge_exponent_in_a_trace_file_is_refused_within_the_deadline(name, tmp_path):
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(HUGE_EXPONENT_TRACES[name]))
    kind, outcome = _ends_in_a_child(lambda: run_cli(["check", str(path)]))
    assert kind == "returned", (name, outcome)
    code, out, err = outcome
    assert_clean_end(code, err, name)
    assert code == 2, (name, out)


def test_the_fuzz_tests_draw_the_same_examples_on_every_run(pytestconfig):
    """Unless an exploration was asked for, hypothesis is derandomized with no database:
    a verdict never depends on the seed, the host or what an earlier run saved."""
    asked = pytestconfig.getoption("hypothesis_profile", None) or os.environ.get(
        "MINI_BPTT_HYPOTHESIS_PROFILE"
    )
    if asked in (None, "repeatable"):
        current = settings()
        assert current.derandomize and current.database is None and current.deadline is None
    assert FUZZ.derandomize == (asked in (None, "repeatable"))


ONLINE_NAMES = ("memory", "alpha", "internal_has_output", "i", "steps", "finish", "reversal")


@FUZZ
@given(
    memory=st.integers(1, 40) | nasty_scalars,
    alpha=st.sampled_from([1, 2, 5, 1.5]) | nasty_scalars,
    internal_has_output=st.booleans() | nasty_scalars,
    steps=st.integers(0, 60),
    calls=st.lists(
        st.tuples(st.sampled_from(["step", "finish"]), st.integers(-2, 70) | nasty_scalars),
        max_size=4,
    ),
)
def test_the_online_planner_ends_in_answers_or_named_errors(
    memory, alpha, internal_has_output, steps, calls
):
    """Any budget, a run of steps in order, then any calls (out of order, twice, after
    ``finish``, with nasty values): each answers or raises a named error, and every plan
    ``finish`` gives is valid within the memory."""
    kwargs = dict(alpha=alpha, internal_has_output=internal_has_output)
    try:
        planner = mb.OnlinePlanner(memory, **kwargs)
    except Exception as exc:  # noqa: BLE001
        assert_named_error(exc, ONLINE_NAMES, (memory, kwargs))
        return
    calls = [("step", i) for i in range(1, steps)] + calls
    for method, value in calls:
        try:
            answer = getattr(planner, method)(value)
        except Exception as exc:  # noqa: BLE001
            assert_named_error(exc, ONLINE_NAMES, (memory, kwargs, method, value))
            continue
        if method == "finish":
            verdict = mb.check(answer.actions, steps=value, memory=memory, **kwargs)
            assert verdict.valid, (memory, kwargs, value, verdict.error)
