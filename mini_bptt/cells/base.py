"""The cell protocol shared by every cell (STYLE principle 1).

A cell keeps only its parameters. One step is

    state_next, cache = cell.forward(state, x)     # state: (batch, state_size)
    dstate, dparams   = cell.backward(cache, dstate_next)

and ``cache`` *is* the paper's internal state: a NamedTuple of arrays holding
exactly what ``backward`` reads, plus the step's output state (so a saved
internal state can restart the forward, SPEC 3.1 ``restore_internal``).
Field ``x`` is a reference to the step's input, which is free working space
(SPEC 3.1), so it is not counted in ``alpha`` nor in bytes held.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mini_bptt.cells import _checks

INPUT_FIELD = "x"  # cache field that refers to the caller's input array


def cache_nbytes(cache: NamedTuple) -> int:
    """Bytes a cache keeps alive beyond the inputs (the units of ``alpha``)."""
    return sum(
        a.nbytes for name, a in zip(cache._fields, cache, strict=False) if name != INPUT_FIELD
    )


class Cell:
    """Base class: parameters, sizes, input checks and the measured ``alpha``.

    Subclasses define ``state_size``, ``forward``, ``backward``,
    ``next_state(cache)`` (the output state held in the cache),
    ``output(state)`` (the part a head reads, ``h``) and ``output_grad(dh)``
    (``dh`` of shape (batch, hidden_size) embedded in state shape).
    """

    input_size: int
    hidden_size: int
    state_size: int
    params: dict[str, np.ndarray]

    def __init__(self, input_size: int, hidden_size: int) -> None:
        self.input_size = _checks.positive_int("input_size", input_size)
        self.hidden_size = _checks.positive_int("hidden_size", hidden_size)

    def zero_state(self, batch: int) -> np.ndarray:
        """Initial state of zeros, shape (batch, state_size), float64."""
        batch = _checks.positive_int("batch", batch)
        return np.zeros((batch, self.state_size))

    @property
    def alpha(self) -> float:
        """Internal-state size / hidden-state size, measured from a real cache."""
        state = self.zero_state(1)
        _, cache = self.forward(state, np.zeros((1, self.input_size)))
        return cache_nbytes(cache) / state.nbytes

    def check_inputs(self, xs: np.ndarray, h0: np.ndarray) -> tuple[int, int]:
        """Validate ``xs`` (steps, batch, input_size) and ``h0``; return (steps, batch)."""
        if not isinstance(xs, np.ndarray) or xs.ndim != 3:
            shape = getattr(xs, "shape", type(xs).__name__)
            raise ValueError(
                f"xs must be an array of shape (steps, batch, input_size), got {shape}"
            )
        steps, batch, _ = xs.shape
        if steps < 1 or batch < 1:
            raise ValueError(f"xs must have at least one step and one batch row, got {xs.shape}")
        _checks.float_array("xs", xs, (steps, batch, self.input_size))
        _checks.float_array("h0", h0, (batch, self.state_size))
        return steps, batch
