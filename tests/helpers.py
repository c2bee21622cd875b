"""Small builders shared by the tests."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import mini_bptt as mb

CELLS = {"rnn": mb.RNNCell, "lstm": mb.LSTMCell}

# set by tests/conftest.py for the everyday run (-m "not slow"), before any test module loads
EVERYDAY = False


def examples(count: int) -> int:
    """Hypothesis examples for a property test: ``count`` in the full run, a tenth (at
    least 10) in the everyday run, which checks every property on fewer drawn cases."""
    return max(10, count // 10) if EVERYDAY else count


SHORT = {  # plans written compactly: "F1 SH1 F2 B2 XH1 RH0 F1 B1"
    "forward": "F",
    "save_hidden": "SH",
    "save_internal": "SI",
    "restore_hidden": "RH",
    "restore_internal": "RI",
    "free_hidden": "XH",
    "free_internal": "XI",
    "backward": "B",
}


def short(actions) -> str:
    """Actions in the compact form: op letters followed by the step."""
    return " ".join(SHORT[a.op] + str(a.step) for a in actions)


def from_short(text: str) -> tuple[mb.Action, ...]:
    """The actions of a compact string (the inverse of ``short``)."""
    ops = {letters: op for op, letters in SHORT.items()}
    return tuple(
        mb.Action(ops[word.rstrip("0123456789")], int(word.lstrip("FSHIRXB")))
        for word in text.split()
    )


def make_problem(
    cell_name: str,
    steps: int,
    batch: int,
    head: str = "mse",
    seed: int = 0,
    input_size: int = 3,
    hidden_size: int = 4,
):
    """A cell, inputs, a non-zero initial state and a head with random targets."""
    rng = np.random.default_rng(seed)
    cell = CELLS[cell_name](input_size, hidden_size, seed=seed)
    for p in cell.params.values():  # non-zero biases so every gradient is exercised
        p += rng.normal(scale=0.1, size=p.shape)
    xs = rng.normal(size=(steps, batch, input_size))
    h0 = rng.normal(scale=0.5, size=(batch, cell.state_size))
    if head == "mse":
        loss_head = mb.MSEHead(rng.normal(size=(steps, batch, hidden_size)))
    else:
        labels = rng.integers(-1, 3, size=(steps, batch))
        loss_head = mb.SoftmaxHead(labels, num_classes=3, hidden_size=hidden_size, seed=seed)
        loss_head.params["b_y"] += rng.normal(scale=0.1, size=3)
    return cell, xs, h0, loss_head


def forward_loss(cell, xs, h0, head) -> float:
    """The loss by a plain forward sweep (no backward code involved)."""
    state, total = h0, 0.0
    for t in range(len(xs)):
        state, _ = cell.forward(state, xs[t])
        total += head.loss_and_grads(t, cell.output(state))[0]
    return total


def forged_plan(actions, steps, memory, alpha, internal_has_output=True):
    """A Plan object holding ``actions`` as they are. ``Plan(...)`` refuses broken actions,
    so this one is put together field by field, as code altering a plan after building
    it would; the executor must still refuse it."""
    from mini_bptt.planning.plan import Plan
    from mini_bptt.planning.problem import Problem

    plan = object.__new__(Plan)
    fields = dict(
        steps=steps,
        memory=memory,
        alpha=alpha,
        internal_has_output=internal_has_output,
        strategy="forged",
        model="forged",
        actions=tuple(mb.Action(op, s) for op, s in actions),
        forward_count=0,
        peak_memory=0,
        problem=Problem.of(steps, memory, alpha, internal_has_output),
    )
    for name, value in fields.items():
        object.__setattr__(plan, name, value)
    return plan


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt (a BaseException too) without stopping pytest."""


@contextlib.contextmanager
def interrupted_at_line(line: int, where: Path) -> Iterator[list[int]]:
    """Inside the block, raise ``Interrupted`` at the ``line``-th line run in a file below
    ``where``, as Ctrl-C could; the block ends quietly if it is raised. Yields a one-item
    list that holds, afterwards, how many such lines ran (fewer than ``line``: not cut)."""
    seen = [0]

    def local(frame, event, arg):
        if event == "line":
            seen[0] += 1
            if seen[0] == line:
                raise Interrupted
        return local

    def start(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(str(where)) else None

    previous = sys.gettrace()
    sys.settrace(start)
    try:
        yield seen
    except Interrupted:
        pass
    finally:
        sys.settrace(previous)
