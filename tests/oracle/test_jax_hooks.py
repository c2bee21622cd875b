"""mini_bptt.oracle.jax_hooks logs a JAX loop body's forward and backward calls in the
order they ran, under jit, through jax.checkpoint and equinox's checkpointed while_loop;
the trace rebuilt from the log is judged by mb.check. Each expected log is derived from
what the loop is documented to do, not read off a run. jax and equinox are not
dependencies of mini_bptt; without them these tests are skipped."""

from __future__ import annotations

import numpy as np
import pytest

import mini_bptt as mb
from mini_bptt.oracle.jax_hooks import CallLog

jax = pytest.importorskip("jax", reason="the JAX hooks need jax, which mini_bptt does not use")
jnp = jax.numpy

HIDDEN, BATCH = 3, 2


def rnn_step(carry, x):
    """One tanh-RNN step on a carry (steps done, h, W); the loss term is its output."""
    done, h, W = carry
    h = jnp.tanh(h @ W + x)
    return (done + 1, h, W), 0.5 * jnp.sum(h * h)


def rnn_problem(steps):
    rng = np.random.default_rng(0)
    W = jnp.asarray(rng.normal(scale=0.5, size=(HIDDEN, HIDDEN)), dtype=jnp.float32)
    h0 = jnp.asarray(rng.normal(size=(BATCH, HIDDEN)), dtype=jnp.float32)
    xs = jnp.asarray(rng.normal(size=(steps, BATCH, HIDDEN)), dtype=jnp.float32)
    return W, h0, xs


def scan_gradients(body, steps, jit=True):
    """d loss / d (W, h0) of a scan over ``body``."""
    W, h0, xs = rnn_problem(steps)

    def loss(W, h0):
        return jax.lax.scan(body, (0, h0, W), xs)[1].sum()

    grad = jax.grad(loss, argnums=(0, 1))
    return jax.block_until_ready((jax.jit(grad) if jit else grad)(W, h0))


def steps_done(carry):
    return carry[0] + 1  # the step this call computes


def sweep(steps):
    return [("forward", i) for i in range(1, steps + 1)]


@pytest.mark.parametrize("jit", [True, False], ids=["jit", "eager"])
def test_plain_scan_logs_the_sweep_then_every_backward_from_last_to_first(jit):
    T, log = 5, CallLog()
    scan_gradients(log.wrap(rnn_step, step=steps_done), T, jit=jit)
    assert log.calls == sweep(T) + [("backward", i) for i in range(T, 0, -1)]
    # BPTT: every backward but the last step's reads its saved internal state, and
    # nothing restarts, so h[0] goes at once: T - 1 internal states at the peak
    trace = log.trace(T, alpha=2)
    assert (trace.forward_count, trace.peak_memory, trace.strategy) == (T, 2 * (T - 1), "ism")


def test_checkpointed_body_reruns_each_step_just_before_its_backward():
    # jax.checkpoint saves only each step's input carry and reruns the step inside the
    # backward scan, last step first; so after the sweep comes f T, b T, f T-1, ..., b 1,
    # and a trace keeps h[0..T-1] (alpha 2 > 1: hidden states are the cheaper kind)
    T, log = 5, CallLog()
    scan_gradients(jax.checkpoint(log.wrap(rnn_step, step=steps_done)), T)
    rerun = [call for i in range(T, 0, -1) for call in (("forward", i), ("backward", i))]
    assert log.calls == sweep(T) + rerun
    trace = log.trace(T, alpha=2)
    assert (trace.forward_count, trace.peak_memory, trace.strategy) == (2 * T, T, "hsm")
    assert mb.check(trace.actions, steps=T, memory=T, alpha=2).valid


def test_a_rerun_is_logged_when_the_body_is_replayed_whatever_the_policy_saves():
    # the documented limit: a policy that saves every residual replays nothing; one
    # that saves the matmuls still replays the body (tanh), and that is logged as a forward
    T, calls = 4, {}
    for name in ("everything_saveable", "dots_saveable"):
        log = CallLog()
        policy = getattr(jax.checkpoint_policies, name)
        scan_gradients(jax.checkpoint(log.wrap(rnn_step, step=steps_done), policy=policy), T)
        calls[name] = log.calls
    assert calls["everything_saveable"] == sweep(T) + [("backward", i) for i in range(T, 0, -1)]
    assert calls["dots_saveable"][:T] == sweep(T)
    assert calls["dots_saveable"].count(("forward", T)) == 2


def test_logging_leaves_the_gradients_bit_for_bit_unchanged():
    T = 6
    plain = scan_gradients(rnn_step, T)
    for body in (CallLog().wrap(rnn_step, step=steps_done), jax.checkpoint(rnn_step)):
        logged = scan_gradients(body, T)
        assert all(np.array_equal(a, b) for a, b in zip(plain, logged, strict=True))


def python_loop_gradient(logged, steps):
    """d loss / d W of a Python loop over the steps of an RNN whose carry is (steps done, h),
    h0 a constant: the carry entering step 1 depends on nothing differentiated. ``logged``
    wraps the step (identity for the unlogged loop)."""
    W, h0, xs = rnn_problem(steps)

    def loss(W):
        def step(carry, x):
            (done, h, _), y = rnn_step((*carry, W), x)  # W: closed over, not carried
            return (done, h), y

        body, carry, total = logged(step), (0, h0), 0.0
        for x in xs:
            carry, y = body(carry, x)
            total = total + y
        return total

    return jax.block_until_ready(jax.jit(jax.grad(loss))(W))


def test_a_python_loop_logs_step_1s_backward_with_gradients_for_the_weights_only():
    # the identity's anchors (the weights the body closes over) put step 1's tag in the
    # differentiated program, as torch's anchor tensor does
    T, log = 4, CallLog()
    logged = python_loop_gradient(lambda step: jax.checkpoint(log.wrap(step, step=steps_done)), T)
    rerun = [call for i in range(T, 0, -1) for call in (("forward", i), ("backward", i))]
    assert log.calls == sweep(T) + rerun
    assert log.trace(T, alpha=2).forward_count == 2 * T
    assert np.array_equal(logged, python_loop_gradient(lambda step: step, T))


def test_only_the_body_wrapped_inside_the_checkpoint_logs_its_rerun():
    # the rerun replays the function given to jax.checkpoint: a callback outside it does
    # not run again, and the log reads as full BPTT
    T, inside, outside = 4, CallLog(), CallLog()
    scan_gradients(jax.checkpoint(inside.wrap(rnn_step, step=steps_done)), T)
    scan_gradients(outside.wrap(jax.checkpoint(rnn_step), step=steps_done), T)
    rerun = [call for i in range(T, 0, -1) for call in (("forward", i), ("backward", i))]
    assert inside.calls == sweep(T) + rerun
    assert outside.calls == sweep(T) + [("backward", i) for i in range(T, 0, -1)]


def test_a_log_holds_one_run_an_evaluation_after_the_gradient_is_refused():
    T, log = 3, CallLog()
    body = jax.checkpoint(log.wrap(rnn_step, step=steps_done))
    W, h0, xs = rnn_problem(T)

    def loss(W, h0):
        return jax.lax.scan(body, (0, h0, W), xs)[1].sum()

    jax.jit(jax.grad(loss))(W, h0)
    jax.jit(loss)(W, h0)  # an evaluation through the same logged body
    with pytest.raises(mb.PlanError, match=rf"calls\[{3 * T}\] \(forward 1\): .* one run"):
        log.trace(T)
    log.clear()
    jax.jit(jax.grad(loss))(W, h0)
    assert log.trace(T).forward_count == 2 * T


def test_a_while_loop_logs_its_forwards_in_order():
    T, log = 7, CallLog()

    def body(carry):
        return rnn_step(carry, 0.1)[0]

    W, h0, _ = rnn_problem(T)
    jax.jit(
        lambda W, h0: jax.lax.while_loop(
            lambda c: c[0] < T, log.wrap(body, step=steps_done), (0, h0, W)
        )
    )(W, h0)
    assert log.calls == sweep(T)
    log.clear()
    assert log.calls == []


def test_bad_input_is_refused_naming_it():
    log = CallLog()
    with pytest.raises(TypeError, match="body must be callable"):
        log.wrap(3, step=steps_done)
    with pytest.raises(TypeError, match="step must be callable"):
        log.wrap(rnn_step, step=1)
    with pytest.raises(TypeError, match=r"integer scalar .* got float32\[\]"):
        scan_gradients(log.wrap(rnn_step, step=lambda c: c[1][0, 0]), 2)
    with pytest.raises(TypeError, match=r"integer scalar .* got shape \(2,\)"):
        scan_gradients(log.wrap(rnn_step, step=lambda c: jnp.array([1, 2])), 2)
    with pytest.raises(TypeError, match="no floating-point array"):
        jax.lax.scan(log.wrap(lambda c, x: (c + 1, x), step=lambda c: c + 1), 0, jnp.ones(2))
    off_by_one = CallLog()
    scan_gradients(off_by_one.wrap(rnn_step, step=lambda c: c[0]), 2)  # logs steps 0, 1
    with pytest.raises(ValueError, match=r"calls\[0\] has step 0"):
        off_by_one.trace(2)


# equinox's checkpointed while_loop: the log of a tool whose schedule we did not write


def equinox_run(steps, checkpoints):
    """(log, gradients) of the RNN under eqx.internal.while_loop(kind="checkpointed"),
    and the gradients of the same body under an unchecked fori_loop (a scan)."""
    eqx = pytest.importorskip("equinox", reason="this test checks equinox's while_loop")
    W, h0, xs = rnn_problem(steps)
    log = CallLog()

    def body(carry):
        done, h, W, total = carry
        (done, h, W), loss = rnn_step((done, h, W), xs[done])
        return done, h, W, total + loss

    init = lambda W, h0: (0, h0, W, jnp.zeros((), h0.dtype))  # noqa: E731

    def checkpointed(W, h0):
        logged = log.wrap(body, step=steps_done)
        loop = eqx.internal.while_loop(
            lambda c: c[0] < steps,
            logged,
            init(W, h0),
            kind="checkpointed",
            checkpoints=checkpoints,
            max_steps=steps,
        )
        return loop[3]

    def unchecked(W, h0):
        return jax.lax.fori_loop(0, steps, lambda _, c: body(c), init(W, h0))[3]

    grads = [jax.jit(jax.grad(f, argnums=(0, 1)))(W, h0) for f in (checkpointed, unchecked)]
    return log, grads


def check_equinox_log(steps, checkpoints):
    log, (checkpointed, unchecked) = equinox_run(steps, checkpoints)
    calls, trace = log.calls, log.trace(steps, alpha=2)
    # its docs: "the memory consumed will be that of `checkpoints`-many copies of
    # init_val"; h[0] is one of them, as in our budget
    assert trace.peak_memory == checkpoints
    assert mb.check(trace.actions, steps=steps, memory=checkpoints, alpha=2).valid
    # each backward is jax.vjp of a rerun of its step, never a kept internal state; the
    # sweep's last step is no exception: a forward follows the sweep
    assert calls[:steps] == sweep(steps) and calls[steps][0] == "forward"
    assert all(
        calls[k - 1] == ("forward", i) for k, (op, i) in enumerate(calls) if op == "backward"
    )
    assert trace.strategy == "hsm"
    assert trace.forward_count >= mb.cost(steps, checkpoints, alpha=2, strategy="hsm") + 1
    # the same step functions, reversed in the same order: bit for bit (measured on CPU)
    assert all(np.array_equal(a, b) for a, b in zip(checkpointed, unchecked, strict=True))
    return trace, calls


def test_equinox_with_one_checkpoint_reruns_every_step_from_h0():
    # one copy is h[0] alone: the sweep's work is lost and backward t needs t forwards
    T = 4
    trace, _ = check_equinox_log(T, 1)
    assert trace.forward_count == T + T * (T + 1) // 2


def test_equinox_with_several_checkpoints_is_valid_within_them():
    # a checkpoint at T - 1 reruns the sweep's last step at once: f T, f T, b T
    T = 10
    _, calls = check_equinox_log(T, 2)
    assert calls[T - 1 : T + 2] == [("forward", T)] * 2 + [("backward", T)]


@pytest.mark.slow
@pytest.mark.parametrize(("steps", "checkpoints"), [(30, 3), (60, 5)])
def test_equinox_longer_loops_are_valid_within_their_checkpoints(steps, checkpoints):
    check_equinox_log(steps, checkpoints)
