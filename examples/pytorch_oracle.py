"""Test a PyTorch implementation of BPTT-MSM against mini_bptt.

A ``torch.nn.LSTMCell`` is trained-step-free: we only compute one gradient. The loop
below runs a mini_bptt plan in PyTorch (saving hidden states, keeping the autograd graph
of a step as its internal state, recomputing the rest), records what it does with
``mb.Recorder`` as it does it, and compares its gradients with ``mb.full_bptt`` on the
same weights, in float64 and in float32.

Run: python examples/pytorch_oracle.py   (needs torch; mini_bptt never imports it)
Exit code 0 when the trace is valid and the gradients agree within the dtype's tolerance.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

import mini_bptt as mb

STEPS, BATCH, INPUTS, HIDDEN = 60, 4, 8, 16


def run_plan_in_torch(plan, cell, xs, h0, c0, targets, trace):
    """Backpropagate through ``cell`` following ``plan``; record every action in ``trace``.

    A saved hidden state is a detached (h, c). A step's internal state is its autograd
    graph: the leaf inputs (h, c) and the outputs, kept alive while it is saved.
    """
    cursor = (h0, c0)
    core = None  # (step, leaves, outputs) of the step just run forward
    hidden, internal = {0: cursor}, {}
    carry = (torch.zeros_like(h0), torch.zeros_like(c0))
    for action in plan.actions:
        op, i = action.op, action.step
        getattr(trace, op)(i)  # checked now: a broken rule raises mb.PlanError here
        if op == "forward":
            leaves = tuple(s.detach().requires_grad_(True) for s in cursor)
            outputs = cell(xs[i - 1], leaves)
            core = (i, leaves, outputs)
            cursor = tuple(o.detach() for o in outputs)
        elif op == "save_hidden":
            hidden[i] = cursor
        elif op == "save_internal":
            internal[i] = core
        elif op == "restore_hidden":
            cursor, core = hidden[i], None
        elif op == "restore_internal":
            cursor = tuple(o.detach() for o in internal[i][2])
        elif op == "free_hidden":
            del hidden[i]
        elif op == "free_internal":
            del internal[i]
        elif op == "backward":
            _, leaves, (h, c) = core if core is not None and core[0] == i else internal[i]
            loss = 0.5 * ((h - targets[i - 1]) ** 2).sum()  # the head of mb.MSEHead
            torch.autograd.backward([loss, h, c], [torch.ones_like(loss), carry[0], carry[1]])
            carry = (leaves[0].grad, leaves[1].grad)
    return carry


def check_one_dtype(dtype) -> tuple[mb.CheckResult, mb.GradientComparison]:
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

    plan = mb.plan(STEPS, "20%", alpha=ours.alpha)  # BPTT-MSM, optimal model
    as_torch = lambda a: torch.tensor(a, dtype=dtype)  # noqa: E731
    with mb.Recorder(STEPS, "20%", alpha=ours.alpha) as trace:
        dh0, dc0 = run_plan_in_torch(
            plan, cell, as_torch(xs), as_torch(h0), as_torch(c0), as_torch(targets), trace
        )
    gradients = {name: p.grad.numpy() for name, p in cell.named_parameters()}
    gradients.update(dh0=dh0.numpy(), dc0=dc0.numpy())
    return trace.result(), mb.compare_gradients(reference, gradients, cell=ours)


def main() -> int:
    status = 0
    for dtype in (torch.float64, torch.float32):
        verdict, comparison = check_one_dtype(dtype)
        print(f"== torch.nn.LSTMCell in {dtype}, T = {STEPS}, plan at 20% of full BPTT")
        print(
            f"trace: {'valid' if verdict.valid else 'INVALID'}, "
            f"{verdict.forward_count} forwards (optimal {verdict.optimal_forward_count}), "
            f"peak {verdict.peak_memory} units"
        )
        print(comparison.report())
        status |= not (verdict.valid and comparison.ok)
    return status


if __name__ == "__main__":
    sys.exit(main())
