"""mini_bptt.oracle.torch_hooks logs the calls a real PyTorch loop makes: checked against
what each way of running the loop must do (derived here from the scheme, not from the
log), with the rebuilt trace valid and the gradients those of an unwrapped, uncheckpointed
run. Runs where torch is installed; elsewhere skipped."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

import mini_bptt as mb

torch = pytest.importorskip(
    "torch", reason="the PyTorch hooks need torch, which mini_bptt does not depend on"
)

from torch.utils.checkpoint import checkpoint, checkpoint_sequential  # noqa: E402

from mini_bptt.oracle.torch_hooks import CallLog, _backward_tag  # noqa: E402

TESTING_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
BATCH, INPUTS, HIDDEN, ALPHA = 2, 3, 4, 4.5
MODES = {"reentrant": True, "non-reentrant": False}


class LSTMLoop:
    """A ``torch.nn.LSTMCell`` over ``steps`` inputs, its state one tensor ``[h | c]`` (as
    ``checkpoint_sequential`` wants); the loss is the sum of the last state."""

    def __init__(self, steps: int, *, h0_requires_grad: bool = True):
        torch.manual_seed(steps)
        self.cell = torch.nn.LSTMCell(INPUTS, HIDDEN).double()
        self.inputs = torch.randn(steps, BATCH, INPUTS).double()
        self.h0 = torch.randn(BATCH, 2 * HIDDEN).double().requires_grad_(h0_requires_grad)

    def step(self, state, x):
        h, c = self.cell(x, (state[:, :HIDDEN], state[:, HIDDEN:]))
        return torch.cat([h, c], dim=1)

    def step_modules(self) -> list:
        """Step j + 1 as a function of the state alone, one per input."""
        return [lambda state, x=x: self.step(state, x) for x in self.inputs]

    def run_checkpoint_sequential(self, log: CallLog, segments: int, reentrant: bool) -> None:
        """Forward and backward through ``checkpoint_sequential``, the steps wrapped by ``log``."""
        functions = log.wrap_sequence(self.step_modules())
        output = checkpoint_sequential(functions, segments, self.h0, use_reentrant=reentrant)
        output.sum().backward()

    def gradients(self) -> list:
        """The gradients of the last backward (parameters, then the initial state), reset."""
        found = [p.grad.clone() for p in self.cell.parameters()]
        found.append(None if self.h0.grad is None else self.h0.grad.clone())
        self.cell.zero_grad(set_to_none=True)
        self.h0.grad = None
        return found

    def reference(self) -> list:
        """Gradients of the plain loop, with no hooks and no checkpointing."""
        state = self.h0
        for x in self.inputs:
            state = self.step(state, x)
        state.sum().backward()
        return self.gradients()


def plain_calls(steps: int) -> list:
    return [("forward", i) for i in range(1, steps + 1)] + [
        ("backward", i) for i in range(steps, 0, -1)
    ]


def segment_calls(first: int, last: int, *, recompute: bool) -> list:
    forwards = [("forward", i) for i in range(first, last + 1)] if recompute else []
    return forwards + [("backward", i) for i in range(last, first - 1, -1)]


def checkpoint_sequential_calls(steps: int, segments: int) -> list:
    """What checkpoint_sequential must do, from its documentation: the first ``segments -
    1`` segments of ``steps // segments`` steps keep no activations and are run again
    before their backward; the last segment, the rest, keeps its graph. One forward sweep,
    then the segments reversed last first."""
    size = steps // segments
    bounds = [(k * size + 1, (k + 1) * size) for k in range(segments - 1)]
    calls = [("forward", i) for i in range(1, steps + 1)]
    calls += segment_calls((segments - 1) * size + 1, steps, recompute=False)
    for first, last in reversed(bounds):
        calls += segment_calls(first, last, recompute=True)
    return calls


def assert_same_gradients(found, reference, *, exact_parameters=True):
    """The initial state's gradient bit for bit; the parameters' bit for bit, or (reentrant
    checkpointing sums each segment's parameter gradients in a backward pass of its own,
    then adds them: the same terms, associated differently) to a few rounding errors."""
    if reference[-1] is None:  # the initial state needs no gradient
        assert found[-1] is None
    else:
        assert torch.equal(found[-1], reference[-1])
    for ours, theirs in zip(found[:-1], reference[:-1], strict=True):
        if exact_parameters:
            assert torch.equal(ours, theirs)
        else:
            scale = theirs.abs().max()
            assert (ours - theirs).abs().max() <= 64 * torch.finfo(ours.dtype).eps * scale


def assert_valid_trace(log: CallLog, steps: int, forwards: int) -> mb.Plan:
    trace = log.trace(steps, alpha=ALPHA)
    verdict = mb.check(trace.actions, steps=steps, memory=trace.peak_memory, alpha=ALPHA)
    assert verdict.valid and verdict.forward_count == trace.forward_count == forwards
    assert [(a.op, a.step) for a in trace.actions if a.op in ("forward", "backward")] == log.calls
    return trace


@pytest.mark.parametrize("h0_requires_grad", [True, False])
def test_a_plain_loop_logs_every_forward_then_every_backward_in_reverse(h0_requires_grad):
    steps = 7
    loop = LSTMLoop(steps, h0_requires_grad=h0_requires_grad)
    reference = loop.reference()
    log = CallLog()
    step = log.wrap(loop.step)
    state = loop.h0
    for i, x in enumerate(loop.inputs, start=1):
        state = step(i, state, x)
    state.sum().backward()
    assert log.calls == plain_calls(steps)  # step 1 too, when h0 needs no gradient
    assert_valid_trace(log, steps, forwards=steps)
    assert_same_gradients(loop.gradients(), reference)  # the tag is the identity


@pytest.mark.parametrize("mode", MODES)
def test_checkpointing_each_step_logs_its_recomputation_before_its_backward(mode):
    steps = 6
    loop = LSTMLoop(steps)
    reference = loop.reference()
    log = CallLog()
    step = log.wrap(loop.step)
    state = loop.h0
    for i, x in enumerate(loop.inputs, start=1):
        state = checkpoint(step, i, state, x, use_reentrant=MODES[mode])
    state.sum().backward()
    expected = [("forward", i) for i in range(1, steps + 1)]
    for i in range(steps, 0, -1):
        expected += segment_calls(i, i, recompute=True)
    assert log.calls == expected
    assert_valid_trace(log, steps, forwards=2 * steps)
    assert_same_gradients(loop.gradients(), reference, exact_parameters=not MODES[mode])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("steps", "segments"), [(12, 3), (10, 4), (7, 2), (9, 9), (5, 1)])
def test_checkpoint_sequential_logs_what_its_segments_must_do(mode, steps, segments):
    loop = LSTMLoop(steps)
    reference = loop.reference()
    log = CallLog()
    loop.run_checkpoint_sequential(log, segments, MODES[mode])
    assert log.calls == checkpoint_sequential_calls(steps, segments)
    recomputed = (segments - 1) * (steps // segments)
    assert_valid_trace(log, steps, forwards=steps + recomputed)
    exact = not MODES[mode] or segments == 1  # one segment: nothing checkpointed
    assert_same_gradients(loop.gradients(), reference, exact_parameters=exact)


def test_both_modes_log_the_same_calls_and_give_the_same_trace():
    steps, segments = 30, 4
    logs = {}
    for mode, reentrant in MODES.items():
        loop = LSTMLoop(steps)
        logs[mode] = CallLog()
        loop.run_checkpoint_sequential(logs[mode], segments, reentrant)
    assert logs["reentrant"].calls == logs["non-reentrant"].calls
    traces = [log.trace(steps, alpha=ALPHA) for log in logs.values()]
    assert traces[0].actions == traces[1].actions


class OutputTaggedLog(CallLog):
    """The hook in the wrong place: the backward tagged on each step's output."""

    def wrap(self, step_fn):
        def logged_step(index, *inputs):
            self._record("forward", index)
            output = step_fn(*inputs)
            if not torch.is_grad_enabled():
                return output
            anchor = torch.empty(0, requires_grad=True)
            return _backward_tag().apply(self, index, anchor, output)[0]

        return logged_step


def test_a_tag_on_the_outputs_reverses_a_step_before_recomputing_it_when_non_reentrant():
    """Why the hooks tag inputs: non-reentrant checkpointing recomputes a segment when its
    last step's backward reads a tensor, after the gradient of that step's output came."""
    steps, segments = 12, 3
    traces = {}
    for mode, reentrant in MODES.items():
        loop = LSTMLoop(steps)
        log = OutputTaggedLog()
        loop.run_checkpoint_sequential(log, segments, reentrant)
        traces[mode] = log.trace(steps, alpha=ALPHA)
        if reentrant:
            assert log.calls == checkpoint_sequential_calls(steps, segments)
        else:  # backward 8 logged before forwards 5..8 are run again
            assert log.calls.index(("backward", 8)) < log.calls.index(("forward", 5), steps)
    assert traces["non-reentrant"].peak_memory > traces["reentrant"].peak_memory


def test_reentrant_checkpointing_from_a_state_without_gradient_loses_its_backwards():
    """torch's rule for reentrant checkpointing: the state entering a segment must require
    gradients, else the segment is never reversed. The log shows it, and no trace fits."""
    steps = 6
    loop = LSTMLoop(steps, h0_requires_grad=False)
    log = CallLog()
    functions = log.wrap_sequence(loop.step_modules())
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        output = checkpoint_sequential(functions, 2, loop.h0, use_reentrant=True)
    output.sum().backward()
    assert log.calls == [("forward", i) for i in range(1, steps + 1)] + [
        ("backward", i) for i in range(steps, 3, -1)
    ]
    with pytest.raises(mb.PlanError, match="before steps 3..1"):
        log.trace(steps)


@pytest.mark.parametrize("mode", MODES)
def test_only_the_step_wrapped_inside_the_checkpoint_logs_its_recomputation(mode):
    # recomputation calls the function given to checkpoint again: a wrapper around the
    # checkpoint is called once per step, and its log reads as full BPTT
    steps = 4
    loop = LSTMLoop(steps)
    logs = {"inside": CallLog(), "outside": CallLog()}
    inside = logs["inside"].wrap(loop.step)
    outside = logs["outside"].wrap(
        lambda state, x: checkpoint(loop.step, state, x, use_reentrant=MODES[mode])
    )
    for log_step in (
        lambda i, state, x: checkpoint(inside, i, state, x, use_reentrant=MODES[mode]),
        outside,
    ):
        state = loop.h0
        for i, x in enumerate(loop.inputs, start=1):
            state = log_step(i, state, x)
        state.sum().backward()
    rerun = [call for i in range(steps, 0, -1) for call in segment_calls(i, i, recompute=True)]
    assert logs["inside"].calls == [("forward", i) for i in range(1, steps + 1)] + rerun
    assert logs["outside"].calls == plain_calls(steps)


def test_a_log_holds_one_run_an_evaluation_pass_after_it_is_refused():
    steps = 5
    loop = LSTMLoop(steps)
    log = CallLog()
    step = log.wrap(loop.step)

    def run():
        state = loop.h0
        for i, x in enumerate(loop.inputs, start=1):
            state = checkpoint(step, i, state, x, use_reentrant=False)
        return state

    run().sum().backward()
    with torch.no_grad():
        run()  # an evaluation pass through the same wrapped step
    assert log.calls[3 * steps :] == [("forward", i) for i in range(1, steps + 1)]
    with pytest.raises(mb.PlanError, match=rf"calls\[{3 * steps}\] \(forward 1\): .* one run"):
        log.trace(steps)
    log.clear()
    assert log.calls == []
    run().sum().backward()
    assert_valid_trace(log, steps, forwards=2 * steps)


def test_the_calls_are_a_read_only_copy():
    log = CallLog()
    step = log.wrap(lambda state: state * 2)
    step(1, torch.ones(2, requires_grad=True)).sum().backward()
    calls = log.calls
    calls.append(("forward", 2))
    assert log.calls == [("forward", 1), ("backward", 1)]
    assert repr(log) == "CallLog(2 calls)"


def test_bad_arguments_are_named():
    log = CallLog()
    with pytest.raises(TypeError, match="step_fn must be callable.*got 3"):
        log.wrap(3)
    step = log.wrap(lambda state: state * 2)
    state = torch.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"the step index .* must be an integer >= 1, got 'a'"):
        step("a", state)
    with pytest.raises(TypeError, match="must be an integer >= 1, got True"):
        step(True, state)
    with pytest.raises(ValueError, match="must be an integer >= 1, got 0"):
        step(0, state)
    with pytest.raises(TypeError, match=r"step 2 got no floating-point tensor .*\(int, Tensor\)"):
        step(2, 5, torch.ones(2, dtype=torch.int64))
    assert log.calls == []  # nothing logged for a refused call
    with pytest.raises(TypeError, match="functions must be a torch.nn.Sequential"):
        log.wrap_sequence("steps")
    with pytest.raises(TypeError, match=r"functions\[1\] must be callable"):
        log.wrap_sequence([abs, None])
    with pytest.raises(ValueError, match="at least one step"):
        log.wrap_sequence([])
    sequential = torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Tanh())
    assert [f.args for f in log.wrap_sequence(sequential)] == [(1,), (2,)]


def test_the_testing_guide_example_prints_what_it_says():
    section = TESTING_GUIDE.read_text().split("## Logging a real PyTorch loop", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    said = [line.removeprefix("# ") for line in block.splitlines() if line.startswith("# ")]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, "docs/testing.md (Logging a real PyTorch loop)", "exec"), {})
    assert printed.getvalue().splitlines() == said
