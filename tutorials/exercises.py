"""Checkers for the tutorials' exercises: ``check("03.1", answer)`` says whether it is right.

Every checker works the right answer out with the library (nothing is typed in), prints
a verdict and returns True or False. Solutions are in ``solutions.py`` next to this file;
the test suite runs every solution through its checker.
"""

from __future__ import annotations

import numpy as np

import mini_bptt as mb


def _rnn_alpha_with_preactivation(answer) -> tuple[bool, str]:
    batch, hidden = 2, 5
    h_prev, h, a = (np.zeros((batch, hidden)) for _ in range(3))  # the cache, plus a
    alpha = (h_prev.nbytes + h.nbytes + a.nbytes) / h.nbytes
    return answer == alpha, "count the (batch, hidden) arrays the cache would hold"


def _full_bptt_peak(answer) -> tuple[bool, str]:
    peak = mb.plan(30, "100%", alpha=2, strategy="bptt").peak_memory
    return answer == peak, "h[0], then the internal states of steps 1..T-1 (step T's is the core)"


def _recompute_forwards(answer) -> tuple[bool, str]:
    return answer == mb.cost(10, 1, strategy="recompute"), "step i is computed T - i + 1 times"


def _hsm_smallest_for_2t(answer) -> tuple[bool, str]:
    smallest = next(m for m in range(1, 31) if mb.cost(30, m, strategy="hsm") <= 2 * 30 - 1)
    return answer == smallest, "try mb.cost(30, m, strategy='hsm') for growing m"


def _c_of_t_2(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of t"
    wrong = [t for t in range(1, 301) if answer(t) != mb.cost(t, 2, strategy="hsm")]
    return not wrong, f"wrong for t = {wrong[:3]}..." if wrong else ""


def _c_3_2(answer) -> tuple[bool, str]:
    return answer == mb.cost(3, 2, strategy="hsm"), "min over y of y + C(3 - y, 1) + C(y, 2)"


def _lstm_alpha(answer) -> tuple[bool, str]:
    return answer == mb.LSTMCell(3, 7).alpha, "count the (B, H) arrays of the cache; a state is 2H"


def _hsm_beats_ism(answer) -> tuple[bool, str]:
    first = next(
        t
        for t in range(2, 400)
        if mb.cost(t, 10, alpha=4.5, strategy="hsm") < mb.cost(t, 10, alpha=4.5, strategy="ism")
    )
    return answer == first, "compare mb.cost(t, 10, alpha=4.5, strategy=...) for growing t"


def _optimal_trace(answer) -> tuple[bool, str]:
    try:
        verdict = mb.check(answer, steps=4, memory=2, alpha=1)
    except (TypeError, ValueError) as exc:
        return False, str(exc)
    if not verdict.valid:
        return False, verdict.error
    best = mb.cost(4, 2, alpha=1, strategy="hsm")
    return verdict.forward_count == best, f"valid, {verdict.forward_count} forwards; best {best}"


def _over_budget_trace(answer) -> tuple[bool, str]:
    try:
        verdict = mb.check(answer, steps=3, memory=2, alpha=1)
        free = mb.check(answer, steps=3, memory=10**6, alpha=1)
    except (TypeError, ValueError) as exc:
        return False, str(exc)
    over = not verdict.valid and "budget" in verdict.error
    return over and free.valid, "valid with all the memory in the world, over 2 units"


def _predicted_ratio(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of (forward_per_step, beta)"
    cases = [(1.0, 2.0), (1.95, 1.8), (3.0, 0.5)]
    right = [(f + b) / (1 + b) for f, b in cases]  # forwards plus backwards, over T(1 + beta)
    got = [answer(f, b) for f, b in cases]
    return bool(np.allclose(got, right)), "time ~ forward count + beta T, over T (1 + beta)"


def _two_forwards_budget(answer) -> tuple[bool, str]:
    percents = [p for p in range(1, 101) if mb.cost(500, f"{p}%", alpha=4.5) <= 2 * 500]
    return answer == f"{percents[0]}%", "try mb.cost(500, f'{p}%', alpha=4.5) for p = 1, 2, ..."


CHECKERS = {
    "01.1": _rnn_alpha_with_preactivation,
    "01.2": _full_bptt_peak,
    "02.1": _recompute_forwards,
    "02.2": _hsm_smallest_for_2t,
    "03.1": _c_3_2,
    "03.2": _c_of_t_2,
    "04.1": _lstm_alpha,
    "04.2": _hsm_beats_ism,
    "05.1": _optimal_trace,
    "05.2": _over_budget_trace,
    "06.1": _predicted_ratio,
    "06.2": _two_forwards_budget,
}


def check(exercise: str, answer) -> bool:
    """Print whether ``answer`` solves ``exercise`` (with a hint if not); return it."""
    if answer is None:
        print(f"exercise {exercise}: not answered yet")
        return False
    right, hint = CHECKERS[exercise](answer)
    print(f"exercise {exercise}: " + ("right!" if right else f"not yet. Hint: {hint}"))
    return right
