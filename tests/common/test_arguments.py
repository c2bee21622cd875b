"""Argument checks: counts and decimal text read as users write them, bad ones named."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.common import arguments


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
