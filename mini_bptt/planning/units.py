"""Exact memory units. With ``alpha = p/q`` a hidden state is ``q`` units and an
internal state ``p`` units, so every budget and peak is an integer."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

from mini_bptt.cells._checks import exact as exact_fraction
from mini_bptt.cells._checks import is_finite, shown

MAX_DENOMINATOR = 1000
MAX_ALPHA = 10**6  # an internal state a million times a hidden state: beyond any real cell


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
        close = abs(scaled - nearest) <= Fraction(max(1, nearest), 10**9)  # exact, any size
        return nearest if close else math.floor(scaled)

    def to_memory(self, units: int) -> int | float:
        """Units back to hidden-state units: an int when whole, else a float."""
        value = Fraction(units, self.hidden)
        return int(value) if value.denominator == 1 else float(value)


def units_for(alpha: object) -> Units:
    """Units for ``1 <= alpha <= 10**6`` given as int, float or Fraction, denominator <= 1000."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number >= 1, got {shown(alpha)}")
    if not is_finite(alpha) or not 1 <= alpha <= MAX_ALPHA:
        raise ValueError(f"alpha must be a number from 1 to {MAX_ALPHA:.0e}, got {shown(alpha)}")
    exact = exact_fraction(alpha)
    frac = exact.limit_denominator(MAX_DENOMINATOR)
    if abs(frac - exact) > exact / 10**12:
        raise ValueError(
            f"alpha must be a ratio p/q with q <= {MAX_DENOMINATOR} (e.g. 4.5, 7/3), "
            f"got {shown(alpha)}"
        )
    return Units(hidden=frac.denominator, internal=frac.numerator)
