"""Memory in hidden-state units, counted exactly in grains; the one budget rule
(docs/model.md, *Units*).

A budget or a peak is given in hidden-state *units* (a hidden state is 1, an internal
state alpha). With ``alpha = p/q`` both are whole numbers of *grains*: a hidden state is
``q`` grains and an internal state ``p``. ``budget_grains`` turns a budget as users give
it into whole grains; ``Problem.of`` calls it once per request, and ``plan``, ``check``,
``Plan``, the ``Recorder``, the executor and the CLI read that ``Problem``, so none of
them can round a budget differently.
"""

from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass
from fractions import Fraction

from mini_bptt.common.arguments import (
    MAX_DECIMAL_LENGTH,
    MAX_EXPONENT,
    is_finite,
    parse_decimal,
    shown,
)
from mini_bptt.common.arguments import exact as exact_fraction

MAX_DENOMINATOR = 1000
MAX_ALPHA = 10**6  # an internal state a million times a hidden state: beyond any real cell
# A budget past this many hidden-state units is refused by magnitude: above full BPTT's
# peak for any steps a count accepts (10**100 steps at alpha 10**6), and far inside a
# float, so a budget can always be shown, drawn and written as JSON.
MAX_MEMORY = 10**120
# A budget within this much of a whole grain (in grains, whatever the budget's size) counts
# as that grain: the rounding error of a float such as 12.666666666666666 for 38/3.
TOLERANCE = Fraction(1, 10**9)


@dataclass(frozen=True)
class Grains:
    """The grain of a cell's memory: ``hidden`` grains per hidden state, ``internal`` per
    internal state (alpha = internal / hidden, in lowest terms)."""

    hidden: int
    internal: int

    @property
    def alpha(self) -> Fraction:
        return Fraction(self.internal, self.hidden)

    def whole_grains(self, memory: Fraction) -> int:
        """Whole grains in ``memory`` (hidden-state units, exact): ``floor(memory q + 1e-9)``.

        Rounding down never admits a plan over the budget; the ``1e-9`` of a grain lets a
        float that stands for a whole grain (12.666666666666666 for 38/3 at q = 3) mean it.
        """
        return math.floor(memory * self.hidden + TOLERANCE)

    def in_units(self, grains: int) -> int | float:
        """``grains`` in hidden-state units: an int when whole, else a float."""
        value = Fraction(grains, self.hidden)
        return int(value) if value.denominator == 1 else float(value)


def grains_for(alpha: object) -> Grains:
    """The grain of ``1 <= alpha <= 10**6`` (int, float or Fraction, denominator <= 1000)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number >= 1, got {shown(alpha)}")
    _refuse_long_fraction("alpha", alpha)
    value = plain_number(alpha)  # NumPy integers would overflow their width in a Fraction
    if not is_finite(value) or not 1 <= value <= MAX_ALPHA:
        raise ValueError(f"alpha must be a number from 1 to {MAX_ALPHA:.0e}, got {shown(alpha)}")
    exact = exact_fraction(value)
    frac = exact.limit_denominator(MAX_DENOMINATOR)
    if abs(frac - exact) > exact / 10**12:
        raise ValueError(
            f"alpha must be a ratio p/q with q <= {MAX_DENOMINATOR} (e.g. 4.5, 7/3), "
            f"got {shown(alpha)}"
        )
    return Grains(hidden=frac.denominator, internal=frac.numerator)


def budget_grains(memory: object, steps: int, grains: Grains) -> int:
    """The budget rule: ``memory`` as users give it, in whole grains (``Grains.whole_grains``)."""
    return grains.whole_grains(parse_memory(memory, steps, grains))


def parse_memory(memory: object, steps: int, grains: Grains) -> Fraction:
    """A budget in hidden-state units, exact: a number >= 0, decimal text ("12", "7/3"),
    or "N%" of the ``bptt`` plan's peak; past ``MAX_MEMORY`` refused by magnitude."""
    if isinstance(memory, str):
        text = memory.strip()
        percent = text.endswith("%")
        try:
            value = parse_decimal("memory", text[:-1] if percent else text)
        except ValueError:
            raise ValueError(
                "memory must be a number of units or a percentage like '5%' (decimal text of "
                f"at most {MAX_DECIMAL_LENGTH} characters, exponent within +-{MAX_EXPONENT}), "
                f"got {shown(memory)}"
            ) from None
        if percent and value <= 0:
            raise ValueError(f"memory percentage must be > 0, got {shown(memory)}")
        budget = value / 100 * bptt_peak(steps, grains) if percent else value
    elif isinstance(memory, bool) or not isinstance(memory, numbers.Real):
        raise TypeError(
            f"memory must be a number of units or a string like '5%', got {shown(memory)}"
        )
    else:
        _refuse_long_fraction("memory", memory)
        value = plain_number(memory)  # NumPy integers would overflow their width in a Fraction
        if not is_finite(value):
            raise ValueError(f"memory must be a finite number of units >= 0, got {shown(memory)}")
        budget = exact_fraction(value)
    if budget < 0:
        raise ValueError(f"memory must be a finite number of units >= 0, got {shown(memory)}")
    if budget > MAX_MEMORY:
        raise ValueError(
            f"memory must come to at most {shown(MAX_MEMORY)} hidden-state units, "
            f"got {shown(memory)}"
        )
    return budget


def bptt_peak(steps: int, grains: Grains) -> Fraction:
    """Saved units at the peak of standard BPTT: h[0] and the internal states of steps 1..T-1."""
    return 1 + grains.alpha * (steps - 1)


def plain_number(value: numbers.Real) -> int | float | Fraction:
    """``value`` as a plain Python number of the same exact value: an int when whole, a
    Fraction for other rationals, a float for floats (NumPy's included), so that it can be
    written as JSON and read back to the same budget."""
    if isinstance(value, numbers.Integral):
        return int(operator.index(value))
    if isinstance(value, numbers.Rational):
        fraction = Fraction(value.numerator, value.denominator)
        return fraction.numerator if fraction.denominator == 1 else fraction
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def _refuse_long_fraction(name: str, value: numbers.Real) -> None:
    """Refuse, by magnitude, a fraction whose parts could not even be shown in an error."""
    if isinstance(value, numbers.Integral) or not isinstance(value, numbers.Rational):
        return
    largest = max(abs(value.numerator), value.denominator)
    if largest > MAX_MEMORY:
        raise ValueError(
            f"{name} must be a fraction with numerator and denominator of at most "
            f"{shown(MAX_MEMORY)}, got one with a part of about 10**"
            f"{int(largest.bit_length() * math.log10(2))}"
        )
