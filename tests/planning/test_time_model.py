"""The one time model: its DP estimate is what the resource guard reads, and its estimate
of running a plan on a cell is what ``mini-bptt run`` refuses on."""

from __future__ import annotations

import pytest

import mini_bptt as mb
from mini_bptt.cli import main
from mini_bptt.planning import limits, time_model


def test_running_a_plan_costs_its_forwards_and_two_per_reverse_step():
    # an RNN step of batch 2, 3 inputs and 4 hidden: 2 * 2 * (3 + 4) * (1 * 4) = 112 flops
    seconds = time_model.execution_seconds(2, 3, 4, 1, forwards=10, steps=5)
    assert seconds == pytest.approx(112 * (10 + 2 * 5) / time_model.FLOPS_PER_SECOND)
    lstm = time_model.execution_seconds(2, 3, 4, 4, forwards=10, steps=5)
    assert lstm == pytest.approx(4 * seconds)


def test_the_guard_reads_the_dp_estimate_of_the_time_model():
    size = limits.dp_size(3, 4, 1000, 200)
    terms = time_model.time_terms(3, 4, 1000, 200)
    constants = (
        time_model.SECONDS_PER_TABLE_ROW,
        time_model.SECONDS_PER_SPLIT_ENTRY,
        time_model.SECONDS_PER_SPLIT_CANDIDATE,
    )
    by_hand = sum(c * t for c, t in zip(constants, terms, strict=True))
    assert size.seconds == pytest.approx(by_hand + time_model.SECONDS_PER_BYTE * size.table_bytes)
    assert limits.dp_size(10**13, 1, 10**13, 10).seconds == float("inf")


def test_run_refuses_a_plan_that_would_run_past_the_time_limit(capsys):
    with mb.resource_limits(seconds=1e-6):
        assert main(["run", "50", "5%", "--strategy", "hsm"]) == 2
    err = capsys.readouterr().err
    assert "running this plan would take about" in err and "over the limit of 1e-06 s" in err
