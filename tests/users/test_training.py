"""Training helpers: Adam and global-norm clipping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mini_bptt.training import Adam, clip_gradients
from tests.helpers import examples

finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=examples(100), deadline=None)
@given(
    a=arrays(np.float64, (3, 2), elements=finite),
    b=arrays(np.float64, 4, elements=finite),
    max_norm=st.floats(1e-3, 1e3),
)
def test_clipping_bounds_the_global_norm_and_keeps_the_direction(a, b, max_norm):
    grads = {"a": a.copy(), "b": b.copy()}
    before = np.sqrt(np.sum(a * a) + np.sum(b * b))
    assert clip_gradients(grads, max_norm) == pytest.approx(before)
    after = np.sqrt(np.sum(grads["a"] ** 2) + np.sum(grads["b"] ** 2))
    assert after <= max_norm * (1 + 1e-12)
    scale = min(1.0, max_norm / before) if before else 1.0
    assert np.allclose(grads["a"], a * scale) and np.allclose(grads["b"], b * scale)


def test_adam_first_step_moves_each_weight_by_lr_against_its_gradient_sign():
    params = {"w": np.array([1.0, -2.0, 3.0])}
    Adam(params, lr=0.1).step({"w": np.array([0.5, -4.0, 1e-3])})
    assert np.allclose(params["w"], [0.9, -1.9, 2.9], atol=1e-6)


def test_adam_minimises_a_quadratic():
    target = np.array([3.0, -1.0, 0.5])
    params = {"w": np.zeros(3)}
    optimizer = Adam(params, lr=0.05)
    for _ in range(2000):
        optimizer.step({"w": 2 * (params["w"] - target)})
    assert np.allclose(params["w"], target, atol=1e-3)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="max_norm"):
        clip_gradients({"a": np.ones(2)}, 0)
    with pytest.raises(ValueError, match="lr"):
        Adam({"w": np.ones(2)}, lr=-1)
    with pytest.raises(ValueError, match="grads lacks"):
        Adam({"w": np.ones(2)}).step({})
