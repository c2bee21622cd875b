"""A PyTorch loop that stops at a random step, checkpointed by mini_bptt's online planner.

An episode runs a ``torch.nn.LSTMCell`` one step at a time and ends when a random event
fires (each step with probability ``STOP_PROBABILITY``, seeded; at the latest at
``MAX_STEPS``): the loop does not know its length T until it stops, so no plan made in
advance can guide its forward sweep. ``mb.OnlinePlanner`` does: after the forward of each
step that is not the last, ``step(i)`` says what to save and free now, and the loop does it
in torch (a hidden state is kept detached, an internal state as the step's autograd graph,
as in ``pytorch_oracle.py``, whose state classes this example imports). When the episode
stops, ``finish(T)`` returns the plan of the whole trace; the loop runs its reversal from
the tensors it kept.

The oracle checks the loop from its data path. ``mb.Recorder`` needs T, which the loop
learns only at its end, so the sweep's actions are logged where they are done, with the
step of the state each one touches, and handed to a Recorder built with the finished plan
once T is known; the reversal is recorded live. The verdict says whether the trace is
valid within the memory and follows the plan; the gradients are compared with
``mb.full_bptt`` on the same weights and inputs, in float64. The inputs of the episode are
kept for the recomputations (the budget counts states, not inputs, as everywhere in
mini_bptt).

Run: python examples/online_random_stop.py [--seed S] [--memory M] [--alpha A]
     python examples/online_random_stop.py --plant NAME   (one of PLANTED: a bug in the
                                                           loop, to see the oracle catch it)
Exit code 0 when the trace is valid, follows the plan, and the gradients agree (with
--plant: when the oracle catches the planted bug). Needs torch; mini_bptt never imports it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

import mini_bptt as mb

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling example
from pytorch_oracle import Hidden, Internal  # noqa: E402  states that carry their step

BATCH, INPUTS, HIDDEN = 4, 8, 16
STOP_PROBABILITY, MAX_STEPS = 1 / 30, 400  # a geometric episode length, bounded
MEMORY = 24  # hidden-state units (an LSTM's internal state is 4.5 of them)

# bugs that can be planted in the loop, each one line away from the right code
PLANTED = {
    "skip_save": "the first save the planner asks for is not done",
    "keep_free": "the first free the planner asks for is forgotten: the state stays kept",
}


class SweepLog:
    """Stands in for the Recorder during the sweep (T is not known yet): each action, as
    the loop calls it, with the step of its data, kept for the Recorder."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, int]] = []

    def __getattr__(self, op: str):
        return lambda step: self.actions.append((op, int(step)))


@dataclass
class TorchLoop:
    """The loop's state: where the forward stands, the internal state of the step run last
    (the core), the kept hidden and internal states by step, the carried gradient; and
    ``trace``, where each action is recorded as it is done (a SweepLog, then a Recorder)."""

    cell: torch.nn.LSTMCell
    cursor: Hidden
    trace: object
    xs: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    core: Internal | None = None
    hidden: dict = field(default_factory=dict)
    internal: dict = field(default_factory=dict)
    carry: tuple | None = None

    def do(self, op: str, i: int) -> None:
        """One action, recorded with the step of the state it touched (for a state that is
        not there, the step asked for: the Recorder then says it was never saved)."""
        if op == "forward":
            step = self.cursor.step + 1
            self.trace.forward(step)
            leaves = tuple(t.detach().requires_grad_() for t in (self.cursor.h, self.cursor.c))
            self.core = Internal(step, leaves, self.cell(self.xs[step - 1], leaves))
            self.cursor = self.core.output()
        elif op == "save_hidden":
            self.hidden[self.cursor.step] = self.cursor
            self.trace.save_hidden(self.cursor.step)
        elif op == "save_internal":
            self.internal[self.core.step] = self.core
            self.trace.save_internal(self.core.step)
        elif op == "restore_hidden":
            self.trace.restore_hidden(self.hidden[i].step if i in self.hidden else i)
            self.cursor, self.core = self.hidden[i], None
        elif op == "restore_internal":
            self.trace.restore_internal(self.internal[i].step if i in self.internal else i)
            self.cursor = self.internal[i].output()
        elif op in ("free_hidden", "free_internal"):
            kept = self.hidden if op == "free_hidden" else self.internal
            getattr(self.trace, op)(kept.pop(i).step if i in kept else i)
        elif op == "backward":
            done = self.internal.get(i, self.core)  # a saved s[i], else the step just run
            self.trace.backward(i if done is None else done.step)
            h, c = done.outputs
            loss = 0.5 * ((h - self.targets[done.step - 1]) ** 2).sum()  # mb.MSEHead's loss
            if self.carry is None:
                self.carry = (torch.zeros_like(h), torch.zeros_like(c))
            torch.autograd.backward([loss, h, c], [torch.ones_like(loss), *self.carry])
            self.carry = tuple(leaf.grad for leaf in done.leaves)
        else:
            raise ValueError(f"op must be one of {mb.OPS}, got {op!r}")


def run_episode(seed: int, memory, alpha, plant: str | None = None):
    """One episode of random length, checkpointed online and reversed; returns the
    Recorder's verdict (against the finished plan), the gradient comparison with
    ``mb.full_bptt`` (None when a broken rule stopped the loop), the plan, and whether
    ``plant`` found something to act on."""
    torch.manual_seed(seed)
    cell = torch.nn.LSTMCell(INPUTS, HIDDEN).double()
    rng = np.random.default_rng(seed)
    h0 = torch.tensor(rng.normal(scale=0.5, size=(BATCH, HIDDEN)))
    c0 = torch.tensor(rng.normal(scale=0.5, size=(BATCH, HIDDEN)))
    loop = TorchLoop(cell, Hidden(0, h0, c0), SweepLog())
    loop.hidden[0] = loop.cursor
    planner = mb.OnlinePlanner(memory, alpha=alpha)
    planted = False
    i = 0
    while True:  # the episode: it learns its length when the event fires
        i += 1
        loop.xs.append(torch.tensor(rng.normal(size=(BATCH, INPUTS))))
        loop.targets.append(torch.tensor(rng.normal(size=(BATCH, HIDDEN))))
        loop.do("forward", i)
        if rng.random() < STOP_PROBABILITY or i == MAX_STEPS:
            plan = planner.finish(i)  # T = i, revealed after the forward of step T
            break
        for action in planner.step(i):  # what to keep and drop before step i + 1
            if not planted and plant == "skip_save" and action.op.startswith("save"):
                planted = True
                continue
            if not planted and plant == "keep_free" and action.op.startswith("free"):
                planted = True
                continue
            loop.do(action.op, action.step)
    steps = plan.steps
    trace = mb.Recorder(steps, memory, alpha=alpha, plan=plan)
    swept, loop.trace = loop.trace.actions, trace
    reversal = plan.actions[plan.actions.index(mb.Action("forward", steps)) + 1 :]
    try:
        with trace:
            for op, step in swept:  # recorded from the data as the sweep went
                getattr(trace, op)(step)
            for action in reversal:
                loop.do(action.op, action.step)
    except mb.PlanError:  # a broken rule: the verdict holds it, and where
        return trace.result(), None, plan, planted

    weights = {name: p.detach().numpy() for name, p in cell.named_parameters()}
    ours = mb.LSTMCell.from_weights(**weights)
    xs, targets = (np.stack([t.numpy() for t in ts]) for ts in (loop.xs, loop.targets))
    state0 = np.concatenate([h0.numpy(), c0.numpy()], axis=1)
    reference = mb.full_bptt(ours, xs, state0, mb.MSEHead(targets))
    gradients = {name: p.grad.numpy() for name, p in cell.named_parameters()}
    gradients.update(dh0=loop.carry[0].numpy(), dc0=loop.carry[1].numpy())
    return trace.result(), mb.compare_gradients(reference, gradients, cell=ours), plan, planted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="the episode's seed (default 0)")
    parser.add_argument(
        "--memory", type=Fraction, default=MEMORY, help=f"budget in hidden-state units ({MEMORY})"
    )
    parser.add_argument(
        "--alpha",
        type=Fraction,
        default=Fraction(9, 2),
        help="internal-state size in hidden-state units (9/2, an LSTM's)",
    )
    parser.add_argument("--plant", choices=sorted(PLANTED), help="plant this bug in the loop")
    args = parser.parse_args(argv)
    verdict, comparison, plan, planted = run_episode(args.seed, args.memory, args.alpha, args.plant)
    offline = mb.cost(plan.steps, args.memory, alpha=args.alpha)
    print(
        f"== torch.nn.LSTMCell in float64, seed {args.seed}: the episode stopped at "
        f"T = {plan.steps}; memory {args.memory}, alpha {args.alpha}"
    )
    print(
        f"online plan: {plan.forward_count} forwards, the offline optimum knowing T "
        f"{offline} (ratio {plan.forward_count / offline:.3f})"
    )
    if args.plant:
        print(f"planted: {PLANTED[args.plant]}" + ("" if planted else " (nothing to plant)"))
    print(verdict)
    print(
        "gradients: not computed (the loop stopped)" if comparison is None else comparison.report()
    )
    clean = (
        verdict.valid
        and verdict.follows_plan
        and verdict.forward_count == plan.forward_count
        and comparison is not None
        and comparison.ok
    )
    if args.plant:  # a planted bug must be caught; one with nothing to act on is not
        return int(clean or not planted)
    return int(not clean)


if __name__ == "__main__":
    sys.exit(main())
