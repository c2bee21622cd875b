"""The baselines' closed forms (forward count and peak) equal the replay of their actions."""

from __future__ import annotations

import pytest

from mini_bptt.planning.baselines import BASELINES, baseline_cost, baseline_peak
from mini_bptt.planning.plan_value import run_replay
from mini_bptt.planning.units import grains_for


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1, 1.5, 7 / 3, 4.5])
def test_baseline_closed_forms_equal_the_replay_of_their_actions(alpha, longest=150):
    units = grains_for(alpha)
    for steps in range(1, longest):
        for strategy, build in BASELINES.items():
            replay = run_replay(build(steps), steps, units, None, True)
            assert replay.forward_count == baseline_cost(strategy, steps), (strategy, steps)
            peak = baseline_peak(strategy, steps, units.hidden, units.internal)
            assert replay.peak == peak, (strategy, steps)


@pytest.mark.parametrize("alpha", [1, 7 / 3])
def test_baseline_closed_forms_equal_the_replay_of_their_actions_quickly(alpha):
    """The check above up to 40 steps."""
    test_baseline_closed_forms_equal_the_replay_of_their_actions(alpha, longest=40)
