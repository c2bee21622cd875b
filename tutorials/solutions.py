"""Solutions to the tutorials' exercises (``exercises.check`` judges each one)."""

from __future__ import annotations


def c_of_t_2(t: int) -> int:
    """C(t, 2): with two slots (h[0] and one more) the closed form's r is the smallest
    with t <= (r + 1)(r + 2) / 2, and C = (r + 1) t - binom(r + 2, 3)."""
    r = 0
    while (r + 1) * (r + 2) // 2 < t:
        r += 1
    return (r + 1) * t - (r + 2) * (r + 1) * r // 6


SOLUTIONS = {
    # the cache would hold h_prev, h and a: three (batch, hidden) arrays, one state each
    "01.1": 3.0,
    # h[0] and s[1..29], 2 units each: 1 + 2 * 29
    "01.2": 59,
    # step i runs T - i + 1 times: 10 + 9 + ... + 1
    "02.1": 55,
    # 2T - 1 forwards means every step is recomputed at most once: T - 1 slots
    "02.2": 29,
    # y = 1: 1 + C(2, 1) + C(1, 2) = 1 + 3 + 1; y = 2: 2 + C(1, 1) + C(2, 2) = 2 + 1 + 3
    "03.1": 5,
    "03.2": c_of_t_2,
    # x (not counted), h_prev, c_prev, i, f, g, o, tanh_c, c, h: 9H against a state of 2H
    "04.1": 4.5,
    # with 10 units an internal state (4.5) is expensive: hidden states win from T = 20
    "04.2": 20,
    # save h[1]; recompute from it for steps 4, 3, 2; then step 1 from h[0]: 8 forwards
    "05.1": [
        ("forward", 1),
        ("save_hidden", 1),
        ("forward", 2),
        ("forward", 3),
        ("forward", 4),
        ("backward", 4),
        ("restore_hidden", 1),
        ("forward", 2),
        ("forward", 3),
        ("backward", 3),
        ("restore_hidden", 1),
        ("forward", 2),
        ("backward", 2),
        ("free_hidden", 1),
        ("restore_hidden", 0),
        ("forward", 1),
        ("backward", 1),
    ],
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
    "06.1": lambda forward_per_step, beta: (forward_per_step + beta) / (1 + beta),
    "06.2": "3%",
}
