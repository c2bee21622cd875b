"""The resource limits: named refusals of bad values, from Python and from the environment,
and counts and decimal text read as users write them."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.common import arguments
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


@given(st.integers(1, arguments.MAX_COUNT))
def test_any_integer_type_is_a_count(value):
    assert arguments.count("steps", value) == value
    if value < 2**63:
        assert arguments.count("steps", np.int64(value)) == value


@pytest.mark.parametrize(
    "value, error, words",
    [
        (True, TypeError, "steps must be an integer >= 1, got True"),
        (np.bool_(True), TypeError, "steps must be an integer >= 1"),
        (2.0, TypeError, "steps must be an integer >= 1, got 2.0"),
        ("3", TypeError, "steps must be an integer >= 1, got '3'"),
        (0, ValueError, "steps must be an integer >= 1, got 0"),
        (10**101, mb.ResourceLimitError, "steps must be an integer from 1 to 1.00e\\+100"),
        (10**5000, mb.ResourceLimitError, "got an integer of about 10\\*\\*5000"),
    ],
    ids=["True", "numpy True", "2.0", "'3'", "0", "10**101", "10**5000"],
)
def test_a_bad_count_is_refused_naming_it(value, error, words):
    started = time.perf_counter()
    with pytest.raises(error, match=words):
        arguments.count("steps", value)
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    "text, value",
    [
        ("12", 12),
        ("4.5", Fraction(9, 2)),
        ("1e3", 1000),
        ("-2.5e-1", Fraction(-1, 4)),
        (" 7/3 ", Fraction(7, 3)),
        (".5", Fraction(1, 2)),
        ("1E400", 10**400),
    ],
)
def test_decimal_text_is_read_exactly(text, value):
    assert arguments.parse_decimal("memory", text) == value


@pytest.mark.parametrize(
    "text", ["1e99999999", "1e-99999999", "9" * 101, "1/0", "nan", "inf", "0x10", "1e", "", "5%"]
)
def test_decimal_text_past_the_bounds_is_refused_at_once(text):
    started = time.perf_counter()
    with pytest.raises(ValueError, match="^memory must be a decimal number"):
        arguments.parse_decimal("memory", text)
    assert time.perf_counter() - started < 0.1
