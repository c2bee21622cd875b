"""The resource limits: named refusals of bad values, from Python and from the environment."""

from __future__ import annotations

import time

import numpy as np
import pytest

import mini_bptt as mb
from mini_bptt.common.resources import DEFAULT_ACTIONS, current, default_limits


@pytest.mark.parametrize(
    "changes, error, words",
    [
        ({"tables": 1}, TypeError, "resource_limits takes table_bytes, seconds"),
        ({"seconds": 0}, ValueError, "seconds must be a positive number, got 0"),
        ({"seconds": float("nan")}, ValueError, "seconds must be a positive number, got nan"),
        ({"actions": -1}, ValueError, "actions must be a positive integer, got -1"),
        ({"actions": 0.5}, TypeError, "actions must be a positive integer, got 0.5"),
        ({"actions": True}, TypeError, "actions must be a positive number, got True"),
        ({"input_bytes": "1"}, TypeError, "input_bytes must be a positive integer, got '1'"),
    ],
)
def test_a_bad_limit_is_refused_naming_it(changes, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(")), mb.resource_limits(**changes):
        pass


def test_numpy_integers_and_reals_are_limits():
    with mb.resource_limits(actions=np.int64(5), seconds=np.float32(2.5), table_bytes=np.uint32(9)):
        assert (current().actions, current().seconds, current().table_bytes) == (5, 2.5, 9)
        assert type(current().actions) is int


@pytest.mark.parametrize(
    "text, error",
    [
        ("0.5", "must be a positive integer"),
        ("0", "must be a positive integer"),
        ("-3", "must be a positive integer"),
        ("lots", "must be a decimal number"),
        ("1e99999999", "must be a decimal number"),
        ("nan", "must be a decimal number"),
    ],
)
def test_a_bad_environment_limit_is_refused_naming_the_variable(monkeypatch, text, error):
    monkeypatch.setenv("MINI_BPTT_ACTIONS", text)
    started = time.perf_counter()
    with pytest.raises(ValueError, match=f"MINI_BPTT_ACTIONS.*{error}|{error}.*MINI_BPTT_ACTIONS"):
        default_limits()
    assert time.perf_counter() - started < 1


def test_environment_limits_are_read_in_decimal_notation(monkeypatch):
    monkeypatch.setenv("MINI_BPTT_TABLE_BYTES", "4e8")
    monkeypatch.setenv("MINI_BPTT_SECONDS", "2.5")
    monkeypatch.delenv("MINI_BPTT_ACTIONS", raising=False)
    limits = default_limits()
    assert (limits.table_bytes, limits.seconds, limits.actions) == (4 * 10**8, 2.5, DEFAULT_ACTIONS)
