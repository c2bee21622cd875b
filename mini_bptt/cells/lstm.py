"""LSTM cell: forward and backward side by side, one line per equation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mini_bptt.cells import _checks
from mini_bptt.cells.base import Cell


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class LSTMCache(NamedTuple):
    """Internal state of one LSTM step (H = hidden_size).

    x:          (B, I) input, read by dW_x (a reference, not counted in alpha)
    h_prev:     (B, H) read by dW_h
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

    ``W_x`` (4H, I) and ``W_h`` (4H, H) stack the gates in the order i, f, g, o, the
    layout of ``torch.nn.LSTMCell`` (``weight_ih``, ``weight_hh``; its two biases add up
    to ``b``): see ``from_weights`` and ``weights``. ``forget_bias`` initialises the
    forget-gate part of ``b``.
    """

    GATES = 4
    INPUT_WEIGHT, HIDDEN_WEIGHT = "W_x", "W_h"

    def __init__(
        self, input_size: int, hidden_size: int, seed: int = 0, forget_bias: float = 1.0
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.state_size = 2 * self.hidden_size
        rng = _checks.rng(seed)
        H, I = self.hidden_size, self.input_size
        scale = 1.0 / np.sqrt(H)
        b = np.zeros(4 * H)
        b[H : 2 * H] = _checks.finite_real("forget_bias", forget_bias)
        self.params = {
            "W_x": rng.uniform(-scale, scale, (4 * H, I)),
            "W_h": rng.uniform(-scale, scale, (4 * H, H)),
            "b": b,
        }

    def forward(self, state: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, LSTMCache]:
        H, p = self.hidden_size, self.params
        h_prev, c_prev = state[:, :H], state[:, H:]
        z = x @ p["W_x"].T + h_prev @ p["W_h"].T + p["b"]  # (B, 4H) all gates
        i = _sigmoid(z[:, :H])  # (B, H) input gate
        f = _sigmoid(z[:, H : 2 * H])  # (B, H) forget gate
        g = np.tanh(z[:, 2 * H : 3 * H])  # (B, H) candidate
        o = _sigmoid(z[:, 3 * H :])  # (B, H) output gate
        c = f * c_prev + i * g  # (B, H) cell state
        tanh_c = np.tanh(c)  # (B, H)
        h = o * tanh_c  # (B, H)
        state_next = np.concatenate([h, c], axis=1)  # (B, 2H)
        return state_next, LSTMCache(x, h_prev, c_prev, i, f, g, o, tanh_c, c, h)

    def backward(
        self, cache: LSTMCache, dstate_next: np.ndarray
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        H = self.hidden_size
        dh, dc = dstate_next[:, :H], dstate_next[:, H:]
        do = dh * cache.tanh_c  # (B, H)
        dc = dc + dh * cache.o * (1.0 - cache.tanh_c * cache.tanh_c)  # (B, H) total dL/dc
        di = dc * cache.g
        df = dc * cache.c_prev
        dg = dc * cache.i
        dz = np.concatenate(  # (B, 4H) back through the gate nonlinearities
            [
                di * cache.i * (1.0 - cache.i),
                df * cache.f * (1.0 - cache.f),
                dg * (1.0 - cache.g * cache.g),
                do * cache.o * (1.0 - cache.o),
            ],
            axis=1,
        )
        dparams = {
            "W_x": dz.T @ cache.x,  # (4H, I)
            "W_h": dz.T @ cache.h_prev,  # (4H, H)
            "b": dz.sum(axis=0),  # (4H,)
        }
        dh_prev = dz @ self.params["W_h"]  # (B, H)
        dc_prev = dc * cache.f  # (B, H)
        return np.concatenate([dh_prev, dc_prev], axis=1), dparams

    def next_state(self, cache: LSTMCache) -> np.ndarray:
        return np.concatenate([cache.h, cache.c], axis=1)

    def output(self, state: np.ndarray) -> np.ndarray:
        return state[:, : self.hidden_size]

    def output_grad(self, dh: np.ndarray) -> np.ndarray:
        return np.concatenate([dh, np.zeros_like(dh)], axis=1)
