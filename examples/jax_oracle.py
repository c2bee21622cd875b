"""Test a JAX implementation of BPTT-MSM against mini_bptt.

An LSTM written in JAX with ``mb.LSTMCell``'s equations and weights computes one gradient
(no training). The loop below runs a mini_bptt plan step by step (saving hidden states,
keeping a step's ``jax.vjp`` closure as its internal state, recomputing the rest) and
compares its gradients with ``mb.full_bptt`` on the same weights, in float64 (JAX's x64
mode, enabled only inside the run) and in float32.

Every state in the loop carries the step it belongs to, and each action is recorded with
``mb.Recorder`` where the loop does the work, with that step: the step read back from
what a restore returned, not the step the plan asked for. A loop that hands the plan's
own actions to the Recorder records a copy of the plan, valid whatever the loop computed;
recorded from the data, the trace shows what was done. Given the plan too, the Recorder
names the first action where the loop left it, which is where a bug starts.

Run: python examples/jax_oracle.py                 (needs jax; mini_bptt never imports it)
     python examples/jax_oracle.py --plant NAME     (one of PLANTED: a bug in the loop,
                                                     to see what the oracle says)
Exit code 0 when the trace is valid, follows its plan, and the gradients agree within the
dtype's tolerance (with --plant: when the oracle catches the planted bug, and it prints
which check caught it: the trace's rules, the check against the plan, the gradients).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import mini_bptt as mb

STEPS, BATCH, INPUTS, HIDDEN, MEMORY = 60, 4, 8, 16, "20%"

# bugs that can be planted in the loop, each a small edit of the right code
PLANTED = {
    "wrong_restore": "restore_hidden(i) restarts from the checkpoint saved before h[i]",
    "keep_hidden": "free_hidden is forgotten: h[i] stays saved",
    "keep_internal": "free_internal is forgotten: s[i] stays saved",
    "stale_core": "backward uses the core (the step run last) where s[i] is saved",
    "ascending": "backward takes the oldest saved internal state first, not s[i]",
    "bfloat16_accumulator": "the parameter gradients are summed in bfloat16",
    "uncut_graph": (
        "a forward from the last step's output takes its vjp through that step too: "
        "each backward runs on into the steps before, back to the last restore, and "
        "hands on the gradient of the state it started from there"
    ),
    "dropped_loss": "the loss of step 1 is left out",
}


def lstm_step(params, state, x, target):
    """One step of ``mb.LSTMCell`` (gates i, f, g, o; state [h | c]) and its loss, the
    squared error of ``mb.MSEHead``: the same equations, in JAX."""
    H = state.shape[1] // 2
    h, c = state[:, :H], state[:, H:]
    z = x @ params["W_xh"].T + h @ params["W_hh"].T + params["b"]  # (B, 4H) all gates
    sigmoid = lambda a: 1.0 / (1.0 + jnp.exp(-a))  # noqa: E731  (mb's formula)
    i, f = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H])
    g, o = jnp.tanh(z[:, 2 * H : 3 * H]), sigmoid(z[:, 3 * H :])
    c = f * c + i * g
    h = o * jnp.tanh(c)
    return jnp.concatenate([h, c], axis=1), 0.5 * jnp.sum((h - target) ** 2)


@jax.jit
def run_step(params, state, x, target):
    """The step's outputs and its vjp closure, whose residuals are its internal state."""
    return jax.vjp(lambda p, s: lstm_step(p, s, x, target), params, state)


@jax.jit
def reverse_step(pullback, dstate, dloss):
    """(d params, d state before the step) from the step's closure."""
    return pullback((dstate, dloss))


class Hidden(NamedTuple):
    """A hidden state [h | c] and the step it is at."""

    step: int
    state: jax.Array


class Internal(NamedTuple):
    """Step ``step``'s internal state: its vjp closure, and its output state.
    ``before``: with ``uncut_graph`` planted, the internal state its vjp runs on into."""

    step: int
    pullback: Callable[..., Any]
    output: Hidden
    before: Internal | None = None


def run_plan_in_jax(plan, params, xs, h0, targets, trace, plant=None):
    """Backpropagate through the LSTM following ``plan``; record each action in ``trace``
    where it is done, with the step of the state it was done to. ``plant`` (a key of
    ``PLANTED``, or None) plants that bug. Returns (parameter gradients, dh0)."""
    cursor = Hidden(0, h0)  # where the forward sweep stands
    core = None  # the internal state of the step run last
    hidden, internal = {0: cursor}, {}
    carry = jnp.zeros_like(h0)
    grads = jax.tree_util.tree_map(jnp.zeros_like, params)
    for action in plan.actions:  # the plan says what to do next; the data says what was done
        op, i = action.op, action.step
        if op == "forward":
            step = cursor.step + 1
            trace.forward(step)  # checked now: a broken rule raises mb.PlanError here
            (state, _), pullback = run_step(params, cursor.state, xs[step - 1], targets[step - 1])
            uncut = plant == "uncut_graph" and core is not None and core.step == cursor.step
            core = Internal(step, pullback, Hidden(step, state), core if uncut else None)
            cursor = core.output
        elif op == "save_hidden":
            hidden[cursor.step] = cursor
            trace.save_hidden(cursor.step)
        elif op == "save_internal":
            internal[core.step] = core
            trace.save_internal(core.step)
        elif op == "restore_hidden":
            if plant == "wrong_restore":
                i = max((k for k in hidden if k < i), default=i)
            cursor, core = hidden[i], None
            trace.restore_hidden(cursor.step)
        elif op == "restore_internal":
            cursor = internal[i].output
            trace.restore_internal(cursor.step)
        elif op == "free_hidden" and plant != "keep_hidden":
            trace.free_hidden(hidden.pop(i).step)
        elif op == "free_internal" and plant != "keep_internal":
            trace.free_internal(internal.pop(i).step)
        elif op == "backward":
            if plant == "stale_core":
                done = core
            elif plant == "ascending" and i in internal:
                done = internal[min(internal)]
            else:
                done = internal.get(i, core)  # a saved s[i], else the step just run
            trace.backward(done.step)
            dloss = 0.0 if plant == "dropped_loss" and done.step == 1 else 1.0
            dparams, carry = reverse_step(done.pullback, carry, jnp.asarray(dloss, h0.dtype))
            grads = jax.tree_util.tree_map(jnp.add, grads, dparams)
            before = done.before
            while before is not None:  # only with uncut_graph: on into the steps before
                more, carry = reverse_step(before.pullback, carry, jnp.zeros((), h0.dtype))
                grads = jax.tree_util.tree_map(jnp.add, grads, more)
                before = before.before
            if plant == "bfloat16_accumulator":  # each running sum rounded to bfloat16
                grads = jax.tree_util.tree_map(
                    lambda g: g.astype(jnp.bfloat16).astype(g.dtype), grads
                )
    return grads, carry


class Outcome(NamedTuple):
    """What the oracle says of one run of the loop."""

    verdict: mb.CheckResult  # on the trace recorded from the data, against its plan
    comparison: mb.GradientComparison | None  # None: a broken rule stopped the loop
    broken_at: int | None  # the action that broke a rule, None if none did

    def caught_by(self) -> list[str]:
        """Each check that caught something, and where (empty for a run found right)."""
        found = []
        if self.broken_at is not None:
            found.append(f"the trace: action {self.broken_at} breaks a rule")
        if self.verdict.departure is not None:
            found.append(
                f"the check against the plan: first departure at action "
                f"{self.verdict.departure.index}"
            )
        if self.comparison is not None and not self.comparison.ok:
            over = [a.name for a in self.comparison.arrays if not a.ok]
            found.append(f"the gradients: {', '.join(over)} over the tolerance")
        return found


def check_one_dtype(dtype: str, plant: str | None = None) -> Outcome:
    """Run the loop in ``dtype`` ("float64" or "float32"), with ``plant`` planted (or
    none), and judge it."""
    ours = mb.LSTMCell(INPUTS, HIDDEN, seed=0)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(STEPS, BATCH, INPUTS))
    h0 = rng.normal(scale=0.5, size=(BATCH, 2 * HIDDEN))  # [h | c]
    targets = rng.normal(size=(STEPS, BATCH, HIDDEN))
    reference = mb.full_bptt(ours, xs, h0, mb.MSEHead(targets))

    plan = mb.plan(STEPS, MEMORY, alpha=ours.alpha)  # BPTT-MSM, optimal model
    trace = mb.Recorder(STEPS, MEMORY, alpha=ours.alpha, plan=plan)
    with jax.enable_x64(dtype == "float64"):  # float64 arrays only inside this run
        as_jax = lambda a: jnp.asarray(a, dtype=dtype)  # noqa: E731
        params = {name: as_jax(w) for name, w in ours.params.items()}
        try:
            with trace:
                grads, dh0 = run_plan_in_jax(
                    plan, params, *map(as_jax, (xs, h0, targets)), trace, plant=plant
                )
        except mb.PlanError as error:  # the verdict holds it, and where the loop left the plan
            return Outcome(trace.result(), None, error.index)
        gradients = {name: np.asarray(g) for name, g in grads.items()}
        gradients["dh0"] = np.asarray(dh0)
    return Outcome(trace.result(), mb.compare_gradients(reference, gradients, cell=ours), None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", choices=sorted(PLANTED), help="plant this bug in the loop")
    plant = parser.parse_args(argv).plant
    status = 0
    for dtype in ("float64",) if plant else ("float64", "float32"):
        outcome = check_one_dtype(dtype, plant)
        print(
            f"== LSTM in JAX {jax.__version__}, {dtype}, T = {STEPS}, plan at {MEMORY} of full BPTT"
        )
        if plant:
            print(f"planted: {PLANTED[plant]}")
        print(outcome.verdict)
        print(
            "gradients: not computed (the loop stopped)"
            if outcome.comparison is None
            else outcome.comparison.report()
        )
        caught = outcome.caught_by()
        print("caught by: " + ("; ".join(caught) if caught else "nothing"))
        departure = outcome.verdict.departure
        print(
            "first departure from the plan: "
            + ("none" if departure is None else f"action {departure.index}")
        )
        status |= not caught if plant else bool(caught)  # a planted bug must be caught
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
