"""The optimal model equals an exhaustive search over all valid plans (docs/model.md)."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import pytest

import mini_bptt as mb
from mini_bptt.planning.units import grains_for
from tests.planning import exhaustive
from tests.planning.exhaustive import min_forward_count

# every case up to 4 steps in the everyday run (2 s); up to 6 in the full run (a minute, the
# search taking about six times as long with each step)
STEPS_EVERYDAY, STEPS_FULL = 4, 6


def budgets(steps: int, alpha) -> list[Fraction]:
    """Every budget from 1 to the full-BPTT peak, in steps of the smallest unit 1/q."""
    units = grains_for(alpha)
    full = 1 + Fraction(alpha) * (steps - 1)
    return [Fraction(u, units.hidden) for u in range(units.hidden, int(full * units.hidden) + 1)]


def search_truths(cache, alpha, internal_has_output: bool, strategy: str, max_steps: int) -> list:
    """The exhaustive search's answer for every (steps <= max_steps, budget) of one
    parametrisation.

    The search shares no code with the library, so its answers depend only on its own
    source: they are kept in pytest's cache under a hash of that source (a fresh clone
    computes them; reruns, such as mutation testing, read them back)."""
    source = Path(exhaustive.__file__).read_bytes()
    key = f"mini_bptt/exhaustive/{hashlib.sha256(source).hexdigest()[:16]}"
    key += f"/{Fraction(alpha)}-{internal_has_output}-{strategy}-{max_steps}".replace("/", "_")
    cases = [(t, m) for t in range(1, max_steps + 1) for m in budgets(t, alpha)]
    truths = cache.get(key, None) if cache is not None else None
    if truths is None or len(truths) != len(cases):
        truths = [
            min_forward_count(
                steps,
                memory,
                Fraction(alpha),
                internal_has_output,
                allow_hidden=strategy != "ism",
                allow_internal=strategy != "hsm",
            )
            for steps, memory in cases
        ]
        if cache is not None:
            cache.set(key, truths)
    return list(zip(cases, truths, strict=True))


@pytest.mark.parametrize(
    "max_steps", [STEPS_EVERYDAY, pytest.param(STEPS_FULL, marks=pytest.mark.slow)]
)
@pytest.mark.parametrize("strategy", ["hsm", "ism", "msm"])
@pytest.mark.parametrize("internal_has_output", [True, False])
@pytest.mark.parametrize("alpha", [1, 1.5, 2, 3])
def test_optimal_equals_exhaustive_search(request, alpha, internal_has_output, strategy, max_steps):
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    arguments = dict(alpha=alpha, strategy=strategy, internal_has_output=internal_has_output)
    truths = search_truths(cache, alpha, internal_has_output, strategy, max_steps)
    for (steps, memory), truth in truths:
        assert mb.cost(steps, float(memory), **arguments) == truth, (steps, memory)
        plan = mb.plan(steps, float(memory), **arguments)
        assert plan.forward_count == truth and plan.peak_memory <= memory


def test_search_is_not_vacuous():
    """The search finds the known extremes, and refuses memory below h[0]."""
    assert min_forward_count(5, Fraction(1), Fraction(1), allow_internal=False) == 15
    assert min_forward_count(5, Fraction(5), Fraction(1), allow_internal=False) == 9
    assert min_forward_count(5, Fraction(5), Fraction(1)) == 5
    assert min_forward_count(3, Fraction(1, 2), Fraction(1)) is None
