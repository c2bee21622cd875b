"""compare_gradients: errors per array against a tolerance suited to the dtype, and clear
messages when names or shapes do not match."""

from __future__ import annotations

import numpy as np
import pytest

import mini_bptt as mb
from tests.helpers import make_problem


@pytest.fixture(scope="module")
def lstm():
    cell, xs, h0, head = make_problem("lstm", 12, 2)
    return cell, mb.full_bptt(cell, xs, h0, head)


def torch_named(cell, result, dtype):
    grads = {cell.torch_name(k): v.astype(dtype) for k, v in result.grads.items()}
    grads["bias_hh"] = result.grads["b"].astype(dtype)
    H = cell.hidden_size
    return {**grads, "dh0": result.dh0[:, :H].astype(dtype), "dc0": result.dh0[:, H:].astype(dtype)}


def test_our_own_gradients_agree_exactly(lstm):
    cell, result = lstm
    verdict = mb.compare_gradients(result, {**result.grads, "dh0": result.dh0})
    assert verdict.ok and verdict.dtype == "float64"
    assert all(a.max_abs_error == 0 for a in verdict.arrays)


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 1e-3), (np.float16, 5e-2)])
def test_rounded_gradients_are_judged_by_their_precision(lstm, dtype, tolerance):
    cell, result = lstm
    verdict = mb.compare_gradients(result, torch_named(cell, result, dtype), cell=cell)
    assert verdict.ok and verdict.tolerance == tolerance
    eps = np.finfo(dtype).eps
    assert all(a.max_rel_error <= eps for a in verdict.arrays)  # one rounding each
    assert {a.name for a in verdict.arrays} == {
        "weight_ih",
        "weight_hh",
        "bias_ih",
        "bias_hh",
        "dh0",
    }
    assert "agree" in verdict.report()


def test_a_wrong_gradient_is_found_and_named(lstm):
    cell, result = lstm
    other = torch_named(cell, result, np.float32)
    other["weight_hh"] = other["weight_hh"] * np.float32(1.01)
    verdict = mb.compare_gradients(result, other, cell=cell)
    assert not verdict.ok
    bad = [a.name for a in verdict.arrays if not a.ok]
    assert bad == ["weight_hh"]
    assert "DISAGREE" in verdict.report()


def test_names_and_shapes_that_do_not_match_are_explained(lstm):
    cell, result = lstm
    with pytest.raises(ValueError, match="missing: W_h, b, dh0"):
        mb.compare_gradients(result, {"W_x": result.grads["W_x"]})
    with pytest.raises(ValueError, match="unknown: bias_hh, bias_ih, weight_hh, weight_ih"):
        mb.compare_gradients(result, torch_named(cell, result, np.float64))
    other = {**result.grads, "dh0": result.dh0[:1]}
    with pytest.raises(ValueError, match=r"gradient dh0 has shape \(1, 8\), ours \(2, 8\)"):
        mb.compare_gradients(result, other)
    other = {**result.grads, "dh0": result.dh0.astype(int)}
    with pytest.raises(TypeError, match="gradient dh0 must be floating point"):
        mb.compare_gradients(result, other)
