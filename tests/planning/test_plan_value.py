"""The Plan value and plan()'s own checks: types, messages, JSON refusals, resource refusals."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest

import mini_bptt as mb
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES, optimal_tables
from mini_bptt.planning.dp_paper import PAPER_TABLES, paper_tables
from mini_bptt.planning.plan import Plan, parse_actions
from mini_bptt.planning.units import grains_for
from tests.helpers import from_short

TWO_STEPS = from_short("F1 F2 B2 RH0 F1 B1")


def test_plan_fields_are_plain_python_numbers():
    made = Plan(np.int64(2), np.int64(1), np.float64(1.0), True, "hand", "hand", TWO_STEPS)
    assert type(made.steps) is int and made.steps == 2
    planned = mb.plan(10, 5.0, alpha=2.0)
    assert (type(planned.memory), type(planned.alpha)) == (int, int)
    assert (planned.memory, planned.alpha) == (5, 2)
    assert mb.plan(10, np.int64(5)).memory == 5 and type(mb.plan(10, np.int64(5)).memory) is int
    assert mb.plan(10, 5.5).memory == 5.5 and mb.plan(10, "40%").memory == "40%"
    # exact values are kept exact: a Fraction is not turned into a float
    exact = Plan(2, np.int64(1), Fraction(7, 3), True, "hand", "hand", TWO_STEPS)
    assert (type(exact.memory), exact.alpha) == (int, Fraction(7, 3))
    assert mb.plan(10, Fraction(10, 3), alpha=Fraction(7, 3)).memory == Fraction(10, 3)
    assert type(mb.plan(10, np.float32(5.5)).memory) is float


def test_counts_of_any_integer_type_are_counts_and_bool_is_not():
    steps = [("forward", np.int64(1)), ("forward", np.int32(2)), ("backward", np.uint16(2))]
    steps += [("restore_hidden", np.int64(0)), ("forward", 1), ("backward", np.int8(1))]
    made = Plan(np.int64(2), 1, 1, True, "hand", "hand", steps)
    assert made.actions == tuple(TWO_STEPS) and all(type(a.step) is int for a in made.actions)
    assert mb.cost(np.int64(10), 3) == mb.cost(10, 3)
    with pytest.raises(TypeError, match=r"^steps must be an integer >= 1, got True$"):
        mb.cost(True, 3)
    with pytest.raises(mb.PlanError, match=r"^action 0 \(forward True\): step must be an "):
        Plan(2, 1, 1, True, "hand", "hand", [("forward", True)])


@pytest.mark.parametrize(
    "memory",
    ["1e99999999%", "1e99999999", "1" * 10**6 + "%", "1e400%", 10**5000, 1e300],
    ids=["percent exponent", "exponent", "long text", "1e400%", "10**5000", "1e300"],
)
def test_a_budget_with_a_huge_exponent_is_refused_at_once_by_name(memory):
    started = time.perf_counter()
    with pytest.raises(ValueError, match="^memory must ") as refused:
        mb.cost(10, memory)
    assert time.perf_counter() - started < 1
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 200


def test_decimal_text_is_a_number_of_units():
    assert mb.cost(10, "5") == mb.cost(10, 5)
    assert mb.plan(10, " 7/3 ", alpha=Fraction(7, 3)).peak_memory <= 7 / 3
    assert mb.cost(10, "1e1") == mb.cost(10, 10)


def test_plan_arguments_are_named_in_their_errors():
    with pytest.raises(TypeError, match=r"^steps must be an integer >= 1, got '2'$"):
        Plan("2", 1, 1, True, "hand", "hand", TWO_STEPS)
    with pytest.raises(TypeError, match=r"^internal_has_output must be True or False, got 1$"):
        Plan(2, 1, 1, 1, "hand", "hand", TWO_STEPS)
    with pytest.raises(TypeError, match=r"^actions must be a sequence of actions, got str$"):
        parse_actions("forward 1")
    with pytest.raises(TypeError, match=r"^actions\[1\]: an action must be an Action"):
        parse_actions([("forward", 1), "forward 2"])
    assert parse_actions([{"op": "forward", "step": 1}]) == [mb.Action("forward", 1)]


STRATEGY_NAMES = "bptt, recompute, hsm, ism, msm, chen, chen-recursive"
NUMBER_OR_PERCENT = (
    "memory must be a number of units or a percentage like '5%' (decimal text of at most "
    "100 characters, exponent within +-400), got "
)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (dict(steps=0), ValueError, "steps must be an integer >= 1, got 0"),
        (dict(strategy="foo"), ValueError, f"strategy must be one of {STRATEGY_NAMES}; got 'foo'"),
        (dict(model="foo"), ValueError, "model must be one of optimal, paper; got 'foo'"),
        (
            dict(model="paper", strategy="chen"),
            ValueError,
            "model='paper' applies to hsm, ism and msm only, not 'chen'",
        ),
        (
            dict(internal_has_output=1),
            TypeError,
            "internal_has_output must be True or False, got 1",
        ),
        (
            dict(model="paper", strategy="ism", internal_has_output=False),
            ValueError,
            "model='paper' for 'ism' restarts from saved internal states, so it needs "
            "internal_has_output=True (use model='optimal')",
        ),
        (dict(memory="5 units"), ValueError, NUMBER_OR_PERCENT + "'5 units'"),
        (dict(memory="1e99999999%"), ValueError, NUMBER_OR_PERCENT + "'1e99999999%'"),
        (dict(memory="1e99999999"), ValueError, NUMBER_OR_PERCENT + "'1e99999999'"),
        (
            dict(memory="1e400%"),
            ValueError,
            "memory must come to at most 1.00e+120 hidden-state units, got '1e400%'",
        ),
        pytest.param(
            dict(memory=10**5000),
            ValueError,
            "memory must come to at most 1.00e+120 hidden-state units, "
            "got an integer of about 10**5000",
            id="memory=10**5000",
        ),
        (dict(memory="x%"), ValueError, NUMBER_OR_PERCENT + "'x%'"),
        (dict(memory="1/0%"), ValueError, NUMBER_OR_PERCENT + "'1/0%'"),
        (dict(memory="0%"), ValueError, "memory percentage must be > 0, got '0%'"),
        (dict(memory="-5%"), ValueError, "memory percentage must be > 0, got '-5%'"),
        (
            dict(memory=True),
            TypeError,
            "memory must be a number of units or a string like '5%', got True",
        ),
        (
            dict(memory=None),
            TypeError,
            "memory must be a number of units or a string like '5%', got None",
        ),
        (
            dict(memory=float("nan")),
            ValueError,
            "memory must be a finite number of units >= 0, got nan",
        ),
        (
            dict(memory=float("inf")),
            ValueError,
            "memory must be a finite number of units >= 0, got inf",
        ),
        (dict(memory=-1), ValueError, "memory must be a finite number of units >= 0, got -1"),
        (
            dict(memory=0),
            mb.InfeasibleMemoryError,
            "memory 0 is below the smallest feasible for strategy 'msm' with steps=10, "
            "alpha=1.0: 1 units",
        ),
        (
            dict(memory=0.5),
            mb.InfeasibleMemoryError,
            "memory 0.5 is below the smallest feasible for strategy 'msm' with steps=10, "
            "alpha=1.0: 1 units",
        ),
        (
            dict(memory=4.99, strategy="chen", alpha=1),
            mb.InfeasibleMemoryError,
            "memory 4.99 is below the smallest feasible for strategy 'chen' with steps=10, "
            "alpha=1: 5 units",
        ),
        (
            dict(memory=0.9, alpha=2.5),
            mb.InfeasibleMemoryError,
            "memory 0.9 is below the smallest feasible for strategy 'msm' with steps=10, "
            "alpha=2.5: 1 units",
        ),
    ],
)
def test_plan_names_each_bad_argument_in_full(arguments, error, message):
    request = dict(steps=10, memory=3) | arguments
    with pytest.raises(error) as raised:
        mb.plan(**request)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("memory", "alpha", "strategy", "budget"),
    [
        (1, 1, "msm", 1),
        (1, 2.5, "ism", 1),
        (1, 7 / 3, "msm", 1),
        (5, 1, "chen", 5),
        (" 50% ", 1, "msm", 5),  # of full BPTT's peak 1 + 9 = 10
        ("1%", 100, "msm", 9.01),  # 1 + 100 * 9 = 901
    ],
)
def test_the_smallest_feasible_budget_is_accepted(memory, alpha, strategy, budget):
    """The boundary itself is feasible (h[0] alone for the DP strategies, a fixed peak for
    a baseline); a percentage may be 1% or less, and may carry spaces."""
    planned = mb.plan(10, memory, alpha=alpha, strategy=strategy)
    assert planned.peak_memory <= budget


def test_a_broken_rule_and_a_short_plan_name_their_index():
    with pytest.raises(mb.PlanError, match=r"^action 2 \(backward 1\)") as broken:
        Plan(2, 1, 1, True, "hand", "hand", from_short("F1 F2 B1"))
    assert broken.value.index == 2
    with pytest.raises(mb.PlanError, match=r"^action 3 \(end -\): plan ends before steps 1\.\.1"):
        Plan(2, 1, 1, True, "hand", "hand", from_short("F1 F2 B2"))


def test_from_json_names_the_missing_fields():
    document = mb.plan(4, 2).to_dict()
    del document["actions"], document["steps"]
    with pytest.raises(ValueError, match=r"^trace JSON lacks the fields steps, actions$"):
        Plan.from_json(__import__("json").dumps(document))


def test_the_action_limit_counts_forwards_and_backwards_and_names_the_plan():
    planned = mb.plan(100, 3, strategy="hsm")
    actions = planned.forward_count + 100  # the estimate: every forward and every backward
    with mb.resource_limits(actions=actions):
        mb.plan(100, 3, strategy="hsm")
    refused = pytest.raises(mb.ResourceLimitError, match=r"^the hsm plan for steps=100 would")
    with mb.resource_limits(actions=actions - 1), refused:
        mb.plan(100, 3, strategy="hsm")


def _table_bytes(tables_in_use, steps: int, units_budget: int) -> int:
    with tables_in_use as tables:
        return tables.size(steps, units_budget).table_bytes


def test_the_table_limit_reads_the_tables_of_the_model_and_flag_asked():
    """Paper tables are one table, optimal ones two (flag off) or three (flag on): each
    request is sized with its own, so a limit between them tells them apart."""
    alpha, steps, budget = 3.7, 300, 120
    PAPER_TABLES.clear()  # fresh tables, whatever ran before in this process
    OPTIMAL_TABLES.clear()
    units = grains_for(alpha)
    width = budget * units.hidden
    paper = _table_bytes(paper_tables("msm", units), steps, width)
    off = _table_bytes(optimal_tables("msm", units, False), steps, width)
    on = _table_bytes(optimal_tables("msm", units, True), steps, width)
    assert paper < off < on
    common = dict(alpha=alpha, strategy="msm")
    with mb.resource_limits(table_bytes=paper), pytest.raises(mb.ResourceLimitError) as refused:
        mb.cost(steps, budget, model="optimal", internal_has_output=False, **common)
    assert str(refused.value) == (
        f"msm with steps={steps} and {budget} units: its DP tables would need "
        f"{off / 2**20:.3g} MiB, over the limit of {paper / 2**20:.3g} MiB; use "
        "strategy='hsm' (closed form, no table), a smaller budget or fewer steps, or raise "
        "the limit with mini_bptt.resource_limits()"
    )
    with mb.resource_limits(table_bytes=off):
        with pytest.raises(mb.ResourceLimitError):
            mb.cost(steps, budget, internal_has_output=True, **common)
        assert mb.cost(steps, budget, internal_has_output=False, **common) > 0
        assert mb.cost(steps, budget, model="paper", **common) > 0


def test_plan_reports_progress_while_it_fills_tables():
    calls = []
    mb.plan(300, 50, alpha=3.35, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (300, 300)


def test_paper_plans_report_progress_too():
    calls = []
    mb.cost(300, 50, alpha=3.45, model="paper", progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1] == (300, 300)


def test_the_time_limit_reads_the_paper_tables_of_the_strategy_asked():
    """MSM's paper recursion has two split options, ISM's one: their estimated times
    differ, and a limit between them refuses MSM only."""
    alpha, steps, budget = 3.55, 400, 150
    PAPER_TABLES.clear()
    units = grains_for(alpha)
    width = budget * units.hidden
    with paper_tables("ism", units) as ism_tables, paper_tables("msm", units) as msm_tables:
        ism = ism_tables.size(steps, width).seconds
        msm = msm_tables.size(steps, width).seconds
    assert ism < msm
    refused = pytest.raises(mb.ResourceLimitError, match="its DP would take")
    with mb.resource_limits(seconds=(ism + msm) / 2), refused:
        mb.cost(steps, budget, alpha=alpha, strategy="msm", model="paper")
    with mb.resource_limits(seconds=ism / 2), refused:  # ISM is guarded as well
        mb.cost(steps, budget, alpha=alpha, strategy="ism", model="paper")


@pytest.mark.parametrize("model", mb.MODELS)
def test_hsm_plans_build_no_table(model):
    """HSM is read from its closed form: no DP table is made, so no table limit applies."""
    PAPER_TABLES.clear()
    OPTIMAL_TABLES.clear()
    with mb.resource_limits(table_bytes=1, seconds=1e-6):
        planned = mb.plan(5000, 20, strategy="hsm", model=model)
    assert planned.forward_count == mb.cost(5000, 20, strategy="hsm")
    assert len(PAPER_TABLES) == len(OPTIMAL_TABLES) == 0
