"""Checkers for the tutorials' exercises: ``check("03.1", answer)`` says whether it is right.

Every checker works the right answer out with the library (nothing is typed in), prints
a verdict and returns True or False. Solutions are in ``solutions.py`` next to this file;
the test suite runs every solution through its checker.
"""

from __future__ import annotations

import math
import numbers
import re
import time

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


def _run_trace(make, *args, **check_args) -> tuple[mb.CheckResult | None, str]:
    """``mb.check``'s verdict on the actions ``make(*args)`` returns, or None and what went
    wrong: ``make`` is the reader's function, so whatever it raises becomes a hint."""
    try:
        return mb.check(list(make(*args)), **check_args), ""
    except Exception as exc:  # the reader's function may fail in any way: say which
        return None, f"{type(exc).__name__}: {exc}"


def _segment_reversal(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of (a, b) that returns a list of (op, step)"
    for T in range(1, 9):  # one segment from h[0] to the end: standard BPTT
        for alpha in (1, 2, 4.5):
            full = 1 + alpha * (T - 1)
            verdict, error = _run_trace(answer, 0, T, steps=T, memory=full, alpha=alpha)
            case = f"a = 0, b = T = {T}, alpha = {alpha}, full BPTT's budget {full:g}"
            if error or not verdict.valid:
                return False, f"{case}: {error or verdict.error}"
            if verdict.forward_count != T:
                return False, f"{case}: {verdict.forward_count} forwards, one per step is {T}"
    for T in range(2, 11):  # after a sweep that saved each segment's start, last to first
        for k in range(1, T):
            starts = range(0, T, k)

            def segments(T=T, k=k, starts=starts):
                actions = []
                for i in range(1, T + 1):
                    actions.append(("forward", i))
                    if i in starts:
                        actions.append(("save_hidden", i))
                for a in reversed(starts):
                    actions += answer(a, min(a + k, T))
                    if a:
                        actions.append(("free_hidden", a))
                return actions

            memory = len(starts) + 2 * (k - 1)  # the starts, and one segment less its core
            verdict, error = _run_trace(segments, steps=T, memory=memory, alpha=2)
            case = f"T = {T} in segments of {k}, alpha = 2, budget {memory}"
            if error or not verdict.valid:
                return False, f"{case}: {error or verdict.error}"
            if verdict.forward_count != 2 * T:
                return False, f"{case}: {verdict.forward_count} forwards, not the 2T = {2 * T}"
    return True, ""


def _keep_hidden_states(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of T that returns a list of (op, step)"
    for T in range(1, 31):
        memory = max(1, T - 1)
        best = mb.cost(T, memory, strategy="hsm")
        verdict, error = _run_trace(answer, T, steps=T, memory=memory)
        if error or not verdict.valid:
            return False, f"T = {T}, budget {memory}: {error or verdict.error}"
        if verdict.forward_count != best:
            return False, f"T = {T}: {verdict.forward_count} forwards, {best} is possible"
    return True, ""


def _c_of_t_2(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of t"

    def wrong(t: int) -> str:
        right = mb.cost(t, 2, strategy="hsm")
        try:
            got = answer(t)
        except Exception as exc:  # the reader's function may fail in any way: say which
            return f"for t = {t} it raised {type(exc).__name__}: {exc}"
        return "" if got == right else f"for t = {t} it gives {got}, the recursion {right}"

    for t in range(1, 301):
        if hint := wrong(t):
            return False, hint
    start = time.perf_counter()
    if hint := wrong(3000):
        return False, hint
    if time.perf_counter() - start > 0.2:  # a search over y would take hours at t = 10**9
        return False, "right for t <= 300, but it searches: derive a formula in t"
    for t in (10**6, 10**9 + 7):
        if hint := wrong(t):
            return False, hint
    return True, ""


def _longest_at_average(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of (m, a)"
    cases = [(m, a) for m in range(1, 13) for a in range(1, m + 1)]
    for m, a in cases + [(30, 5), (100, 3), (1000, 2)]:
        try:
            t = answer(m, a)
        except Exception as exc:  # the reader's function may fail in any way: say which
            return False, f"m = {m}, a = {a}: it raised {type(exc).__name__}: {exc}"
        if not isinstance(t, numbers.Integral) or t < 1:
            return False, f"m = {m}, a = {a}: {t!r} is not a whole number of steps"
        t = int(t)
        # C(t, m) - (a + 1) t falls, then rises: the longest fit is the last t at or below 0
        if mb.cost(t, m, strategy="hsm") > (a + 1) * t:
            return False, f"m = {m}, a = {a}: C({t}, {m}) is over {a + 1} forwards per step"
        if mb.cost(t + 1, m, strategy="hsm") <= (a + 1) * (t + 1):
            return False, (
                f"m = {m}, a = {a}: {t + 1} steps fit too. Adding a step adds r + 1 forwards"
            )
    return True, ""


def _free_the_start(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of T that returns a list of (op, step)"
    for alpha in (1.5, 2, 4.5):
        for T in range(1, 13):
            best = mb.cost(T, alpha, alpha=alpha, strategy="ism")
            verdict, error = _run_trace(answer, T, steps=T, memory=alpha, alpha=alpha)
            case = f"T = {T}, alpha = {alpha}, budget {alpha}"
            if error or not verdict.valid:
                return False, f"{case}: {error or verdict.error}"
            if verdict.forward_count > best:
                return False, f"{case}: {verdict.forward_count} forwards, {best} is possible"
    return True, ""


def _ism_beats_hsm(answer) -> tuple[bool, str]:
    if not isinstance(answer, numbers.Real) or isinstance(answer, bool):
        return False, "answer with a budget in units: a number"
    T, alpha = 5, 4.5

    def forwards(memory) -> tuple[int, int]:
        return tuple(mb.cost(T, memory, alpha=alpha, strategy=s) for s in ("ism", "hsm"))

    # with alpha = 9/2 every count changes at a multiple of half a unit, if at all
    budgets = [k / 2 for k in range(2, int(2 * (1 + alpha * (T - 1))) + 1)]
    first = next(m for m in budgets if forwards(m)[0] < forwards(m)[1])
    if answer == first:
        return True, ""
    if not 1 <= answer <= budgets[-1]:
        return False, f"a budget from 1 unit (h[0]) to full BPTT's {budgets[-1]:g}"
    ism, hsm = forwards(answer)
    if ism < hsm:
        return False, f"at {answer} units ISM needs {ism} forwards, HSM {hsm}: and below?"
    return False, f"at {answer} units ISM needs {ism} forwards, HSM {hsm}"


# the broken rule, by the words of mb.check's message
_RULES = {
    "over the budget": "budget",
    "needs the cursor": "cursor",
    "is not saved": "not saved",
    "in order T..1": "order",
    "in the core": "core",
}


def _predicted_error(answer) -> tuple[bool, str]:
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        return False, "answer with a pair (index, rule), such as (3, 'cursor')"
    actions = list(mb.plan(7, 3, strategy="hsm").actions)
    del actions[next(k for k, a in enumerate(actions) if a.op == "free_hidden")]
    error = mb.check(actions, steps=7, memory=3).error
    index = int(re.match(r"action (\d+) ", error).group(1))
    rule = next(name for words, name in _RULES.items() if words in error)
    if answer[0] != index:
        return False, "count from 0 in the list without the deleted action, and tally memory"
    if answer[1] != rule:
        return False, f"right action; which rule does it break: {', '.join(_RULES.values())}?"
    return True, ""


def _over_budget_trace(answer) -> tuple[bool, str]:
    try:
        verdict = mb.check(answer, steps=3, memory=2, alpha=1)
        free = mb.check(answer, steps=3, memory=10**6, alpha=1)
    except (TypeError, ValueError) as exc:
        return False, str(exc)
    over = not verdict.valid and "budget" in verdict.error
    return over and free.valid, "valid with all the memory in the world, over 2 units"


def _max_forwards_per_step(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of (ratio, beta)"
    cases = [(1.33, 2.0), (1.5, 1.8), (2.0, 0.5), (1.1, 3.0)]
    try:
        most = [float(answer(ratio, beta)) for ratio, beta in cases]
    except Exception as exc:  # the reader's function may fail in any way: say which
        return False, f"it raised {type(exc).__name__}: {exc}"
    # the prediction of the notebook, at the answer's F, should give each ratio back
    predicted = [(f + beta) / (1 + beta) for f, (_, beta) in zip(most, cases, strict=True)]
    right = np.allclose(predicted, [ratio for ratio, _ in cases], rtol=1e-12, atol=0)
    return bool(right), "put your F into (F + beta) / (1 + beta): it should give the ratio"


def _kept_after(steps: int, forget_bias: float) -> float:
    """What an LSTM whose weights are all zero but the forget gate's bias keeps of c_0 = 1
    after ``steps`` steps of zero input (so that c_t = f c_{t-1}: g = tanh(0) = 0)."""
    cell = mb.LSTMCell(1, 1, forget_bias=forget_bias)
    cell.params["W_xh"][:] = 0.0
    cell.params["W_hh"][:] = 0.0
    state, x = np.array([[0.0, 1.0]]), np.zeros((1, 1))  # [h_0 | c_0]
    for _ in range(steps):
        state, _ = cell.forward(state, x)
    return float(state[0, 1])


def _forget_bias(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of (T, p)"
    for steps, p in [(500, 0.29), (100, 0.5), (1000, 0.1), (20, 0.9)]:
        try:
            bias = float(answer(steps, p))
        except Exception as exc:  # the reader's function may fail in any way: say which
            return False, f"T = {steps}, p = {p}: it raised {type(exc).__name__}: {exc}"
        if not math.isfinite(bias):
            return False, f"T = {steps}, p = {p}: {bias} is not a bias"
        kept = _kept_after(steps, bias)
        if kept < p * (1 - 1e-9):
            return False, f"T = {steps}, p = {p}: with b = {bias:.4g} the cell keeps {kept:.4g}"
        if _kept_after(steps, bias - 1e-3) >= p:
            return False, f"T = {steps}, p = {p}: b = {bias:.4g} keeps {kept:.4g}; less will do"
    return True, ""


def _midpoint_forwards(answer) -> tuple[bool, str]:
    def forwards(t: int, m: int) -> int:
        # what plan_from_policy writes with y = ceil(t / 2): it runs when t <= 2 or m = 1
        if t <= 1:
            return t
        if t <= 2 or m == 1:
            return t + forwards(t - 1, m)
        y = (t + 1) // 2
        return y + forwards(t - y, m - 1) + forwards(y, m)

    best = mb.cost(20, 4, strategy="hsm")
    return answer == forwards(20, 4), f"more than the optimal {best}: count the plan's forwards"


def _ism_plan(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function (T, m, alpha) -> list of actions"
    for steps, memory, alpha in [(12, 5, 2), (16, 9, 2), (10, 4, 3), (15, 10, 4.5)]:
        case = f"T={steps}, m={memory}, alpha={alpha}"
        try:
            verdict = mb.check(answer(steps, memory, alpha), steps, memory, alpha=alpha)
        except Exception as exc:  # the reader's function may fail in any way: say which
            return False, f"{case}: it raised {exc!r}"
        paper = mb.cost(steps, memory, alpha=alpha, strategy="ism", model="paper")
        if not verdict.valid:
            return False, f"{case}: {verdict.error}"
        if verdict.strategy != "ism":
            return False, f"{case}: save internal states (this memory has room), never hidden"
        if verdict.forward_count > paper:
            return False, f"{case}: {verdict.forward_count} forwards, the recursion gives {paper}"
    return True, ""


def _internal_state_executor(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function like run_plan"
    steps = 12
    cell = mb.RNNCell(3, 5, seed=7)
    rng = np.random.default_rng(7)
    xs, h0 = rng.normal(size=(steps, 2, 3)), rng.normal(size=(2, 5))
    head = mb.MSEHead(rng.normal(size=(steps, 2, 5)))

    def forward_step(i, h_prev):
        return cell.forward(h_prev, xs[i - 1])

    def backward_step(i, cache, carry, grads):
        _, dh, _ = head.loss_and_grads(i - 1, cell.output_of(cache))
        carry, dparams = cell.backward(cache, carry + dh)
        for name, d in dparams.items():
            grads[name] += d
        return carry

    full = mb.full_bptt(cell, xs, h0, head)
    for plan in (  # both save, restore and free internal states
        mb.plan(steps, 6, alpha=cell.alpha),
        mb.plan(steps, 7, alpha=cell.alpha, strategy="ism", model="paper"),
    ):
        case = f"the {plan.strategy} plan for T={steps}, memory={plan.memory}"
        expected = list(mb.execute(plan, cell, xs, h0, head).memory_timeline)
        grads = {name: np.zeros_like(p) for name, p in cell.params.items()}
        try:
            dh0, forwards, timeline = answer(plan.actions, forward_step, backward_step, h0, grads)
        except Exception as exc:  # the reader's function may fail in any way: say which
            return False, f"{case}: it raised {exc!r}"
        if not all(np.array_equal(grads[k], full.grads[k]) for k in full.grads):
            return False, f"{case}: the gradients are not those of full BPTT"
        if not np.array_equal(dh0, full.dh0):
            return False, f"{case}: dL/dh0 is not that of full BPTT"
        if forwards != plan.forward_count:
            return False, f"{case}: {forwards} forwards counted, the plan has {plan.forward_count}"
        if list(timeline) != expected:
            return False, f"{case}: memory after each action should begin {expected[:6]}"
    return True, ""


def _longest_single_sweep(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of (M, alpha)"
    for alpha in (1, 2, 4.5):
        for memory in (1, 2, 3, 4.5, 5.5, 8, 9, 16, 20):

            def one_sweep(steps: int, memory=memory, alpha=alpha) -> bool:
                return mb.cost(steps, memory, alpha=alpha) == steps

            longest = next(t for t in range(1, 10**4) if not one_sweep(t + 1))
            case = f"M = {memory}, alpha = {alpha}"
            try:
                got = answer(memory, alpha)
            except Exception as exc:  # the reader's function may fail in any way: say which
                return False, f"{case}: it raised {type(exc).__name__}: {exc}"
            if not isinstance(got, numbers.Integral) or got < 1:
                return False, f"{case}: {got!r} is not a whole number of steps"
            if got > longest:
                cost = mb.cost(int(got), memory, alpha=alpha)
                return False, f"{case}: C({got}, M) = {cost} forwards, more than one sweep"
            if got < longest:
                return False, (
                    f"{case}: T = {got + 1} is one sweep too. Once s[1] is saved, does "
                    "anything read h[0] again (tutorial 04, exercise 04.1)?"
                )
    return True, ""


def _hidden_only_sweep(answer) -> tuple[bool, str]:
    if not callable(answer):
        return False, "answer with a function of T"
    for steps in range(1, 41):
        # with room for every hidden state, the best hidden-state plan keeps h[0..T-1] and
        # runs each step before T once more; no plan whose sweep saves no internal state
        # does better: s[i], i < T, is gone once step i + 1 runs, and backward i needs it
        fewest = mb.cost(steps, steps, strategy="hsm")
        try:
            got = answer(steps)
        except Exception as exc:  # the reader's function may fail in any way: say which
            return False, f"T = {steps}: it raised {type(exc).__name__}: {exc}"
        if got != fewest:
            return False, (
                f"T = {steps}: {got!r}, not {fewest}. When the sweep ends, the core still "
                "holds one internal state: which steps must run again?"
            )
    return True, ""


CHECKERS = {
    "01.1": _rnn_alpha_with_preactivation,
    "01.2": _full_bptt_peak,
    "02.1": _segment_reversal,
    "02.2": _keep_hidden_states,
    "03.1": _c_of_t_2,
    "03.2": _longest_at_average,
    "04.1": _free_the_start,
    "04.2": _ism_beats_hsm,
    "05.1": _predicted_error,
    "05.2": _over_budget_trace,
    "06.1": _max_forwards_per_step,
    "06.2": _forget_bias,
    "07.1": _midpoint_forwards,
    "07.2": _ism_plan,
    "07.3": _internal_state_executor,
    "08.1": _longest_single_sweep,
    "08.2": _hidden_only_sweep,
}


def check(exercise: str, answer) -> bool:
    """Print whether ``answer`` solves ``exercise`` (with a hint if not); return it."""
    if answer is None:
        print(f"exercise {exercise}: not answered yet")
        return False
    right, hint = CHECKERS[exercise](answer)
    print(f"exercise {exercise}: " + ("right!" if right else f"not yet. Hint: {hint}"))
    return right
