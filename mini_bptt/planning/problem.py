"""A request worked out once: steps, exact alpha, the budget in whole grains, the flag.

``plan``, ``check`` and the ``Recorder`` build a ``Problem`` from what their caller gave;
a ``Plan`` keeps it; the executor, ``viz``, interop and the CLI read it. So the budget
rule of docs/model.md (*Units*) runs once per request, and nobody works it out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from mini_bptt.common import arguments
from mini_bptt.planning.units import Grains, bptt_peak, grains_for, parse_memory, plain_number


@dataclass(frozen=True)
class Problem:
    """One backpropagation problem: ``steps`` steps within a budget, for cells of ``alpha``.

    Build it with ``Problem.of(steps, memory, alpha, internal_has_output)``, which checks
    every argument and works out the rest. Feasibility is not its business: ``plan``
    refuses a budget below what its strategy needs, ``check`` one below ``h[0]``.

    Parameters
    ----------
    steps : int
        Sequence length T.
    memory : int, float, Fraction or str
        The budget as the caller gave it (NumPy numbers made plain Python ones), so that
        it can be shown and written to JSON as given.
    alpha : int, float or Fraction
        Internal-state size in hidden-state units, as given (made plain).
    internal_has_output : bool
        Whether a saved internal state can restart the forward.
    grains : Grains
        The integer grain: a hidden state is ``grains.hidden`` grains and an internal
        state ``grains.internal``, so every budget and peak is a whole number of grains.
    memory_units : Fraction
        The budget in hidden-state units, exact ("N%" worked out), before rounding.
    budget : int
        The budget in whole grains, by the one budget rule (docs/model.md, *Units*).

    Raises
    ------
    TypeError, ValueError
        From ``Problem.of``, naming the bad argument (``steps``, ``alpha``, ``memory``,
        ``internal_has_output``) and what it accepts.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> p = mb.Problem.of(10, "50%", alpha=4.5)
    >>> p.memory_units, p.budget, p.budget_units
    (Fraction(83, 4), 41, 20.5)
    >>> mb.plan(10, "50%", alpha=4.5).problem == p
    True
    """

    steps: int
    memory: int | float | Fraction | str
    alpha: int | float | Fraction
    internal_has_output: bool
    grains: Grains
    memory_units: Fraction
    budget: int

    @classmethod
    def of(
        cls,
        steps: int,
        memory: int | float | Fraction | str,
        alpha: int | float | Fraction = 1,
        internal_has_output: bool = True,
    ) -> Problem:
        """Check and work out a request; raise ``TypeError``/``ValueError`` naming a bad
        argument (``steps``, ``alpha``, ``memory``, ``internal_has_output``)."""
        steps = arguments.positive_int("steps", steps)
        grains = grains_for(alpha)
        memory_units = parse_memory(memory, steps, grains)
        arguments.boolean("internal_has_output", internal_has_output)
        return cls(
            steps=steps,
            memory=memory if isinstance(memory, str) else plain_number(memory),
            alpha=plain_number(alpha),
            internal_has_output=internal_has_output,
            grains=grains,
            memory_units=memory_units,
            budget=grains.whole_grains(memory_units),
        )

    @property
    def budget_units(self) -> int | float:
        """The budget in hidden-state units after rounding: an int when whole."""
        return self.grains.in_units(self.budget)

    @property
    def exact_alpha(self) -> Fraction:
        """alpha as the exact ratio the planner uses (internal / hidden grains)."""
        return self.grains.alpha

    @property
    def full_bptt_peak(self) -> Fraction:
        """Saved hidden-state units at the peak of standard BPTT for these steps."""
        return bptt_peak(self.steps, self.grains)

    @property
    def dp_budget(self) -> int:
        """The budget in grains, capped at full BPTT's peak. A larger budget cannot lower
        the cost below T (the exhaustive-search tests show it), so this cap is exact and
        keeps the DP's tables narrow."""
        return min(self.budget, self.grains.whole_grains(self.full_bptt_peak))


__all__ = ["Problem"]
