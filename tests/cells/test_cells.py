"""Cells, heads and full BPTT: finite differences for every hand-written backward."""

from __future__ import annotations

import numpy as np
import pytest

import mini_bptt as mb
from tests.helpers import CELLS, forward_loss, make_problem

EPS = 1e-6


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||) over one gradient array."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


def numeric_gradient(f, array: np.ndarray) -> np.ndarray:
    """Central differences of f() with respect to ``array``, perturbed in place."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + EPS
        plus = f()
        array[index] = saved - EPS
        minus = f()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * EPS)
    return grad


@pytest.mark.parametrize("head_name", ["mse", "softmax"])
@pytest.mark.parametrize("cell_name", ["rnn", "lstm"])
@pytest.mark.parametrize("batch", [1, 2, 3])
@pytest.mark.parametrize("steps", range(1, 9))
def test_every_gradient_matches_central_differences(cell_name, head_name, batch, steps):
    cell, xs, h0, head = make_problem(cell_name, steps, batch, head_name, seed=steps + 10 * batch)
    result = mb.full_bptt(cell, xs, h0, head)

    def loss() -> float:
        return forward_loss(cell, xs, h0, head)

    assert result.loss == pytest.approx(loss(), rel=1e-12)
    arrays = {**cell.params, **head.params, "dh0": h0}
    for name, array in arrays.items():
        analytic = result.dh0 if name == "dh0" else result.grads[name]
        numeric = numeric_gradient(loss, array)
        assert np.linalg.norm(numeric) > 0 or name in ("b_y",)  # the check is not vacuous
        assert relative_error(analytic, numeric) < 1e-6, name


@pytest.mark.parametrize("cell_name, alpha", [("rnn", 2.0), ("lstm", 4.5)])
def test_alpha_is_measured_from_the_cache(cell_name, alpha):
    cell = CELLS[cell_name](5, 7)
    state = cell.zero_state(3)
    _, cache = cell.forward(state, np.zeros((3, 5)))
    counted = sum(a.size for name, a in zip(cache._fields, cache, strict=False) if name != "x")
    assert cell.alpha == counted / state.size == alpha


@pytest.mark.parametrize("cell_name", ["rnn", "lstm"])
def test_cells_keep_nothing_between_calls(cell_name):
    cell, xs, h0, _ = make_problem(cell_name, 1, 2)
    before = dict(vars(cell))
    state, cache = cell.forward(h0, xs[0])
    cell.backward(cache, np.ones_like(state))
    assert vars(cell).keys() == before.keys()
    assert all(vars(cell)[k] is before[k] for k in before)


@pytest.mark.parametrize("cell_name", ["rnn", "lstm"])
def test_next_state_in_cache_equals_the_forward_output(cell_name):
    cell, xs, h0, _ = make_problem(cell_name, 1, 3)
    state, cache = cell.forward(h0, xs[0])
    assert np.array_equal(cell.next_state(cache), state)


@pytest.mark.parametrize("cell_name", ["rnn", "lstm"])
def test_full_bptt_accounting(cell_name):
    cell, xs, h0, head = make_problem(cell_name, 7, 2)
    result = mb.full_bptt(cell, xs, h0, head)
    assert result.forward_count == result.backward_count == 7
    assert result.peak_memory == 1 + cell.alpha * 6
    assert result.peak_bytes == result.peak_memory * h0.nbytes


def test_seeded_initialisation_is_reproducible():
    a, b, c = mb.LSTMCell(3, 4, seed=5), mb.LSTMCell(3, 4, seed=5), mb.LSTMCell(3, 4, seed=6)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W_xh"], c.params["W_xh"])
    assert np.all(a.params["b"][4:8] == 1.0)  # forget-gate bias


# -- bad input: every error names the argument -------------------------------------------------


@pytest.mark.parametrize(
    "make, error, name",
    [
        (lambda: mb.RNNCell(-1, 4), ValueError, "input_size"),
        (lambda: mb.RNNCell(3, 0), ValueError, "hidden_size"),
        (lambda: mb.LSTMCell(3.5, 4), TypeError, "input_size"),
        (lambda: mb.LSTMCell(3, True), TypeError, "hidden_size"),
        (lambda: mb.RNNCell(3, 4).zero_state(0), ValueError, "batch"),
        (lambda: mb.MSEHead(np.zeros((2, 3))), ValueError, "targets"),
        (lambda: mb.MSEHead(np.zeros((2, 3, 4), dtype=np.float32)), TypeError, "targets"),
        (lambda: mb.MSEHead(np.full((2, 3, 4), np.nan)), ValueError, "targets"),
        (lambda: mb.SoftmaxHead(np.zeros((2, 3)), 3, 4), TypeError, "labels"),
        (lambda: mb.SoftmaxHead(np.full((2, 3), 5), 3, 4), ValueError, "labels"),
        (lambda: mb.SoftmaxHead(np.zeros((2, 3), dtype=int), 1, 4), ValueError, "num_classes"),
    ],
)
def test_bad_constructor_arguments_are_named(make, error, name):
    with pytest.raises(error, match=name):
        make()


def _bad_runs():
    cell, xs, h0, head = make_problem("lstm", 4, 2)
    return [
        (cell, xs[0], h0, head, ValueError, "xs"),
        (cell, xs.astype(np.float32), h0, head, TypeError, "xs"),
        (cell, xs.tolist(), h0, head, ValueError, "xs"),
        (cell, np.where(xs > 1, np.inf, xs), h0, head, ValueError, "xs"),
        (cell, xs[:, :, :2].copy(), h0, head, ValueError, "xs"),
        (cell, xs, h0[:, :3].copy(), head, ValueError, "h0"),
        (cell, xs, h0.astype(np.int64), head, TypeError, "h0"),
        (cell, xs, np.full_like(h0, np.nan), head, ValueError, "h0"),
        (cell, xs[:3].copy(), h0, head, ValueError, "targets"),
    ]


@pytest.mark.parametrize("cell, xs, h0, head, error, name", _bad_runs())
def test_bad_run_arguments_are_named(cell, xs, h0, head, error, name):
    with pytest.raises(error, match=name):
        mb.full_bptt(cell, xs, h0, head)


class OneBackwardRNN(mb.RNNCell):
    """A cell written the plain way: ``backward`` returns this step's gradients, and the
    base class supplies ``backward_into`` and the shortcuts."""

    backward_into = mb.cells.base.Cell.backward_into
    output_of = mb.cells.base.Cell.output_of
    add_output_grad = mb.cells.base.Cell.add_output_grad

    def backward(self, cache, dstate_next):
        da = dstate_next * (1.0 - cache.h * cache.h)
        grads = {"W_xh": da.T @ cache.x, "W_hh": da.T @ cache.h_prev, "b": da.sum(axis=0)}
        return da @ self.params["W_hh"], grads


def test_a_cell_with_only_backward_runs_and_equals_its_in_place_twin():
    cell, xs, h0, head = make_problem("rnn", 12, 3, seed=4)
    plain = OneBackwardRNN(cell.input_size, cell.hidden_size, seed=4)
    plain.params = {name: p.copy() for name, p in cell.params.items()}
    plan = mb.plan(12, 4, alpha=plain.alpha)
    ran, full = mb.execute(plan, plain, xs, h0, head), mb.full_bptt(plain, xs, h0, head)
    assert all(np.array_equal(ran.grads[k], full.grads[k]) for k in full.grads)
    twin = mb.full_bptt(cell, xs, h0, head)  # in-place accumulation, blocked products
    assert all(np.allclose(twin.grads[k], full.grads[k], rtol=1e-12) for k in full.grads)
    assert np.array_equal(twin.dh0, full.dh0)


def test_a_cell_with_neither_backward_method_says_so():
    class NoBackward(mb.cells.base.Cell):
        GATES = 1

    cell = NoBackward(2, 2)
    with pytest.raises(NotImplementedError, match="NoBackward defines neither backward"):
        cell.backward(None, None)
    with pytest.raises(NotImplementedError, match="NoBackward defines neither backward"):
        cell.backward_into(None, None, {})


def test_any_class_with_the_head_protocol_is_a_head():
    class Half(mb.MSEHead):
        pass

    class Bare:  # not derived from any mini_bptt class
        params: dict = {}

        def check(self, steps, batch, hidden_size):
            pass

        def loss_and_grads(self, index, h):
            return 0.5 * float(np.sum(h * h)), h, {}

    cell = mb.RNNCell(3, 4, seed=0)
    xs, h0 = np.ones((5, 2, 3)), np.zeros((2, 4))
    assert isinstance(Bare(), mb.Head) and isinstance(Half(np.zeros((5, 2, 4))), mb.Head)
    assert not isinstance(object(), mb.Head) and issubclass(mb.RNNCell, mb.Cell)
    same = mb.full_bptt(cell, xs, h0, Bare())
    reference = mb.full_bptt(cell, xs, h0, Half(np.zeros((5, 2, 4))))
    assert same.loss == reference.loss
    assert all(np.array_equal(same.grads[k], reference.grads[k]) for k in reference.grads)


def test_every_cell_names_its_weights_alike_and_old_lstm_names_warn():
    for cell in (mb.RNNCell(3, 4, seed=0), mb.LSTMCell(3, 4, seed=0)):
        assert set(cell.params) == {"W_xh", "W_hh", "b"}
    lstm = mb.LSTMCell(3, 4, seed=0)
    xs, h0 = np.ones((2, 1, 3)), lstm.zero_state(1)
    result = mb.full_bptt(lstm, xs, h0, mb.MSEHead(np.zeros((2, 1, 4))))
    for old, current in (("W_x", "W_xh"), ("W_h", "W_hh")):
        with pytest.warns(DeprecationWarning, match=f"'{old}' is deprecated: .*'{current}'"):
            assert lstm.params[old] is lstm.params[current]
        with pytest.warns(DeprecationWarning):
            assert result.grads[old] is result.grads[current]
    with pytest.raises(KeyError):
        lstm.params["W_y"]
