"""Weights in PyTorch's layout (torch.nn.RNNCell / torch.nn.LSTMCell) go in and come back.

The forward below is PyTorch's documented LSTMCell / RNNCell written out independently
(gates i, f, g, o in that order, two biases), so the layout claim is checked without torch;
tests/oracle/test_pytorch_example.py checks it against torch itself where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import mini_bptt as mb

H, I, B = 5, 3, 2


def torch_lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = np.split(gates, 4, axis=1)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    c_next = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c_next), c_next


def torch_rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return np.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)


def torch_weights(gates: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "weight_ih": rng.normal(size=(gates * H, I)),
        "weight_hh": rng.normal(size=(gates * H, H)),
        "bias_ih": rng.normal(size=gates * H),
        "bias_hh": rng.normal(size=gates * H),
    }


def test_lstm_follows_torchs_layout():
    weights = torch_weights(4)
    cell = mb.LSTMCell.from_weights(**weights)
    rng = np.random.default_rng(1)
    x, h, c = rng.normal(size=(B, I)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    state, _ = cell.forward(np.concatenate([h, c], axis=1), x)
    h_next, c_next = torch_lstm_cell(x, h, c, **weights)
    np.testing.assert_allclose(state[:, :H], h_next, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(state[:, H:], c_next, rtol=1e-13, atol=1e-14)


def test_rnn_follows_torchs_layout():
    weights = torch_weights(1)
    cell = mb.RNNCell.from_weights(**weights)
    rng = np.random.default_rng(1)
    x, h = rng.normal(size=(B, I)), rng.normal(size=(B, H))
    state, _ = cell.forward(h, x)
    np.testing.assert_allclose(state, torch_rnn_cell(x, h, **weights), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("cls, gates", [(mb.RNNCell, 1), (mb.LSTMCell, 4)])
def test_weights_round_trip(cls, gates):
    weights = torch_weights(gates)
    cell = cls.from_weights(**{k: v.astype(np.float32) for k, v in weights.items()})
    assert (cell.input_size, cell.hidden_size) == (I, H)
    back = cell.weights()
    assert np.array_equal(back["weight_ih"], weights["weight_ih"].astype(np.float32))
    assert np.array_equal(back["weight_hh"], weights["weight_hh"].astype(np.float32))
    expected_b = weights["bias_ih"].astype(np.float32).astype(np.float64) + weights[
        "bias_hh"
    ].astype(np.float32).astype(np.float64)
    assert np.array_equal(back["bias_ih"] + back["bias_hh"], expected_b)
    again = cls.from_weights(**back)
    assert all(np.array_equal(again.params[k], cell.params[k]) for k in cell.params)
    assert all(a.dtype == np.float64 for a in cell.params.values())


@pytest.mark.parametrize(
    "change, error, named",
    [
        ({"weight_ih": np.zeros((6, 3))}, ValueError, "weight_ih must have shape"),
        ({"weight_hh": np.zeros((20, 4))}, ValueError, "weight_hh must have shape"),
        ({"bias_hh": np.zeros(7)}, ValueError, "bias_hh must have shape"),
        ({"bias_ih": np.full(20, np.nan)}, ValueError, "bias_ih contains non-finite"),
        ({"weight_ih": "weights"}, TypeError, "weight_ih must be an array of numbers"),
    ],
)
def test_bad_weights_are_named(change, error, named):
    weights = {**torch_weights(4), **change}
    with pytest.raises(error, match=named):
        mb.LSTMCell.from_weights(**weights)
