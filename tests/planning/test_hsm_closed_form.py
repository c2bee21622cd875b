"""The HSM closed form: it answers for any size, its repetition number is the least that
reaches ``t``, and it equals the paper's HSM recursion."""

from __future__ import annotations

from math import comb

import pytest

import mini_bptt as mb
from mini_bptt.planning.hsm_closed_form import hsm_cost, repetition_number
from mini_bptt.planning.recursions import paper_recursion
from mini_bptt.planning.units import grains_for


@pytest.mark.parametrize("t, m", [(10**30, 1), (10**30, 2), (10**30, 3), (10**18, 40), (7, 10**30)])
def test_hsm_closed_form_answers_for_any_size(t, m):
    r = repetition_number(t, m)
    assert comb(m + r, r) >= t and (r == 0 or comb(m + r - 1, r - 1) < t)
    if m == 1:
        assert hsm_cost(t, m) == t * (t + 1) // 2
    if m >= t:
        assert hsm_cost(t, m) == 2 * t - 1
    assert mb.cost(t, m, strategy="hsm") == hsm_cost(t, m)


def test_the_repetition_number_is_the_least_r_whose_binomial_reaches_t():
    for m in range(1, 7):
        for t in range(0, 300):
            least = next(r for r in range(t + 1) if comb(m + r, r) >= t)
            assert repetition_number(t, m) == least, (t, m)


def test_the_paper_hsm_recursion_is_the_closed_form():
    C = paper_recursion("hsm", grains_for(1))
    assert all(C(t, m) == hsm_cost(t, m) for t in range(0, 40) for m in range(1, 8))
    assert C(5, 0) == float("inf")  # no room for the start state
