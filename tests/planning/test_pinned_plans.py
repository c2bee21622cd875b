"""Small plans pinned action by action, so that a change in tie-breaking is seen.

Each plan is written compactly: F forward, SH/SI save hidden/internal, RH/RI restore,
XH/XI free, B backward, followed by the step. They were read off the planner when the
fast DP replaced the full search (both give these same actions), and again when the
optimal model's plans began freeing h[a] before its last forward and stopped saving h[a]
only to free it at once.
"""

from __future__ import annotations

import pytest

import mini_bptt as mb
from tests.helpers import short

PINNED = {  # (strategy, model, memory, alpha, internal_has_output): (forwards, actions)
    ("hsm", "paper", 3, 1, True): (
        16,
        "F1 SH1 F2 F3 F4 SH4 F5 F6 F7 B7 RH4 F5 F6 B6 RH4 F5 B5 XH4 RH1 F2 SH2 F3 F4 B4 RH2 F3 "
        "B3 XH2 RH1 F2 B2 XH1 RH0 F1 B1",
    ),
    ("hsm", "optimal", 3, 1, True): (
        16,
        "F1 SH1 F2 F3 F4 SH4 F5 F6 F7 B7 RH4 F5 F6 B6 RH4 F5 B5 XH4 RH1 F2 SH2 F3 F4 B4 RH2 F3 "
        "B3 XH2 RH1 F2 B2 XH1 RH0 F1 B1",
    ),
    ("ism", "paper", 5, 2, True): (
        11,
        "F1 F2 SI2 F3 F4 F5 SI5 F6 F7 B7 RI5 F6 B6 B5 XI5 RI2 F3 SI3 F4 B4 B3 XI3 B2 XI2 RH0 F1 B1",
    ),
    ("ism", "optimal", 5, 2, True): (
        11,
        "F1 F2 SI2 F3 F4 F5 SI5 F6 F7 B7 RI5 F6 B6 B5 XI5 RI2 F3 SI3 F4 B4 B3 XI3 B2 XI2 RH0 "
        "XH0 F1 B1",
    ),
    ("ism", "optimal", 5, 2, False): (
        12,
        "F1 F2 F3 F4 F5 SI5 F6 SI6 F7 B7 B6 XI6 B5 XI5 RH0 F1 F2 SI2 F3 SI3 F4 B4 B3 XI3 B2 XI2 "
        "RH0 XH0 F1 B1",
    ),
    ("msm", "paper", 4, 2, True): (
        12,
        "F1 F2 SH2 F3 F4 F5 SI5 F6 F7 B7 RI5 F6 B6 B5 XI5 RH2 F3 SI3 F4 B4 B3 XI3 XH2 RH0 F1 SI1 "
        "F2 B2 B1 XI1",
    ),
    ("msm", "optimal", 4, 2, True): (
        12,
        "F1 F2 SH2 F3 F4 F5 SI5 F6 F7 B7 RI5 F6 B6 B5 XI5 RH2 XH2 F3 SI3 F4 B4 B3 XI3 RH0 XH0 "
        "F1 SI1 F2 B2 B1 XI1",
    ),
    ("msm", "optimal", 4, 2, False): (
        12,
        "F1 F2 F3 SH3 F4 F5 F6 SI6 F7 B7 B6 XI6 RH3 XH3 F4 SI4 F5 B5 B4 XI4 RH0 XH0 F1 SI1 F2 "
        "SI2 F3 B3 B2 XI2 B1 XI1",
    ),
}


@pytest.mark.parametrize("key", sorted(PINNED, key=str))
def test_small_plans_are_pinned_action_by_action(key):
    strategy, model, memory, alpha, output = key
    forwards, expected = PINNED[key]
    plan = mb.plan(
        7, memory, alpha=alpha, strategy=strategy, model=model, internal_has_output=output
    )
    assert short(plan.actions) == expected
    assert plan.forward_count == forwards == expected.count("F")
