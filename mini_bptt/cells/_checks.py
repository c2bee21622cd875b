"""Argument validation shared by the public entry points: errors are raised at the boundary."""

from __future__ import annotations

import math
import numbers

import numpy as np


def shown(value: object) -> str:
    """``repr(value)``, with a huge integer abbreviated (an error message stays one line)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) >= 10**9:
        digits = str(abs(int(value)))
        return f"{'-' if value < 0 else ''}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    text = repr(value)
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
