"""Tanh RNN cell: forward and backward side by side, one line per equation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mini_bptt.cells import _checks
from mini_bptt.cells.base import Cell


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
    """

    def __init__(self, input_size: int, hidden_size: int, seed: int = 0) -> None:
        super().__init__(input_size, hidden_size)
        self.state_size = self.hidden_size
        rng = _checks.rng(seed)
        scale = 1.0 / np.sqrt(self.hidden_size)
        H, I = self.hidden_size, self.input_size
        self.params = {
            "W_xh": rng.uniform(-scale, scale, (H, I)),
            "W_hh": rng.uniform(-scale, scale, (H, H)),
            "b": np.zeros(H),
        }

    def forward(self, state: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, RNNCache]:
        p = self.params
        a = x @ p["W_xh"].T + state @ p["W_hh"].T + p["b"]  # (B, H) pre-activation
        h = np.tanh(a)  # (B, H)
        return h, RNNCache(x, state, h)

    def backward(
        self, cache: RNNCache, dstate_next: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        da = dstate_next * (1.0 - cache.h * cache.h)  # (B, H) through tanh
        dparams = {
            "W_xh": da.T @ cache.x,  # (H, I)
            "W_hh": da.T @ cache.h_prev,  # (H, H)
            "b": da.sum(axis=0),  # (H,)
        }
        dstate = da @ self.params["W_hh"]  # (B, H)
        return dstate, dparams

    def next_state(self, cache: RNNCache) -> np.ndarray:
        return cache.h

    def output(self, state: np.ndarray) -> np.ndarray:
        return state

    def output_grad(self, dh: np.ndarray) -> np.ndarray:
        return dh
