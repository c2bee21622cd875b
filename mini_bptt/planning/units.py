"""Exact memory units. With ``alpha = p/q`` a hidden state is ``q`` units and an
internal state ``p`` units, so every budget and peak is an integer."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

MAX_DENOMINATOR = 1000


@dataclass(frozen=True)
class Units:
    """Integer sizes: ``hidden`` and ``internal`` units per state (alpha = internal / hidden)."""

    hidden: int
    internal: int

    @property
    def alpha(self) -> Fraction:
        return Fraction(self.internal, self.hidden)

    def to_units(self, memory: Fraction) -> int:
        """Largest whole number of units that fits in ``memory`` (hidden-state units).

        A budget within 1e-9 of a whole unit counts as that unit, so a float such as
        12.666666666666666 (= 38/3 rounded) means 38/3 and not a unit less.
        """
        scaled = memory * self.hidden
        nearest = round(scaled)
        return nearest if abs(scaled - nearest) <= 1e-9 * max(1, nearest) else math.floor(scaled)

    def to_memory(self, units: int) -> int | float:
        """Units back to hidden-state units: an int when whole, else a float."""
        value = Fraction(units, self.hidden)
        return int(value) if value.denominator == 1 else float(value)


def units_for(alpha: object) -> Units:
    """Units for an ``alpha >= 1`` given as int, float or Fraction with denominator <= 1000."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number >= 1, got {alpha!r}")
    if not math.isfinite(float(alpha)) or alpha < 1:
        raise ValueError(f"alpha must be a finite number >= 1, got {alpha!r}")
    exact = Fraction(alpha)
    frac = exact.limit_denominator(MAX_DENOMINATOR)
    if abs(float(frac) - float(alpha)) > 1e-12 * float(alpha):
        raise ValueError(
            f"alpha must be a ratio p/q with q <= {MAX_DENOMINATOR} (e.g. 4.5, 7/3), got {alpha!r}"
        )
    return Units(hidden=frac.denominator, internal=frac.numerator)
