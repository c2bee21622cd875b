"""Test a PyTorch implementation of BPTT-MSM against mini_bptt.

A ``torch.nn.LSTMCell`` computes one gradient (no training). The loop below runs a
mini_bptt plan in PyTorch (saving hidden states, keeping the autograd graph of a step as
its internal state, recomputing the rest) and compares its gradients with
``mb.full_bptt`` on the same weights, in float64 and in float32.

Every state in the loop carries the step it belongs to, and each action is recorded with
``mb.Recorder`` where the loop does the work, with that step: the step read back from
what a restore returned, not the step the plan asked for. A loop that hands the plan's
own actions to the Recorder records a copy of the plan, valid whatever the loop computed;
recorded from the data, the trace shows what was done. Given the plan too, the Recorder
names the first action where the loop left it, which is where a bug starts.

Run: python examples/pytorch_oracle.py                 (needs torch; mini_bptt never imports it)
     python examples/pytorch_oracle.py --plant NAME     (one of PLANTED: a bug in the loop,
                                                         to see what the oracle says)
Exit code 0 when the trace is valid, follows its plan, and the gradients agree within the
dtype's tolerance (with --plant: when the oracle catches the planted bug).
"""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

import numpy as np
import torch

import mini_bptt as mb

STEPS, BATCH, INPUTS, HIDDEN, MEMORY = 60, 4, 8, 16, "20%"

# bugs that can be planted in the loop, each a few characters away from the right code
PLANTED = {
    "wrong_restore": "restore_hidden(i) restarts from the checkpoint saved before h[i]",
    "keep_hidden": "free_hidden is forgotten: h[i] stays saved",
    "keep_internal": "free_internal is forgotten: s[i] stays saved",
    "stale_core": "backward uses the core (the step run last) where s[i] is saved",
    "ascending": "backward takes the oldest saved internal state first, not s[i]",
}


class Hidden(NamedTuple):
    """A hidden state and the step it is at: h[step] = (h, c), detached."""

    step: int
    h: torch.Tensor
    c: torch.Tensor


class Internal(NamedTuple):
    """Step ``step``'s internal state: its autograd graph, from the leaf inputs (h, c)
    to the outputs (h, c), kept alive while it is held."""

    step: int
    leaves: tuple[torch.Tensor, torch.Tensor]
    outputs: tuple[torch.Tensor, torch.Tensor]

    def output(self) -> Hidden:
        return Hidden(self.step, *(o.detach() for o in self.outputs))


def run_plan_in_torch(plan, cell, xs, h0, c0, targets, trace, plant=None):
    """Backpropagate through ``cell`` following ``plan``; record each action in ``trace``
    where it is done, with the step of the state it was done to. ``plant`` (a key of
    ``PLANTED``, or None) plants that bug. Returns (dh0, dc0)."""
    cursor = Hidden(0, h0, c0)  # where the forward sweep stands
    core = None  # the internal state of the step run last
    hidden, internal = {0: cursor}, {}
    carry = (torch.zeros_like(h0), torch.zeros_like(c0))
    for action in plan.actions:  # the plan says what to do next; the data says what was done
        op, i = action.op, action.step
        if op == "forward":
            step = cursor.step + 1
            trace.forward(step)  # checked now: a broken rule raises mb.PlanError here
            leaves = (cursor.h.detach().requires_grad_(), cursor.c.detach().requires_grad_())
            core = Internal(step, leaves, cell(xs[step - 1], leaves))
            cursor = core.output()
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
            cursor = internal[i].output()
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
            h, c = done.outputs
            loss = 0.5 * ((h - targets[done.step - 1]) ** 2).sum()  # mb.MSEHead's loss
            torch.autograd.backward([loss, h, c], [torch.ones_like(loss), *carry])
            carry = tuple(leaf.grad for leaf in done.leaves)
    return carry


def check_one_dtype(dtype, plant=None):
    """Run the loop in ``dtype``, with ``plant`` planted (or none). Returns the verdict on
    its trace, against the plan it follows, and the gradient comparison (None when a
    broken rule stopped the loop)."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(INPUTS, HIDDEN).to(dtype)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(STEPS, BATCH, INPUTS))
    h0 = rng.normal(scale=0.5, size=(BATCH, HIDDEN))
    c0 = rng.normal(scale=0.5, size=(BATCH, HIDDEN))
    targets = rng.normal(size=(STEPS, BATCH, HIDDEN))

    # the same weights in mini_bptt's cell, which follows torch.nn.LSTMCell's layout
    weights = {name: p.detach().double().numpy() for name, p in cell.named_parameters()}
    ours = mb.LSTMCell.from_weights(**weights)
    reference = mb.full_bptt(ours, xs, np.concatenate([h0, c0], axis=1), mb.MSEHead(targets))

    plan = mb.plan(STEPS, MEMORY, alpha=ours.alpha)  # BPTT-MSM, optimal model
    as_torch = lambda a: torch.tensor(a, dtype=dtype)  # noqa: E731
    trace = mb.Recorder(STEPS, MEMORY, alpha=ours.alpha, plan=plan)
    try:
        with trace:
            dh0, dc0 = run_plan_in_torch(
                plan, cell, *map(as_torch, (xs, h0, c0, targets)), trace, plant=plant
            )
    except mb.PlanError:  # the verdict holds it, and where the loop left the plan
        return trace.result(), None
    gradients = {name: p.grad.numpy() for name, p in cell.named_parameters()}
    gradients.update(dh0=dh0.numpy(), dc0=dc0.numpy())
    return trace.result(), mb.compare_gradients(reference, gradients, cell=ours)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", choices=sorted(PLANTED), help="plant this bug in the loop")
    plant = parser.parse_args(argv).plant
    status = 0
    for dtype in (torch.float64,) if plant else (torch.float64, torch.float32):
        verdict, comparison = check_one_dtype(dtype, plant)
        print(f"== torch.nn.LSTMCell in {dtype}, T = {STEPS}, plan at {MEMORY} of full BPTT")
        if plant:
            print(f"planted: {PLANTED[plant]}")
        print(verdict)
        print(
            "gradients: not computed (the loop stopped)"
            if comparison is None
            else comparison.report()
        )
        clean = verdict.valid and verdict.follows_plan and comparison is not None and comparison.ok
        status |= clean if plant else not clean  # a planted bug must be caught
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
