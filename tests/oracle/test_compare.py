"""compare_gradients: errors per array against a tolerance suited to the dtype, and clear
messages when names or shapes do not match or an array is missing."""

from __future__ import annotations

import dataclasses
import warnings

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


@pytest.mark.parametrize("dtype, tolerance", [(np.float32, 1e-4), (np.float16, 5e-2)])
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
        "dc0",
    }
    assert "agree" in verdict.report() and verdict.missing == ()


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


# -- what is missing is said, and allowed only by name -----------------------------------------


def test_a_left_out_bias_is_an_error_unless_allowed_by_name(lstm):
    cell, result = lstm
    theirs = torch_named(cell, result, np.float32)
    del theirs["bias_hh"]
    with pytest.raises(
        ValueError, match=r"missing: bias_hh \(allow_missing=\('bias_hh',\) compares without them\)"
    ):
        mb.compare_gradients(result, theirs, cell=cell)
    verdict = mb.compare_gradients(result, theirs, cell=cell, allow_missing=("bias_hh",))
    assert verdict.ok and verdict.missing == ("bias_hh",)
    assert "bias_hh" not in {a.name for a in verdict.arrays}
    assert "not compared (allow_missing): bias_hh" in verdict.report()
    # our own name allows both of PyTorch's biases, which are two views of it
    del theirs["bias_ih"]
    verdict = mb.compare_gradients(result, theirs, cell=cell, allow_missing=["b"])
    assert verdict.ok and verdict.missing == ("bias_hh", "bias_ih")


def test_every_parameter_and_state_gradient_is_expected(lstm):
    cell, result = lstm
    full = torch_named(cell, result, np.float64)
    for name in full:
        theirs = {k: v for k, v in full.items() if k != name}
        said = "that is dh only" if name == "dc0" else f"missing: {name} "
        with pytest.raises(ValueError, match=said):
            mb.compare_gradients(result, theirs, cell=cell)
        assert mb.compare_gradients(result, theirs, cell=cell, allow_missing={name}).ok


def test_dh_without_dc_says_which_shapes_to_pass(lstm):
    cell, result = lstm
    H = cell.hidden_size
    theirs = torch_named(cell, result, np.float32)
    del theirs["dc0"]
    hint = (
        r"^gradient dh0 has shape \(2, 4\): that is dh only; pass dc0 too, or dh0 as "
        r"\[dh \| dc\] of shape \(2, 8\) \(or allow_missing=\('dc0',\) to compare dh alone\)$"
    )
    with pytest.raises(ValueError, match=hint):
        mb.compare_gradients(result, theirs, cell=cell)
    ours_named = {**result.grads, "dh0": result.dh0[:, :H]}  # the hint needs no cell
    with pytest.raises(ValueError, match=hint):
        mb.compare_gradients(result, ours_named)
    verdict = mb.compare_gradients(result, theirs, cell=cell, allow_missing=("dc0",))
    assert verdict.ok and verdict.missing == ("dc0",)
    theirs["dh0"] = theirs["dh0"] * np.float32(1.01)  # dh alone is still judged
    assert not mb.compare_gradients(result, theirs, cell=cell, allow_missing=("dc0",)).ok


def test_the_whole_state_with_dc_beside_it_says_which_shapes_to_pass(lstm):
    cell, result = lstm
    theirs = torch_named(cell, result, np.float64)
    theirs["dh0"] = result.dh0
    with pytest.raises(
        ValueError,
        match=r"got \(2, 8\) and \(2, 4\): dh0 is \[dh \| dc\]; pass it alone, or dh0 and dc0 "
        r"of shape \(2, 4\)$",
    ):
        mb.compare_gradients(result, theirs, cell=cell)
    del theirs["dc0"]
    verdict = mb.compare_gradients(result, theirs, cell=cell)  # [dh | dc] alone: one array
    assert verdict.ok and [a.name for a in verdict.arrays][-1] == "dh0"


def test_dc_alone_needs_dh_or_leave(lstm):
    cell, result = lstm
    theirs = torch_named(cell, result, np.float64)
    del theirs["dh0"]
    with pytest.raises(ValueError, match=r"missing: dh0 \(allow_missing=\('dh0',\)"):
        mb.compare_gradients(result, theirs, cell=cell)
    verdict = mb.compare_gradients(result, theirs, cell=cell, allow_missing=("dh0",))
    assert verdict.ok and verdict.missing == ("dh0",) and "dc0" in [a.name for a in verdict.arrays]


def test_dh_and_dc_are_judged_each_by_its_own_scale(lstm):
    cell, result = lstm
    H = cell.hidden_size
    theirs = torch_named(cell, result, np.float64)
    theirs["dc0"] = theirs["dc0"] + 2e-9 * np.abs(result.dh0[:, H:]).max()
    verdict = mb.compare_gradients(result, theirs, cell=cell)
    judged = {a.name: a for a in verdict.arrays}
    assert not judged["dc0"].ok and judged["dh0"].ok
    assert judged["dc0"].scale == np.abs(result.dh0[:, H:]).max()
    assert judged["dc0"].max_rel_error == judged["dc0"].max_abs_error / judged["dc0"].scale


def test_an_rnn_state_has_no_dc(lstm):
    cell, xs, h0, head = make_problem("rnn", 5, 2)
    result = mb.full_bptt(cell, xs, h0, head)
    theirs = {**result.grads, "dh0": result.dh0, "dc0": result.dh0}
    with pytest.raises(ValueError, match="unknown: dc0"):
        mb.compare_gradients(result, theirs)
    with pytest.raises(ValueError, match="allow_missing names 'dc0', not a gradient"):
        mb.compare_gradients(result, {**result.grads, "dh0": result.dh0}, allow_missing=["dc0"])


@pytest.mark.parametrize(
    "allow_missing, error, match",
    [
        ("bias_hh", TypeError, "got 'bias_hh'"),
        (b"b", TypeError, "got b'b'"),
        (None, TypeError, "got None"),
        (3, TypeError, "got 3"),
        ([1], TypeError, "got the item 1"),
        (("bias_xx",), ValueError, "allow_missing names 'bias_xx', not a gradient"),
        (("weight_hh",), ValueError, "allow_missing names 'weight_hh'"),  # PyTorch's: cell=
    ],
)
def test_an_allow_missing_that_is_not_names_other_may_hold_is_named(
    lstm, allow_missing, error, match
):
    cell, result = lstm
    theirs = {**result.grads, "dh0": result.dh0}
    with pytest.raises(error, match=match) as caught:
        mb.compare_gradients(result, theirs, allow_missing=allow_missing)
    assert str(caught.value).startswith("allow_missing")
    if error is TypeError:
        assert "a collection of gradient names such as ('bias_hh',)" in str(caught.value)
    else:
        assert "W_hh, W_xh, b, dc0, dh0" in str(caught.value)


# -- what "relative" means is said where the numbers are --------------------------------------


def test_the_verdict_says_relative_is_per_array(lstm):
    cell, result = lstm
    verdict = mb.compare_gradients(result, torch_named(cell, result, np.float32), cell=cell)
    meaning = "relative = max |ours - theirs| / max |ours| over the array"
    assert meaning in str(verdict) and str(verdict) == verdict.report()
    record = verdict.arrays[0]
    assert f"(of max |ours| {record.scale:.3e})" in str(record)
    assert record.max_rel_error == record.max_abs_error / record.scale
    for documented in (mb.GradientComparison, type(record), mb.compare_gradients):
        assert "max |ours - theirs| / max |ours|" in " ".join(documented.__doc__.split())


def test_the_old_record_name_answers_with_a_warning():
    from mini_bptt.oracle import compare

    with pytest.warns(DeprecationWarning, match="ArrayError is deprecated: it is ArrayComparison"):
        assert compare.ArrayError is compare.ArrayComparison
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            compare.NoSuchName  # noqa: B018


def test_ours_of_zeros_are_judged_by_the_absolute_error(lstm):
    cell, result = lstm
    zeros = dataclasses.replace(
        result, grads={k: np.zeros_like(v) for k, v in result.grads.items()}
    )
    theirs = {k: np.full_like(v, 1e-8) for k, v in zeros.grads.items()}
    verdict = mb.compare_gradients(zeros, {**theirs, "dh0": result.dh0})
    assert all(a.max_rel_error == a.max_abs_error == 1e-8 for a in verdict.arrays[:3])
    assert verdict.ok is False and verdict.arrays[0].scale == 0.0


# -- the float32 tolerance sits between a right float32 run and a half-precision sum -------------


def _bfloat16(array):
    """``array`` rounded to bfloat16 (to nearest even), kept as float32."""
    bits = np.asarray(array, np.float32).copy().view(np.uint32)
    bits += 0x7FFF + ((bits >> 16) & 1)
    bits &= 0xFFFF0000
    return bits.view(np.float32)


def _lstm_bptt_float32(cell, xs, h0, targets, accumulate):
    """Full BPTT of our LSTM (MSE head) written again in float32, its parameter gradients
    summed over steps through ``accumulate`` (the precision of the running sum)."""
    f, H = np.float32, cell.hidden_size
    Wx, Wh, b = (cell.params[k].astype(f) for k in ("W_xh", "W_hh", "b"))

    def sigmoid(z):
        return f(1) / (f(1) + np.exp(-z))

    h, c, caches = h0[:, :H].astype(f), h0[:, H:].astype(f), []
    for x in xs.astype(f):
        z = x @ Wx.T + h @ Wh.T + b
        i, g = sigmoid(z[:, :H]), np.tanh(z[:, 2 * H : 3 * H])
        forget, o = sigmoid(z[:, H : 2 * H]), sigmoid(z[:, 3 * H :])
        c_next = forget * c + i * g
        caches.append((x, h, c, i, forget, g, o, np.tanh(c_next)))
        h, c = o * np.tanh(c_next), c_next
    gWx, gWh, gb = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh, dc = np.zeros_like(h), np.zeros_like(c)
    for t in reversed(range(len(xs))):
        x, h_prev, c_prev, i, forget, g, o, tanh_c = caches[t]
        dh = dh + (o * tanh_c - targets[t].astype(f))
        dc = dc + dh * o * (f(1) - tanh_c * tanh_c)
        dz = np.concatenate(
            [
                dc * g * i * (f(1) - i),
                dc * c_prev * forget * (f(1) - forget),
                dc * i * (f(1) - g * g),
                dh * tanh_c * o * (f(1) - o),
            ],
            axis=1,
        )
        gWx, gWh = accumulate(gWx + dz.T @ x), accumulate(gWh + dz.T @ h_prev)
        gb = accumulate(gb + dz.sum(axis=0))
        dh, dc = dz @ Wh, dc * forget
    return {"W_xh": gWx, "W_hh": gWh, "b": gb, "dh0": np.concatenate([dh, dc], axis=1)}


@pytest.mark.parametrize(
    "accumulate, within",
    [
        (lambda a: a.astype(np.float32), True),
        (lambda a: a.astype(np.float16).astype(np.float32), False),
        (_bfloat16, False),
    ],
    ids=["float32", "float16 sum", "bfloat16 sum"],
)
def test_float32_default_tolerance_separates_right_from_half_precision_sums(accumulate, within):
    cell, rng = mb.LSTMCell(8, 16, seed=0), np.random.default_rng(0)
    xs, targets = rng.normal(size=(60, 4, 8)), rng.normal(size=(60, 4, 16))
    h0 = rng.normal(scale=0.5, size=(4, 32))
    ours = mb.full_bptt(cell, xs, h0, mb.MSEHead(targets))
    verdict = mb.compare_gradients(ours, _lstm_bptt_float32(cell, xs, h0, targets, accumulate))
    assert verdict.dtype == "float32" and verdict.tolerance == 1e-4
    parameters = [a.max_rel_error for a in verdict.arrays if a.name != "dh0"]
    if within:  # a right float32 run: a hundred times inside the tolerance
        assert verdict.ok and max(parameters) < verdict.tolerance / 100
    else:  # each parameter's half-precision sum: five times outside it
        assert not verdict.ok and min(parameters) > 5 * verdict.tolerance
