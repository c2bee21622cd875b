"""The shared DP tables never answer wrongly after an interrupted fill.

A fill is cut short at a random point of a random request, the way Ctrl-C or a raising
``progress`` callback would cut it: every later answer in the same process must equal
the answer of tables filled from scratch.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES, optimal_specs
from mini_bptt.planning.dp_paper import PAPER_TABLES, paper_spec
from mini_bptt.planning.engine import BreakpointTables
from mini_bptt.planning.units import grains_for
from tests.helpers import Interrupted, examples, interrupted_at_line

PLANNING = Path(mb.__file__).parent / "planning"
ALPHAS = (1, 2, 7 / 3, 4.5, 5)


def fresh_cost(steps, memory, alpha, strategy, model, internal_has_output) -> int:
    """The answer of tables filled from scratch for this request alone."""
    units = grains_for(alpha)
    budget = units.whole_grains(memory)
    if model == "paper":
        tables, top = BreakpointTables((paper_spec(strategy, units),)), "C"
    else:
        specs = optimal_specs(strategy, units, internal_has_output)
        tables, top = BreakpointTables(tuple(specs.values())), "S"
    tables.ensure(steps, budget)
    return tables.value(top, steps, budget)


requests = st.tuples(
    st.integers(2, 260),  # steps
    st.integers(2, 90),  # memory, hidden-state units
    st.sampled_from(ALPHAS),
    st.sampled_from(("ism", "msm")),
    st.sampled_from(("optimal", "paper")),
    st.booleans(),  # internal_has_output
).filter(lambda r: not (r[4] == "paper" and not r[5]))  # the paper's ISM/MSM restart from s


def answer(request) -> int | None:
    steps, memory, alpha, strategy, model, output = request
    try:
        return mb.cost(
            steps, memory, alpha=alpha, strategy=strategy, model=model, internal_has_output=output
        )
    except mb.InfeasibleMemoryError:
        return None


def expected(request) -> int | None:
    steps, memory, alpha, strategy, model, output = request
    units = grains_for(alpha)
    if units.whole_grains(memory) < units.hidden:
        return None
    peak = 1 + units.alpha * (steps - 1)
    return fresh_cost(steps, min(memory, peak), alpha, strategy, model, output)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    warm=requests,
    cut=requests,
    lines=st.integers(1, 40_000),
    later=st.lists(requests, min_size=1, max_size=4),
)
def test_every_answer_after_a_fill_cut_short_at_any_line_equals_a_fresh_tables(
    warm, cut, lines, later
):
    """A warm-up request fills a set; a second one is cut at a random line of the planner
    (in a fill, a reallocation or the bookkeeping around them); then the cut request and
    random others, on the same sets, answer as tables filled from scratch."""
    OPTIMAL_TABLES.clear()
    PAPER_TABLES.clear()
    answer(warm)
    with interrupted_at_line(lines, PLANNING):
        answer(cut)
    for request in [cut, warm, *later]:
        assert answer(request) == expected(request), request


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=requests, at=st.integers(0, 4), later=st.lists(requests, min_size=1, max_size=3))
def test_every_answer_after_a_progress_callback_raised_equals_a_fresh_tables(cut, at, later):
    """The ``progress`` callback raises at its ``at``-th report (every 64th row): later
    answers are unchanged, the cut request's included."""
    OPTIMAL_TABLES.clear()
    PAPER_TABLES.clear()
    answer((300, 60, *cut[2:]))  # a filled set the cut request then grows
    reports = 0

    def progress(done: int, total: int) -> None:
        nonlocal reports
        reports += 1
        if reports > at:
            raise Interrupted

    steps, memory, alpha, strategy, model, output = cut
    with contextlib.suppress(Interrupted, mb.InfeasibleMemoryError):
        mb.plan(
            steps + 300,
            memory + 60,
            alpha=alpha,
            strategy=strategy,
            model=model,
            internal_has_output=output,
            progress=progress,
        )
    for request in [cut, *later]:
        assert answer(request) == expected(request), request


def test_the_issue_s_interrupted_request_answers_as_a_fresh_process():
    """cost(300, 1200, alpha=5) cut by its progress callback, then cost(128, 1200): 128."""
    OPTIMAL_TABLES.clear()

    def stop_at_128(done: int, total: int) -> None:
        if done >= 128:
            raise Interrupted

    with pytest.raises(Interrupted):
        mb.cost(300, 1200, alpha=5, progress=stop_at_128)
    assert mb.cost(128, 1200, alpha=5) == 128
    assert mb.cost(300, 1200, alpha=5) == fresh_cost(300, 1200, 5, "msm", "optimal", True)
