"""The cell and head size guard: a documented cap, ``array_bytes``, decides, not the host.

Every array a cell, head or state allocates from a size the user gives is counted against
``resource_limits(array_bytes=...)`` (default 2 GiB, env MINI_BPTT_ARRAY_BYTES) before
anything is allocated, so the same call gets the same verdict on every machine.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

import mini_bptt as mb
from mini_bptt.common import arguments, resources

LABELS = np.zeros((2, 1), dtype=int)
RNN, LSTM = mb.RNNCell(3, 4), mb.LSTMCell(3, 4)  # built before any limit is lowered

# what each build allocates, in float64 bytes: (build, bytes) at sizes where it is small
BUILDS = {
    "RNNCell(3, 4)": (lambda: mb.RNNCell(3, 4), 8 * 4 * (3 + 4 + 1)),
    "LSTMCell(3, 4)": (lambda: mb.LSTMCell(3, 4), 8 * 16 * (3 + 4 + 1)),
    "RNNCell.from_weights": (
        lambda: mb.RNNCell.from_weights(np.ones((4, 3)), np.eye(4)),
        8 * 4 * (3 + 4 + 1),
    ),
    "SoftmaxHead(3 classes, 4)": (lambda: mb.SoftmaxHead(LABELS, 3, 4), 8 * 3 * (4 + 1)),
    "RNNCell(3, 4).zero_state(5)": (lambda: RNN.zero_state(5), 8 * 5 * 4),
    "LSTMCell(3, 4).zero_state(5)": (lambda: LSTM.zero_state(5), 8 * 5 * 8),
}


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    """The documented default, whatever the environment running the tests says."""
    monkeypatch.delenv("MINI_BPTT_ARRAY_BYTES", raising=False)


@pytest.mark.parametrize("free", [2**20, 2**40], ids=["1 MiB free", "1 TiB free"])
def test_a_billion_wide_cell_is_refused_at_once_on_any_host(monkeypatch, free):
    monkeypatch.setattr(arguments, "available_memory", lambda: free)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(mb.ResourceLimitError) as caught:
            mb.RNNCell(1_000_000_000, 2)  # 14.9 GiB of weights: a typo, not a model
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1 and peak < 2**20  # refused before allocating
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and "\n" not in message
    assert message.startswith("RNNCell(input_size=1000000000, hidden_size=2) would need 14.9 GiB")
    assert "over the limit of 2 GiB" in message and "array_bytes" in message


@pytest.mark.parametrize("free", [2**20, 2**40], ids=["1 MiB free", "1 TiB free"])
def test_a_cell_under_the_cap_is_built_on_any_host(monkeypatch, free):
    monkeypatch.setattr(arguments, "available_memory", lambda: free)
    cell = mb.LSTMCell(300, 200)  # 1.6 MB, more than the 1 MiB said to be free
    assert cell.params["W_xh"].shape == (800, 300)


def test_the_default_cap_is_the_documented_2_gib():
    assert resources.current().array_bytes == 2 * 2**30
    with pytest.raises(mb.ResourceLimitError, match="2 GiB"):
        mb.RNNCell(2**28, 1)  # 8 * (2**28 + 1 + 1) bytes: 2 GiB + 16


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_each_build_is_refused_one_byte_under_its_size_and_built_at_it(name):
    build, nbytes = BUILDS[name]
    with mb.resource_limits(array_bytes=nbytes):
        built = build()
    arrays = [built] if isinstance(built, np.ndarray) else list(built.params.values())
    assert sum(a.nbytes for a in arrays) == nbytes  # the estimate is what is allocated
    with mb.resource_limits(array_bytes=nbytes - 1), pytest.raises(mb.ResourceLimitError) as err:
        build()
    assert f"over the limit of {nbytes - 1} bytes" in str(err.value)


@pytest.mark.parametrize(
    "build, names",
    [
        (lambda: mb.RNNCell(2000, 3), "RNNCell(input_size=2000, hidden_size=3)"),
        (lambda: mb.LSTMCell(5, 400), "LSTMCell(input_size=5, hidden_size=400)"),
        (lambda: mb.LSTMCell(np.int64(5), np.uint16(400)), "LSTMCell(input_size=5, hidden_size="),
        (lambda: RNN.zero_state(10**4), "a state of batch=10000, state_size=4"),
        (lambda: mb.SoftmaxHead(LABELS, 10**4, 4), "SoftmaxHead(num_classes=10000, hidden_size=4)"),
        (
            lambda: mb.LSTMCell.from_weights(np.ones((400, 300)), np.ones((400, 100))),
            "LSTMCell(input_size=300, hidden_size=100)",
        ),
    ],
)
def test_a_refusal_names_the_sizes_asked_for(build, names):
    with mb.resource_limits(array_bytes=10_000), pytest.raises(mb.ResourceLimitError) as err:
        build()
    message = str(err.value)
    assert message.startswith(names) and "\n" not in message
    assert "over the limit of 9.77 KiB" in message


def test_a_lowered_cap_refuses_a_small_cell_and_admits_a_smaller_one():
    with mb.resource_limits(array_bytes=4096):
        with pytest.raises(mb.ResourceLimitError, match="hidden_size=20"):
            mb.RNNCell(10, 20)  # 8 * 20 * (10 + 20 + 1) = 4960 bytes
        assert mb.RNNCell(10, 16).hidden_size == 16  # 3456 bytes
    assert mb.RNNCell(10, 20).hidden_size == 20  # the block's limit ends with it


def test_the_environment_sets_the_cap_for_a_process(monkeypatch):
    monkeypatch.setenv("MINI_BPTT_ARRAY_BYTES", "4096")
    with pytest.raises(mb.ResourceLimitError, match="MINI_BPTT_ARRAY_BYTES"):
        mb.RNNCell(10, 20)
    assert mb.RNNCell(10, 16).hidden_size == 16


def test_alpha_of_a_cell_at_the_cap_is_measured_within_it():
    with mb.resource_limits(array_bytes=8 * 16 * 8):  # LSTMCell(3, 4)'s weights exactly
        assert mb.LSTMCell(3, 4).alpha == 4.5  # its state of batch 1 is smaller still


def test_weights_of_another_dtype_are_refused_before_their_float64_copy_is_made():
    weight_ih = np.ones((4000, 3000), dtype=np.float16)  # 24 MB here, 96 MB as float64
    weight_hh = np.ones((4000, 1000), dtype=np.float16)
    tracemalloc.start()
    try:
        with mb.resource_limits(array_bytes=10_000), pytest.raises(mb.ResourceLimitError) as err:
            mb.LSTMCell.from_weights(weight_ih, weight_hh)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak
    assert str(err.value).startswith("weight_ih of shape (4000, 3000) as float64 (from float16)")


def test_float64_weights_are_copied_once_into_the_cell():
    weight_ih, weight_hh = np.ones((16, 300)), np.ones((16, 4))
    tracemalloc.start()
    try:
        cell = mb.LSTMCell.from_weights(weight_ih, weight_hh)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = sum(a.nbytes for a in cell.params.values())
    # the constructor's own weights, then one copy of weight_ih (a second would be 38 KB)
    assert peak < held + weight_ih.nbytes + 8_000, peak
    assert cell.params["W_xh"] is not weight_ih and np.array_equal(cell.params["W_xh"], weight_ih)
