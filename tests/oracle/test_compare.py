"""compare_gradients: errors per array against a tolerance suited to the dtype, and clear
messages when names or shapes do not match."""

from __future__ import annotations

import dataclasses

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
    with pytest.raises(ValueError, match="missing: W_hh, b, dh0"):
        mb.compare_gradients(result, {"W_xh": result.grads["W_xh"]})
    with pytest.raises(ValueError, match="unknown: bias_hh, bias_ih, weight_hh, weight_ih"):
        mb.compare_gradients(result, torch_named(cell, result, np.float64))
    other = {**result.grads, "dh0": result.dh0[:1]}
    with pytest.raises(ValueError, match=r"gradient dh0 has shape \(1, 8\), ours \(2, 8\)"):
        mb.compare_gradients(result, other)
    other = {**result.grads, "dh0": result.dh0.astype(int)}
    with pytest.raises(TypeError, match="gradient dh0 must be floating point"):
        mb.compare_gradients(result, other)


# -- arguments: every bad one gets one line naming it ------------------------------------------


@pytest.mark.parametrize(
    "tolerance, error",
    [
        (-1, ValueError),
        (-1e-300, ValueError),
        (float("nan"), ValueError),
        (np.float32("nan"), ValueError),
        (float("inf"), ValueError),
        (-float("inf"), ValueError),
        pytest.param(10**400, ValueError, id="10**400"),  # a finite int past any float
        ("1e-3", TypeError),
        (True, TypeError),
        (np.bool_(False), TypeError),
        (1j, TypeError),
        ([1e-3], TypeError),
    ],
)
def test_a_tolerance_that_is_not_a_finite_real_at_least_zero_is_named(lstm, tolerance, error):
    cell, result = lstm
    theirs = {**result.grads, "dh0": result.dh0}
    with pytest.raises(error, match=r"^tolerance must be a finite real number >= 0 .*, got "):
        mb.compare_gradients(result, theirs, tolerance=tolerance)


@pytest.mark.parametrize("tolerance", [0, 0.0, 1e-3, np.float32(1e-3), np.int64(1)])
def test_a_finite_tolerance_at_least_zero_is_used_as_given(lstm, tolerance):
    cell, result = lstm
    theirs = {k: v.astype(np.float32) for k, v in {**result.grads, "dh0": result.dh0}.items()}
    verdict = mb.compare_gradients(result, theirs, tolerance=tolerance)
    assert verdict.tolerance == float(tolerance) and isinstance(verdict.tolerance, float)
    assert verdict.ok == (tolerance >= np.finfo(np.float32).eps)  # float32 rounding is > 0


@pytest.mark.parametrize(
    "other, match",
    [
        (None, "other must be a mapping of gradient names to arrays, got NoneType"),
        (5, "other must be a mapping of gradient names to arrays, got int"),
        ([("dh0", np.zeros(2))], "other must be a mapping of gradient names to arrays, got list"),
        ("W_xh", "other must be a mapping of gradient names to arrays, got str"),
        ({1: np.zeros(2)}, r"other must map gradient names \(str\) to arrays, got the key 1"),
        ({"dh0": None}, "gradient dh0 must be floating point, got object"),
        ({"dh0": [[1.0], [1.0, 2.0]]}, "gradient dh0 must be an array of floats"),
        ({"dh0": "0.5"}, "gradient dh0 must be floating point, got <U3"),
        ({"dh0": np.zeros(2, complex)}, "gradient dh0 must be floating point, got complex128"),
    ],
)
def test_other_that_is_not_a_mapping_of_float_arrays_is_named(lstm, other, match):
    cell, result = lstm
    with pytest.raises(TypeError, match=match) as caught:
        mb.compare_gradients(result, other)
    assert "\n" not in str(caught.value)


def test_a_result_that_is_not_a_result_is_named(lstm):
    cell, result = lstm
    theirs = {**result.grads, "dh0": result.dh0}
    for reference in (theirs, None, 1.5):
        with pytest.raises(TypeError, match="^result must be a mini_bptt Result .*, got "):
            mb.compare_gradients(reference, theirs)
    broken = dataclasses.replace(result, grads=[("W_xh", result.grads["W_xh"])])
    with pytest.raises(
        TypeError, match="^result must hold grads, a mapping .* got grads of type list"
    ):
        mb.compare_gradients(broken, theirs)
    broken = dataclasses.replace(result, grads={**result.grads, "b": None})
    with pytest.raises(TypeError, match="^result must hold grads, a mapping of names to numpy"):
        mb.compare_gradients(broken, theirs)


def test_a_cell_that_is_not_the_results_kind_is_named(lstm):
    cell, result = lstm
    theirs = torch_named(cell, result, np.float32)
    with pytest.raises(TypeError, match="^cell must be a mini_bptt Cell or None, got str"):
        mb.compare_gradients(result, theirs, cell="lstm")
    mismatch = (
        r"^cell is a RNNCell \(gradients W_hh \(4, 4\), .*\), but result's gradients are W_hh \("
    )
    with pytest.raises(ValueError, match=mismatch):
        mb.compare_gradients(result, theirs, cell=mb.RNNCell(3, 4))


def test_dc0_is_judged_by_its_own_dtype_before_it_is_joined_to_dh0(lstm):
    cell, result = lstm
    theirs = torch_named(cell, result, np.float64)
    theirs["dc0"] = theirs["dc0"].astype(int)  # joined to a float dh0 it would become float
    with pytest.raises(TypeError, match="gradient dc0 must be floating point, got int64"):
        mb.compare_gradients(result, theirs, cell=cell)
    theirs["dc0"] = result.dh0[:, cell.hidden_size :].astype(np.float16)
    verdict = mb.compare_gradients(result, theirs, cell=cell)
    assert verdict.dtype == "float16" and verdict.tolerance == 5e-2
    with pytest.raises(ValueError, match=r"dh0 and dc0 must have one shape .* got \(\) and \(\)"):
        mb.compare_gradients(result, {**theirs, "dh0": np.float64(0), "dc0": np.float64(0)})
