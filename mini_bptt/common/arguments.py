"""Argument validation shared by the public entry points: errors are raised at the boundary."""

from __future__ import annotations

import math
import numbers
import operator
import re
from fractions import Fraction

import numpy as np


def available_memory() -> int:
    """Bytes the machine has available now (``MemAvailable``), or 8 GiB if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 8 * 2**30


def rng(seed: object) -> np.random.Generator:
    """NumPy's generator for ``seed``, an integer >= 0."""
    return np.random.default_rng(positive_int("seed", seed, minimum=0))


def finite_real(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise naming ``name`` unless it is a finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not is_finite(value):
        raise TypeError(f"{name} must be a finite real number, got {shown(value)}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be a finite float, got {shown(value)}") from None


# Counts past this are refused by magnitude before anything formats them: far beyond any
# sequence a closed form is asked about (10**30 steps answers in microseconds), and below
# Python's 4300-digit limit on turning integers into text.
MAX_COUNT = 10**100
# Decimal text longer than this, or with an exponent past MAX_EXPONENT, is refused before a
# Fraction is built: Fraction("1e99999999") would build a hundred-million-digit integer.
MAX_DECIMAL_LENGTH = 100
MAX_EXPONENT = 400
_DECIMAL = re.compile(
    r"(?P<mantissa>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE](?P<exponent>[+-]?\d+))?"
    r"|(?P<numerator>[+-]?\d+)/(?P<denominator>\d+)",
    re.ASCII,  # digits 0-9 only: no other script's digits pass for a number
)


class ResourceLimitError(ValueError):
    """A request would need more memory, time, actions or input than the limits allow, or a
    count past ``MAX_COUNT``."""

    __module__ = "mini_bptt"  # where users import it from, and what tracebacks show


def shown(value: object) -> str:
    """``repr(value)``, with a huge integer abbreviated (an error message stays one line)."""
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if integral and abs(int(value)) >= 10**9:  # int(): abs of NumPy's least int64 overflows
        magnitude = abs(int(value))
        sign = "-" if value < 0 else ""
        if magnitude.bit_length() > 3000:  # str() would be slow, or refused past 4300 digits
            return f"{sign}an integer of about 10**{int(magnitude.bit_length() * math.log10(2))}"
        digits = str(magnitude)
        return f"{sign}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    if isinstance(value, Fraction) and max(abs(value.numerator), value.denominator) < 10**9:
        return str(value)  # 7/3, as a user writes it, not Fraction(7, 3)
    try:
        text = " ".join(repr(value).split())  # an array's repr has line breaks
    except ValueError:  # a Fraction of huge parts: Python refuses to print past 4300 digits
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 60 else text[:57] + "..."


def count(name: str, value: object, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """Return ``value`` as an int: any integer type (NumPy's included, through
    ``operator.index``) but ``bool``; else raise naming ``name`` and what is accepted."""
    accepted = f"an integer >= {minimum}"
    if isinstance(value, bool):
        raise TypeError(f"{name} must be {accepted}, got {shown(value)}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be {accepted}, got {shown(value)}") from None
    if number < minimum:
        raise ValueError(f"{name} must be {accepted}, got {shown(number)}")
    if number > maximum:
        raise ResourceLimitError(
            f"{name} must be an integer from {minimum} to {shown(maximum)}, got {shown(number)}"
        )
    return number


def positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``, or raise naming ``name`` (see ``count``)."""
    return count(name, value, minimum=minimum)


def parse_decimal(name: str, text: str) -> Fraction:
    """The exact value of decimal text (``"12"``, ``"4.5"``, ``"1e3"``, ``"7/3"``).

    The length and the exponent are checked before any ``Fraction`` is built, so no
    text makes this slow; raises ``ValueError`` naming ``name`` and what is accepted.
    """
    stripped = text.strip()
    accepted = (
        f"{name} must be a decimal number like 12, 4.5, 1e3 or 7/3 "
        f"(at most {MAX_DECIMAL_LENGTH} characters, exponent within +-{MAX_EXPONENT})"
    )
    match = _DECIMAL.fullmatch(stripped) if len(stripped) <= MAX_DECIMAL_LENGTH else None
    if match is None:
        raise ValueError(f"{accepted}, got {shown(text)}")
    if match["numerator"] is not None:
        if int(match["denominator"]) == 0:
            raise ValueError(f"{accepted}, got {shown(text)} (a zero denominator)")
        return Fraction(int(match["numerator"]), int(match["denominator"]))
    exponent = int(match["exponent"] or 0)
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"{accepted}, got {shown(text)}")
    return Fraction(match["mantissa"]) * Fraction(10) ** exponent


def boolean(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False, else raise naming ``name``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {shown(value)}")
    return value


def is_finite(value: numbers.Real) -> bool:
    """Finite, for any real: a huge int or Fraction is finite (``float()`` would overflow)."""
    return value == value and -math.inf < value < math.inf


def exact(value: numbers.Real) -> Fraction:
    """``value`` as an exact fraction: any int, Fraction or float, NumPy's included."""
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))  # NumPy's fixed-width integers would overflow in Fraction
    if isinstance(value, Fraction | float):
        return Fraction(value)
    if isinstance(value, numbers.Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    return Fraction(float(value))


def float_array(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    """Check that ``value`` is a finite float64 ndarray of ``shape`` and return it."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of float64, got {type(value).__name__}")
    if value.dtype != np.float64:
        raise TypeError(f"{name} must have dtype float64, got {value.dtype}")
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return value
