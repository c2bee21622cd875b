"""LSTM cell: forward and backward side by side, one line per equation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mini_bptt.cells.base import Cell, Parameters, add_outer_product
from mini_bptt.common import arguments


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # new arrays: in place on the strided gate slices of z is slower (measured)
    return 1.0 / (1.0 + np.exp(-z))


class LSTMCache(NamedTuple):
    """Internal state of one LSTM step (H = hidden_size).

    x:          (B, I) input, read by dW_xh (a reference, not counted in alpha)
    h_prev:     (B, H) read by dW_hh
    c_prev:     (B, H) read by df = dc * c_prev
    i, f, g, o: (B, H) gate activations, read by their own derivatives and by dc
    tanh_c:     (B, H) read by do = dh * tanh_c and dc += dh * o * (1 - tanh_c**2)
    c, h:       (B, H) the step's output state, so a saved cache can restart the forward
    Counted: 9H numbers against a state (h, c) of 2H, so alpha = 4.5.
    """

    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray
    c: np.ndarray
    h: np.ndarray


class LSTMCell(Cell):
    """LSTM with gates i, f, g, o; state = [h | c], shape (batch, 2 * hidden_size).

    ``W_xh`` (4H, I) and ``W_hh`` (4H, H) stack the gates in the order i, f, g, o, the
    layout of ``torch.nn.LSTMCell`` (``weight_ih``, ``weight_hh``; its two biases add up
    to ``b``): see ``from_weights`` and ``weights``.

    Parameters
    ----------
    input_size, hidden_size : int
        Sizes I and H (>= 1). ``W_xh`` is (4H, I), ``W_hh`` (4H, H), ``b`` (4H,), float64.
    seed : int
        Seed (>= 0) of the uniform(-1/sqrt(H), 1/sqrt(H)) initial weights.
    forget_bias : float
        The forget gate's part of ``b``; the rest of ``b`` is 0.

    Raises
    ------
    TypeError, ValueError
        For a size, seed or ``forget_bias`` out of range, named. Weights past the
        ``array_bytes`` resource limit (2 GiB unless changed with ``resource_limits``)
        raise ``ResourceLimitError``, a ``ValueError``, before anything is allocated.

    Examples
    --------
    >>> import numpy as np
    >>> cell = LSTMCell(3, 4)
    >>> state, cache = cell.forward(cell.zero_state(2), np.ones((2, 3)))
    >>> state.shape, cell.alpha
    ((2, 8), 4.5)
    >>> twin = LSTMCell.from_weights(**cell.weights())
    >>> all(np.array_equal(twin.params[k], cell.params[k]) for k in cell.params)
    True
    """

    GATES = 4
    RENAMED = {"W_x": "W_xh", "W_h": "W_hh"}  # old names, still answered with a warning

    def __init__(
        self, input_size: int, hidden_size: int, seed: int = 0, forget_bias: float = 1.0
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.state_size = 2 * self.hidden_size
        rng = arguments.rng(seed)
        H, I = self.hidden_size, self.input_size
        scale = 1.0 / np.sqrt(H)
        b = np.zeros(4 * H)
        b[H : 2 * H] = arguments.finite_real("forget_bias", forget_bias)
        self.params = Parameters(
            {
                "W_xh": rng.uniform(-scale, scale, (4 * H, I)),
                "W_hh": rng.uniform(-scale, scale, (4 * H, H)),
                "b": b,
            },
            renamed=self.RENAMED,
        )

    def forward(self, state: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, LSTMCache]:
        H, p = self.hidden_size, self.params
        h_prev, c_prev = state[:, :H], state[:, H:]
        z = x @ p["W_xh"].T  # (B, 4H) all gates
        z += h_prev @ p["W_hh"].T  # in place: no sum of two fresh (B, 4H) arrays
        z += p["b"]
        i = _sigmoid(z[:, :H])  # (B, H) input gate
        f = _sigmoid(z[:, H : 2 * H])  # (B, H) forget gate
        g = np.tanh(z[:, 2 * H : 3 * H])  # (B, H) candidate
        o = _sigmoid(z[:, 3 * H :])  # (B, H) output gate
        c = f * c_prev  # (B, H) cell state
        c += i * g
        tanh_c = np.tanh(c)  # (B, H)
        h = o * tanh_c  # (B, H)
        state_next = np.concatenate([h, c], axis=1)  # (B, 2H): the cursor, a copy of h, c
        return state_next, LSTMCache(x, h_prev, c_prev, i, f, g, o, tanh_c, c, h)

    def backward_into(
        self, cache: LSTMCache, dstate_next: np.ndarray, grads: dict[str, np.ndarray]
    ) -> np.ndarray:
        H, B = self.hidden_size, cache.h.shape[0]
        dh, dc = dstate_next[:, :H], dstate_next[:, H:]
        do = dh * cache.tanh_c  # (B, H)
        dc = dc + dh * cache.o * (1.0 - cache.tanh_c * cache.tanh_c)  # (B, H) total dL/dc
        dz = np.empty((B, 4 * H))  # (B, 4H) back through the gate nonlinearities
        np.multiply(dc * cache.g * cache.i, 1.0 - cache.i, out=dz[:, :H])  # di
        np.multiply(dc * cache.c_prev * cache.f, 1.0 - cache.f, out=dz[:, H : 2 * H])  # df
        np.multiply(dc * cache.i, 1.0 - cache.g * cache.g, out=dz[:, 2 * H : 3 * H])  # dg
        np.multiply(do * cache.o, 1.0 - cache.o, out=dz[:, 3 * H :])  # do
        add_outer_product(grads["W_xh"], dz, cache.x)  # (4H, I)
        add_outer_product(grads["W_hh"], dz, cache.h_prev)  # (4H, H)
        grads["b"] += dz.sum(axis=0)  # (4H,)
        dstate = np.empty_like(dstate_next)  # (B, 2H) = [dh_prev | dc_prev]
        np.matmul(dz, self.params["W_hh"], out=dstate[:, :H])
        np.multiply(dc, cache.f, out=dstate[:, H:])
        return dstate

    def next_state(self, cache: LSTMCache) -> np.ndarray:
        return np.concatenate([cache.h, cache.c], axis=1)

    def output(self, state: np.ndarray) -> np.ndarray:
        return state[:, : self.hidden_size]

    def output_grad(self, dh: np.ndarray) -> np.ndarray:
        return np.concatenate([dh, np.zeros_like(dh)], axis=1)

    def output_of(self, cache: LSTMCache) -> np.ndarray:
        return cache.h  # the head's input, without concatenating [h | c] to slice h again

    def add_output_grad(self, dstate: np.ndarray, dh: np.ndarray) -> np.ndarray:
        dstate[:, : self.hidden_size] += dh  # in the carry: no [dh | 0] to concatenate
        return dstate
