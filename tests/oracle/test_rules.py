"""Every rule of docs/model.md, one at a time, and a second reading of the rules.

For each rule: a minimal valid trace, and the same trace with that one rule broken. Each
pair goes through ``mb.check``, ``mini-bptt check`` (exit 0 / 1) and ``mb.execute``.
Then random walks of legal and illegal moves are judged by ``mb.check`` and by
``tests/oracle/validator.py`` (no code shared with the replay), which must agree both ways.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt.cli import main
from tests.helpers import examples, forged_plan, make_problem
from tests.oracle import validator

F, SH, SI, RH, RI, XH, XI, B = validator.OPS
ALPHAS = [Fraction(1), Fraction(3, 2), Fraction(7, 3), Fraction(9, 2)]

# name: (steps, memory, alpha, internal_has_output, valid, broken, index, error)
# fmt: off
RULES = {
    "forward needs the cursor at h[i-1]": (
        2, 1, 1, True,
        [(F, 1), (F, 2), (B, 2), (RH, 0), (F, 1), (B, 1)],
        [(F, 1), (F, 2), (B, 2), (F, 1), (B, 1)],
        3, "forward needs the cursor at h[0], it is at h[2]",
    ),
    "save_hidden needs the cursor at h[i]": (
        2, 2, 1, True,
        [(F, 1), (SH, 1), (F, 2), (B, 2), (RH, 0), (F, 1), (B, 1)],
        [(F, 1), (F, 2), (SH, 1), (B, 2), (RH, 0), (F, 1), (B, 1)],
        2, "save_hidden needs the cursor at h[1], it is at h[2]",
    ),
    "save_hidden twice": (
        2, 3, 1, True,
        [(F, 1), (SH, 1), (F, 2), (B, 2), (RH, 1), (XH, 1), (RH, 0), (F, 1), (B, 1)],
        [(F, 1), (SH, 1), (SH, 1), (F, 2), (B, 2), (RH, 0), (F, 1), (B, 1)],
        2, "h[1] is already saved",
    ),
    "save_hidden one unit over the budget at alpha 3/2": (
        3, 3, Fraction(3, 2), True,
        [(F, 1), (SI, 1), (F, 2), (F, 3), (B, 3), (RH, 0), (F, 1), (F, 2), (B, 2), (B, 1)],
        [(F, 1), (SI, 1), (F, 2), (SH, 2), (F, 3), (B, 3), (B, 2), (B, 1)],
        3, "memory would reach 3.5 units, over the budget of 3",
    ),
    "save_internal needs s[i] in the core": (
        2, 3, 1, True,
        [(F, 1), (SI, 1), (F, 2), (B, 2), (B, 1), (XI, 1)],
        [(F, 1), (F, 2), (SI, 1), (B, 2), (B, 1), (XI, 1)],
        2, "save_internal needs s[1] in the core, the core holds s[2]",
    ),
    "save_internal twice": (
        2, 3, 1, True,
        [(F, 1), (SI, 1), (F, 2), (B, 2), (B, 1), (XI, 1)],
        [(F, 1), (SI, 1), (SI, 1), (F, 2), (B, 2), (B, 1), (XI, 1)],
        2, "s[1] is already saved",
    ),
    "save_internal one unit over the budget at alpha 7/3": (
        3, Fraction(16, 3), Fraction(7, 3), True,
        [(F, 1), (SI, 1), (F, 2), (F, 3), (B, 3), (RH, 0), (F, 1), (F, 2), (B, 2), (B, 1)],
        [(F, 1), (SI, 1), (F, 2), (SI, 2), (F, 3), (B, 3), (B, 2), (B, 1)],
        3, "memory would reach 5.666666666666667 units, over the budget of 5.333333333333333",
    ),
    "restore_internal keeps the core; save_internal does not need the cursor": (
        2, 3, 1, True,
        [(F, 1), (SI, 1), (F, 2), (RI, 1), (SI, 2), (B, 2), (B, 1)],
        [(F, 1), (SI, 1), (F, 2), (RI, 1), (SI, 1), (B, 2), (B, 1)],
        4, "save_internal needs s[1] in the core, the core holds s[2]",
    ),
    "restore_hidden of a state never saved": (
        2, 1, 1, True,
        [(F, 1), (F, 2), (B, 2), (RH, 0), (F, 1), (B, 1)],
        [(F, 1), (F, 2), (B, 2), (RH, 1), (F, 1), (B, 1)],
        3, "h[1] is not saved",
    ),
    "restore_hidden empties the core": (
        2, 2, 1, True,
        [(F, 1), (SH, 1), (F, 2), (B, 2), (RH, 0), (F, 1), (B, 1)],
        [(F, 1), (SH, 1), (F, 2), (RH, 1), (B, 2), (RH, 0), (F, 1), (B, 1)],
        4, "backward needs s[2] in the core or saved",
    ),
    "restore_internal needs internal_has_output": (
        3, 3, 1, False,
        [(F, 1), (SI, 1), (F, 2), (F, 3), (B, 3), (RH, 0), (F, 1), (F, 2), (B, 2), (B, 1)],
        [(F, 1), (SI, 1), (F, 2), (F, 3), (B, 3), (RI, 1), (F, 2), (B, 2), (B, 1)],
        5, "restore_internal needs internal_has_output=True",
    ),
    "restore_internal of a state never saved": (
        3, 3, 1, True,
        [(F, 1), (SI, 1), (F, 2), (F, 3), (B, 3), (RI, 1), (F, 2), (B, 2), (B, 1)],
        [(F, 1), (SI, 1), (F, 2), (F, 3), (B, 3), (RI, 2), (F, 2), (B, 2), (B, 1)],
        5, "s[2] is not saved",
    ),
    "free_hidden of a state never saved": (
        1, 1, 1, True,
        [(F, 1), (XH, 0), (B, 1)],
        [(F, 1), (XH, 1), (B, 1)],
        1, "h[1] is not saved",
    ),
    "free_internal of a state never saved": (
        2, 3, 1, True,
        [(F, 1), (SI, 1), (F, 2), (B, 2), (B, 1), (XI, 1)],
        [(F, 1), (SI, 1), (F, 2), (B, 2), (B, 1), (XI, 2)],
        5, "s[2] is not saved",
    ),
    "backward in order T..1": (
        2, 3, 1, True,
        [(F, 1), (SI, 1), (F, 2), (B, 2), (B, 1)],
        [(F, 1), (SI, 1), (F, 2), (B, 1), (B, 2)],
        3, "backward must reverse steps in order T..1; the next step is 2",
    ),
    "backward needs s[i] in the core or saved": (
        2, 1, 1, True,
        [(F, 1), (F, 2), (B, 2), (RH, 0), (F, 1), (B, 1)],
        [(F, 1), (F, 2), (B, 2), (B, 1)],
        3, "backward needs s[1] in the core or saved",
    ),
    "nothing reversed after the end (other actions may follow)": (
        1, 1, 1, True,
        [(F, 1), (B, 1), (RH, 0), (F, 1)],
        [(F, 1), (B, 1), (B, 1)],
        2, "b"
        "ackward must reverse steps in order T..1; the next step is none (all steps are reversed)",
    ),
    "every step reversed": (
        2, 1, 1, True,
        [(F, 1), (F, 2), (B, 2), (RH, 0), (F, 1), (B, 1)],
        [(F, 1), (F, 2), (B, 2)],
        3, "plan ends before steps 1..1 are reversed",
    ),
    "steps are integers in range": (
        1, 1, 1, True,
        [(F, 1), (B, 1)],
        [(F, 1), (B, 2)],
        1, "step must be in [1, 1]",
    ),
    "ops come from the eight": (
        1, 1, 1, True,
        [(F, 1), (B, 1)],
        [(F, 1), ("jump", 1), (B, 1)],
        1, "unknown op; accepted ops are forward, save_hidden, save_internal, "
        "restore_hidden, restore_internal, free_hidden, free_internal, backward",
    ),
    "steps are integers": (
        1, 1, 1, True,
        [(F, 1), (B, 1)],
        [(F, 1), (B, "1")],
        1, "step must be an integer, got str",
    ),
    "save_internal needs a core": (
        2, 3, 1, True,
        [(F, 1), (SI, 1), (F, 2), (B, 2), (B, 1)],
        [(SI, 1), (F, 1), (F, 2), (B, 2), (B, 1)],
        0, "save_internal needs s[1] in the core, the core holds empty",
    ),
}
# fmt: on


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_rule_breaks_alone_in_check_cli_and_execute(rule, tmp_path, capsys):
    steps, memory, alpha, output, valid, broken, index, error = RULES[rule]
    kwargs = dict(steps=steps, memory=memory, alpha=alpha, internal_has_output=output)
    good, bad = mb.check(valid, **kwargs), mb.check(broken, **kwargs)
    assert good.valid, good.error
    op, step = broken[index] if index < len(broken) else ("end", "-")
    assert not bad.valid and bad.error == f"action {index} ({op} {step}): {error}"
    # the independent reading agrees on both
    assert validator.judge(valid, steps, memory, alpha, output)[0] is None
    assert validator.judge(broken, steps, memory, alpha, output)[0] == index
    # the command line: exit 0, then 1
    for actions, code in ((valid, 0), (broken, 1)):
        trace = tmp_path / "trace.json"
        trace.write_text(
            json.dumps(
                {
                    "steps": steps,
                    "memory": float(memory),
                    "alpha": float(alpha),
                    "internal_has_output": output,
                    "actions": [{"op": op, "step": s} for op, s in actions],
                }
            )
        )
        assert main(["check", str(trace)]) == code
    capsys.readouterr()
    # the executor: gradients of full BPTT, or PlanError at the same index
    cell, xs, h0, head = make_problem("rnn", steps, 1)
    reference = mb.full_bptt(cell, xs, h0, head)
    result = mb.execute(forged_plan(valid, steps, memory, alpha, output), cell, xs, h0, head)
    assert np.array_equal(result.dh0, reference.dh0)
    assert result.backward_count == steps and result.forward_count == good.forward_count
    with pytest.raises(mb.PlanError) as info:
        mb.execute(forged_plan(broken, steps, memory, alpha, output), cell, xs, h0, head)
    assert (info.value.index, info.value.op, info.value.step, info.value.rule) == (
        index,
        op,
        step,
        error,
    )


def test_full_bptt_is_refused_below_its_peak():
    plan = mb.plan(6, "100%", alpha=2, strategy="bptt")
    assert mb.check(plan.actions, steps=6, memory=plan.peak_memory, alpha=2).valid
    for memory in (plan.peak_memory - 0.5, 2):
        verdict = mb.check(plan.actions, steps=6, memory=memory, alpha=2)
        assert not verdict.valid and "over the budget" in verdict.error


def _walks(draw_data, steps, alpha, output, memory, length):
    """A walk of mostly legal moves (from the independent state) and some illegal ones."""
    state = validator.State(steps, memory, alpha, output)
    actions = []
    for _ in range(length):
        legal = [
            (op, s) for op in validator.OPS for s in range(0, steps + 1) if state.allowed(op, s)
        ]
        progress = [m for m in legal if m[0] in ("backward", "forward")]
        choice = draw_data.draw(st.integers(0, 39), label="kind of move")
        if progress and choice >= 20:  # half the time: move towards the end
            move = min(progress)  # backward before forward
        elif legal and choice > 0:  # most of the rest: any legal move
            move = draw_data.draw(st.sampled_from(legal), label="legal move")
        else:  # and now and then an illegal one, at random
            move = (
                draw_data.draw(st.sampled_from(validator.OPS), label="op"),
                draw_data.draw(st.integers(-1, steps + 1), label="step"),
            )
        actions.append(move)
        if not state.allowed(*move):
            break
        state.take(*move)
        if state.next_back == 0 and draw_data.draw(st.booleans(), label="stop"):
            break
    return actions


@settings(max_examples=examples(1000), deadline=None)
@given(
    steps=st.integers(1, 6),
    alpha=st.sampled_from(ALPHAS),
    output=st.booleans(),
    extra=st.integers(0, 8),
    length=st.integers(0, 120),
    data=st.data(),
)
@example(steps=2, alpha=Fraction(1), output=True, extra=4, length=7, data=None)
def test_check_and_an_independent_reading_agree_both_ways(
    steps, alpha, output, extra, length, data
):
    if data is None:  # the pinned case: save_internal right after restore_internal
        actions = [(F, 1), (SI, 1), (F, 2), (RI, 1), (SI, 2), (B, 2), (B, 1)]
    else:
        memory = 1 + Fraction(extra, 2) * alpha
        actions = _walks(data, steps, alpha, output, memory, length)
    memory = 1 + Fraction(extra, 2) * alpha
    index, state = validator.judge(actions, steps, memory, alpha, output)
    verdict = mb.check(actions, steps=steps, memory=memory, alpha=alpha, internal_has_output=output)
    event(
        "valid"
        if index is None
        else "invalid: " + ("ends early" if index == len(actions) else "a broken rule")
    )
    assert verdict.valid == (index is None), (actions, verdict.error)
    if index is not None:
        assert verdict.error.startswith(f"action {index} ")
    assert verdict.forward_count == state.forwards
    assert Fraction(verdict.peak_memory).limit_denominator(1000) == state.peak
