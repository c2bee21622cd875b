"""Solutions to the tutorials' exercises (``exercises.check`` judges each one)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def reverse_segment(a: int, b: int) -> list[tuple[str, int]]:
    """02.1: from the saved h[a], run steps a+1..b keeping their internal states, then
    reverse them from b down. s[b] is still in the core when step b is reversed, so it is
    not saved (full BPTT's peak is 1 + alpha (T - 1), not 1 + alpha T), and each saved
    s[i] is freed once step i is reversed."""
    actions = [("restore_hidden", a)]
    for i in range(a + 1, b + 1):
        actions.append(("forward", i))
        if i < b:
            actions.append(("save_internal", i))
    for i in range(b, a, -1):
        actions.append(("backward", i))
        if i < b:
            actions.append(("free_internal", i))
    return actions


def keep_hidden_states(T: int) -> list[tuple[str, int]]:
    """02.2: save h[1..T-2] on the sweep (with h[0], T - 1 units); step T is reversed from
    the core, then each step i from h[i-1] with one more forward: T + (T - 1) forwards."""
    actions = []
    for i in range(1, T + 1):
        actions.append(("forward", i))
        if i <= T - 2:
            actions.append(("save_hidden", i))
    actions.append(("backward", T))
    for i in range(T - 1, 0, -1):
        actions += [("restore_hidden", i - 1), ("forward", i), ("backward", i)]
        if i > 1:
            actions.append(("free_hidden", i - 1))
    return actions


def c_of_t_2(t: int) -> int:
    """03.1: C(t, 2). With one slot the right part of a split is recomputed from h[y], so
    the best plan cuts the t steps into chunks, each reversed from its start, the sweep
    passing every chunk left of the one being reversed. A step in the j-th chunk from the
    right runs j - 1 times in sweeps, and up to the chunk's length within it: if no step may
    run more than r + 1 times, the chunks hold r + 1, r, ..., 1 steps, (r + 1)(r + 2) / 2
    in all. So r is the smallest with t <= (r + 1)(r + 2) / 2; counting the forwards saved
    below r + 1 per step, C = (r + 1) t - binom(r + 2, 3) (the closed form with m = 2)."""
    r = 0
    while (r + 1) * (r + 2) // 2 < t:
        r += 1
    return (r + 1) * t - (r + 2) * (r + 1) * r // 6


def longest_at_average(m: int, a: int) -> int:
    """03.2: by the closed form, C(t, m) - C(t - 1, m) = r + 1 (Pascal's rule gives it where
    r changes too): the t-th step adds r + 1 forwards. So C(t, m) - (a + 1) t falls while
    r < a, holds still while r = a, and rises by 1 a step past t = binom(m + a, a), where it
    is -binom(m + a, a - 1). It is back at 0 after binom(m + a, a - 1) more steps, which for
    a <= m is before r passes a + 1: at t = binom(m + a, a) + binom(m + a, a - 1)."""
    return math.comb(m + a + 1, a)


def free_the_start(T: int) -> list[tuple[str, int]]:
    """04.1: h[0] is read once, by forward 1, so free it there and save s[1] in its place
    (alpha units in all); s[1] holds h[1], so every later step restarts from it:
    1 + (T - 1) + (T - 2) + ... + 1 = 1 + T (T - 1) / 2 forwards."""
    actions = [("free_hidden", 0), ("forward", 1), ("save_internal", 1)]
    for i in range(T, 1, -1):
        if i < T:
            actions.append(("restore_internal", 1))
        actions += [("forward", j) for j in range(2, i + 1)]
        actions.append(("backward", i))
    return actions + [("backward", 1), ("free_internal", 1)]


def smallest_forget_bias(T: int, p: float) -> float:
    """06.2: with zero weights and inputs, g = tanh(0) = 0, so c_t = f c_{t-1} with
    f = sigmoid(b): c_T = sigmoid(b)^T c_0, at least p c_0 when sigmoid(b) >= q = p^(1/T),
    that is b >= log(q / (1 - q))."""
    q = p ** (1 / T)
    return math.log(q / (1 - q))


def ism_actions(T: int, m: float, alpha: float) -> list[tuple[str, int]]:
    """The paper's BPTT-ISM plan: its table (memoised), then the plan read off it, with the
    same recursion as the notebook's plan_from_policy."""
    best: dict[tuple[int, float], tuple[float, int | None]] = {}

    def table(t: int, m: float) -> tuple[float, int | None]:
        # (C(t, m), the first save y, or None to run to the end)
        if m < 1:
            return float("inf"), None  # no room for the start
        if t <= 1:
            return t, None
        if (t, m) not in best:
            options = [(t + table(t - 1, m)[0], None)]
            options += [
                (y + table(y - 1, m)[0] + table(t - y, m - alpha)[0], y) for y in range(1, t)
            ]
            best[t, m] = min(options, key=lambda option: option[0])
        return best[t, m]

    actions: list[tuple[str, int]] = []
    cursor = 0

    def forward_to(position: int) -> None:
        nonlocal cursor
        actions.extend(("forward", i) for i in range(cursor + 1, position + 1))
        cursor = position

    def solve(a: int, t: int, m: float) -> None:
        nonlocal cursor
        if t == 0:
            return
        if cursor != a:  # h[0] is a hidden state; any other start is a saved s[a]
            actions.append(("restore_internal" if a else "restore_hidden", a))
            cursor = a
        y = table(t, m)[1]
        if y is None:
            forward_to(a + t)
            actions.append(("backward", a + t))
            solve(a, t - 1, m)
        else:
            forward_to(a + y)
            actions.append(("save_internal", a + y))
            solve(a + y, t - y, m - alpha)
            actions.extend([("backward", a + y), ("free_internal", a + y)])
            solve(a, y - 1, m)

    solve(0, T, m)
    return actions


def run_plan_with_internal_states(actions, forward_step, backward_step, h0, grads):
    """The notebook's run_plan, with the internal-state actions: the core keeps h_i beside
    s_i, since a stored s_i must give the cursor h_i back."""
    saved, internal = {0: h0}, {}
    h, cursor = h0, 0
    core = None  # (i, h_i, s_i) of the step just computed
    carry = np.zeros_like(h0)
    forwards, timeline = 0, []
    for action in actions:
        op, i = action.op, action.step
        if op == "forward":
            assert cursor == i - 1, f"forward {i} needs h[{i - 1}], the cursor is at {cursor}"
            h, cache = forward_step(i, h)
            cursor, core, forwards = i, (i, h, cache), forwards + 1
        elif op == "save_hidden":
            saved[i] = h
        elif op == "save_internal":
            assert core is not None and core[0] == i, f"save_internal {i} needs s[{i}] in the core"
            internal[i] = core[1:]
        elif op == "restore_hidden":
            h, cursor, core = saved[i], i, None
        elif op == "restore_internal":
            h, cursor = internal[i][0], i
        elif op == "free_hidden":
            del saved[i]
        elif op == "free_internal":
            del internal[i]
        elif op == "backward":
            in_core = core is not None and core[0] == i
            carry = backward_step(i, core[2] if in_core else internal[i][1], carry, grads)
        else:
            raise ValueError(f"unknown action {op!r}")
        timeline.append(len(saved) + 2 * len(internal))  # alpha = 2 for the tanh RNN
    return carry, forwards, timeline


def longest_single_sweep(M: float, alpha: float) -> int:
    """08.1: no step runs twice when the sweep stores s[1..T-1], every internal state but
    the core's. h[0] is read only by forward 1, and s[1] holds h[1], so h[0] may be freed
    before the sweep (04.1): alpha (T - 1) <= M, so T = floor(M / alpha) + 1 (exact in
    fractions: 4.5 is 9/2). Keeping h[0] as well, 1 + alpha (T - 1) <= M, is one step
    short whenever M / alpha is whole or (M - 1) / alpha crosses a whole number."""
    return math.floor(Fraction(str(M)) / Fraction(str(alpha))) + 1


SOLUTIONS = {
    # the cache would hold h_prev, h and a: three (batch, hidden) arrays, one state each
    "01.1": 3.0,
    # h[0] and s[1..29], 2 units each: 1 + 2 * 29
    "01.2": 59,
    "02.1": reverse_segment,
    "02.2": keep_hidden_states,
    "03.1": c_of_t_2,
    "03.2": longest_at_average,
    "04.1": free_the_start,
    # HSM never needs fewer than 2T - 1 = 9 forwards, from T - 1 = 4 units on. Below
    # 1 + alpha = 5.5 units ISM holds no internal state beside h[0] (at 4.5, s[1] alone
    # with h[0] freed: 1 + 4 + 3 + 2 + 1 = 11 forwards); at 5.5 it saves s[3] beside h[0]:
    # 3 + C(2, 1) + 2 = 3 + 3 + 2 = 8 < 9
    "04.2": 5.5,
    # without free_hidden 4 (action 17), h[0], h[1] and h[4] fill the 3 units, and
    # save_hidden 2, action 20 of the plan, is action 19 of the list without it
    "05.1": (19, "budget"),
    # h[0], h[1] and h[2] saved at once: 3 units
    "05.2": [
        ("forward", 1),
        ("save_hidden", 1),
        ("forward", 2),
        ("save_hidden", 2),
        ("forward", 3),
        ("backward", 3),
        ("restore_hidden", 1),
        ("forward", 2),
        ("backward", 2),
        ("restore_hidden", 0),
        ("forward", 1),
        ("backward", 1),
    ],
    # (F + beta) / (1 + beta) <= ratio, solved for F
    "06.1": lambda ratio, beta: ratio * (1 + beta) - beta,
    "06.2": smallest_forget_bias,
    # plan_from_policy(20, 4, lambda t, m: (t + 1) // 2): valid, gradients still bit for bit
    # (the steps are still reversed T..1 from the same arrays), 68 forwards against C = 59
    "07.1": 68,
    "07.2": ism_actions,
    "07.3": run_plan_with_internal_states,
    "08.1": longest_single_sweep,
    # s[1..T-1] are lost during the sweep (each when the next step runs): every step but
    # T runs again, once at least, and once is enough when h[0..T-2] are all kept
    "08.2": lambda T: 2 * T - 1,
}
