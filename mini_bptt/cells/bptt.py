"""Standard BPTT (keep every internal state) and the one reverse step every runner shares.

``reverse_step`` is the only place where a head and a cell backward are combined,
so full BPTT and any checkpointed execution do the same arithmetic in the same
order, which is why their gradients are bitwise identical.
"""

from __future__ import annotations

import numpy as np

from mini_bptt.cells.base import Cell, Parameters, cache_nbytes
from mini_bptt.cells.heads import Head
from mini_bptt.cells.result import Result


def zero_grads(cell, head) -> dict[str, np.ndarray]:
    """Zeroed gradient accumulators for the cell's and the head's parameters."""
    names = list(cell.params) + list(head.params)
    if len(set(names)) != len(names):
        raise ValueError(f"cell and head parameter names overlap: {sorted(names)}")
    grads = {name: np.zeros_like(p) for name, p in {**cell.params, **head.params}.items()}
    renamed = getattr(cell.params, "renamed", None)  # old names answer here too, with a warning
    return grads if renamed is None else Parameters(grads, renamed)


def reverse_step(cell, head, index: int, cache, dstate: np.ndarray, grads: dict) -> tuple:
    """Reverse step ``index + 1``: head loss at its output, then the cell backward.

    Returns (loss of this step, dL/dstate at the step's input). ``grads`` is
    accumulated in place, and ``dstate`` (the carry) may be overwritten.
    """
    loss, dh, dhead = head.loss_and_grads(index, cell.output_of(cache))
    for name, d in dhead.items():
        grads[name] += d
    return loss, cell.backward_into(cache, cell.add_output_grad(dstate, dh), grads)


def check_run(cell, xs, h0, head) -> tuple[int, int]:
    """Validate the arguments of a run; return (steps, batch)."""
    for name, value, needs in (
        ("cell", cell, ("check_inputs", "forward", "backward_into", "next_state", "output_of")),
        ("head", head, ("check", "loss_and_grads")),
    ):
        if not all(callable(getattr(value, method, None)) for method in needs):
            raise TypeError(
                f"{name} must be a mini_bptt {name} (with {', '.join(needs)}), "
                f"got {type(value).__name__}"
            )
    steps, batch = cell.check_inputs(xs, h0)
    head.check(steps, batch, cell.hidden_size)
    return steps, batch


def full_bptt(cell: Cell, xs: np.ndarray, h0: np.ndarray, head: Head) -> Result:
    """Standard BPTT: one forward sweep keeping every internal state, then T backward steps.

    The reference every checkpointed run is compared with. Accounting as the ``bptt``
    plan: h0 (1 unit) and the caches of steps 1..T-1 are saved, the cache of step T is
    the free working core.

    Parameters
    ----------
    cell : RNNCell, LSTMCell or another ``Cell``
        The recurrent cell.
    xs : numpy.ndarray
        Inputs, float64, shape (steps, batch, input_size).
    h0 : numpy.ndarray
        Initial state, float64, shape (batch, state_size).
    head : MSEHead, SoftmaxHead or another head
        The per-step loss.

    Returns
    -------
    Result
        Loss, gradients, ``dh0`` and the accounting (T forwards, peak ``1 + alpha (T - 1)``).

    Raises
    ------
    TypeError, ValueError
        For a cell or head of the wrong kind, or arrays of the wrong type or shape, named.

    Examples
    --------
    >>> import numpy as np, mini_bptt as mb
    >>> cell, rng = mb.RNNCell(3, 4), np.random.default_rng(0)
    >>> head = mb.MSEHead(rng.normal(size=(5, 2, 4)))
    >>> result = mb.full_bptt(cell, rng.normal(size=(5, 2, 3)), np.zeros((2, 4)), head)
    >>> result.forward_count, result.peak_memory, sorted(result.grads)
    (5, 9.0, ['W_hh', 'W_xh', 'b'])
    """
    steps, _ = check_run(cell, xs, h0, head)
    state, caches = h0, []
    for t in range(steps):
        state, cache = cell.forward(state, xs[t])
        caches.append(cache)
    grads = zero_grads(cell, head)
    loss, dstate = 0.0, np.zeros_like(h0)
    for t in reversed(range(steps)):
        step_loss, dstate = reverse_step(cell, head, t, caches[t], dstate, grads)
        loss += step_loss
    return Result(
        loss=loss,
        grads=grads,
        dh0=dstate,
        forward_count=steps,
        backward_count=steps,
        peak_memory=1 + cell.alpha * (steps - 1),
        peak_bytes=h0.nbytes + sum(cache_nbytes(c) for c in caches[:-1]),
    )
