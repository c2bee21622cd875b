"""Argument validation shared by the public entry points: errors are raised at the boundary."""

from __future__ import annotations

import math
import numbers
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


def affordable(what: str, nbytes: int) -> None:
    """Refuse, before allocating, arrays of ``nbytes`` that the machine cannot hold."""
    available = available_memory()
    if nbytes > available:
        needed = f"{nbytes / 2**30:.3g} GiB" if nbytes < 2**80 else f"{shown(nbytes)} bytes"
        raise ValueError(
            f"{what} would need {needed}, more than the "
            f"{available / 2**30:.3g} GiB this machine has available"
        )


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


def shown(value: object) -> str:
    """``repr(value)``, with a huge integer abbreviated (an error message stays one line)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) >= 10**9:
        digits = str(abs(int(value)))
        return f"{'-' if value < 0 else ''}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    text = " ".join(repr(value).split())  # an array's repr has line breaks
    return text if len(text) <= 60 else text[:57] + "..."


def positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and what is accepted."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {shown(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {shown(value)}")
    return int(value)


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
    return (
        Fraction(value) if isinstance(value, numbers.Rational | float) else Fraction(float(value))
    )


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
