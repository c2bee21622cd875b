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
names the first action where the loop left it, which is where a bug starts. The trace
sees which state each action used; the gradients see what was computed with it (a sum
kept in bfloat16, a graph not cut between steps, a loss term left out). Check both.

A loop that follows no mini_bptt plan (``torch.utils.checkpoint``, for one) shows only
the order of its step calls: log it with ``mini_bptt.oracle.torch_hooks.CallLog`` and
rebuild its trace (docs/testing.md, *Logging a real PyTorch loop*).

Run: python examples/pytorch_oracle.py                 (needs torch; mini_bptt never imports it)
     python examples/pytorch_oracle.py --plant NAME     (one of PLANTED: a bug in the loop,
                                                         to see what the oracle says)
Exit code 0 when the trace is valid, follows its plan, and the gradients agree within the
dtype's tolerance (with --plant: when the oracle catches the planted bug, and it prints
which check caught it: the trace's rules, the check against the plan, the gradients).
"""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple

import numpy as np
import torch

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
        "a forward starts from the last step's outputs, not detached copies (and backward "
        "keeps graphs, as autograd's error then asks): each backward runs on into the "
        "steps before"
    ),
    "dropped_loss": "the loss of step 1 is left out",
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
            if plant == "uncut_graph" and core is not None and core.step == cursor.step:
                leaves = core.outputs  # the graph of the steps before stays attached
                for leaf in leaves:
                    leaf.retain_grad()
            else:  # the step's graph starts here: leaves cut from what came before
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
            losses = [] if plant == "dropped_loss" and done.step == 1 else [loss]
            torch.autograd.backward(
                [*losses, h, c],
                [*map(torch.ones_like, losses), *carry],
                retain_graph=plant == "uncut_graph",
            )
            carry = tuple(leaf.grad for leaf in done.leaves)
            if plant == "bfloat16_accumulator":  # each running sum rounded to bfloat16
                for p in cell.parameters():
                    p.grad = p.grad.to(torch.bfloat16).to(p.dtype)
    return carry


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


def check_one_dtype(dtype, plant=None) -> Outcome:
    """Run the loop in ``dtype``, with ``plant`` planted (or none), and judge it."""
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
    except mb.PlanError as error:  # the verdict holds it, and where the loop left the plan
        return Outcome(trace.result(), None, error.index)
    gradients = {name: p.grad.numpy() for name, p in cell.named_parameters()}
    gradients.update(dh0=dh0.numpy(), dc0=dc0.numpy())
    return Outcome(trace.result(), mb.compare_gradients(reference, gradients, cell=ours), None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", choices=sorted(PLANTED), help="plant this bug in the loop")
    plant = parser.parse_args(argv).plant
    status = 0
    for dtype in (torch.float64,) if plant else (torch.float64, torch.float32):
        outcome = check_one_dtype(dtype, plant)
        print(f"== torch.nn.LSTMCell in {dtype}, T = {STEPS}, plan at {MEMORY} of full BPTT")
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
