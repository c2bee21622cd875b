"""Tanh RNN cell: forward and backward side by side, one line per equation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mini_bptt.cells.base import Cell, add_outer_product
from mini_bptt.common import arguments


class RNNCache(NamedTuple):
    """Internal state of one tanh-RNN step.

    x:      (batch, input_size)   the input, read by dW_xh (a reference, not counted in alpha)
    h_prev: (batch, hidden)       read by dW_hh
    h:      (batch, hidden)       tanh'(a) = 1 - h**2, and the step's output state
    """

    x: np.ndarray
    h_prev: np.ndarray
    h: np.ndarray


class RNNCell(Cell):
    """``h' = tanh(W_xh x + W_hh h + b)``; state = h, shape (batch, hidden_size); alpha = 2.

    The layout of ``torch.nn.RNNCell`` (tanh): ``W_xh`` is its ``weight_ih``, ``W_hh`` its
    ``weight_hh``, and its two biases add up to ``b``; see ``from_weights``, ``weights``.

    Parameters
    ----------
    input_size, hidden_size : int
        Sizes I and H (>= 1). ``W_xh`` is (H, I), ``W_hh`` (H, H), ``b`` (H,), float64.
    seed : int
        Seed (>= 0) of the uniform(-1/sqrt(H), 1/sqrt(H)) initial weights; ``b`` is 0.

    Raises
    ------
    TypeError, ValueError
        For a size or seed that is not a whole number in range, named. Weights past the
        ``array_bytes`` resource limit (2 GiB unless changed with ``resource_limits``)
        raise ``ResourceLimitError``, a ``ValueError``, before anything is allocated.

    Examples
    --------
    >>> import numpy as np
    >>> cell = RNNCell(3, 4, seed=1)
    >>> state, cache = cell.forward(np.zeros((2, 4)), np.ones((2, 3)))
    >>> state.shape, cell.alpha
    ((2, 4), 2.0)
    """

    def __init__(self, input_size: int, hidden_size: int, seed: int = 0) -> None:
        super().__init__(input_size, hidden_size)
        self.state_size = self.hidden_size
        rng = arguments.rng(seed)
        scale = 1.0 / np.sqrt(self.hidden_size)
        H, I = self.hidden_size, self.input_size
        self.params = {
            "W_xh": rng.uniform(-scale, scale, (H, I)),
            "W_hh": rng.uniform(-scale, scale, (H, H)),
            "b": np.zeros(H),
        }

    def forward(self, state: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, RNNCache]:
        p = self.params
        a = x @ p["W_xh"].T  # (B, H) pre-activation, summed in place
        a += state @ p["W_hh"].T
        a += p["b"]
        h = np.tanh(a, out=a)  # (B, H)
        return h, RNNCache(x, state, h)

    def backward_into(
        self, cache: RNNCache, dstate_next: np.ndarray, grads: dict[str, np.ndarray]
    ) -> np.ndarray:
        da = dstate_next * (1.0 - cache.h * cache.h)  # (B, H) through tanh
        add_outer_product(grads["W_xh"], da, cache.x)  # (H, I)
        add_outer_product(grads["W_hh"], da, cache.h_prev)  # (H, H)
        grads["b"] += da.sum(axis=0)  # (H,)
        return da @ self.params["W_hh"]  # (B, H)

    def next_state(self, cache: RNNCache) -> np.ndarray:
        return cache.h

    def output(self, state: np.ndarray) -> np.ndarray:
        return state

    def output_grad(self, dh: np.ndarray) -> np.ndarray:
        return dh

    def output_of(self, cache: RNNCache) -> np.ndarray:
        return cache.h

    def add_output_grad(self, dstate: np.ndarray, dh: np.ndarray) -> np.ndarray:
        dstate += dh  # in the carry
        return dstate
