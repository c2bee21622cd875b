"""The paper's analytic bounds on BPTT-HSM against the exact cost (closed form), and a
table of the asymptotic regimes at several T: O(log T) memory (Chen's bisection) and
sqrt(T) memory (Chen's segments), the DP's exact cost and the paper's bounds beside
what Chen's plans cost."""

from __future__ import annotations

import math
from pathlib import Path

from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.planning.baselines import baseline_cost, baseline_peak, chen_segment_length
from mini_bptt.planning.hsm_closed_form import hsm_cost

TITLE = "HSM: exact cost against the paper's bounds"
SLOTS = (2, 5, 10, 50)
TABLE_LENGTHS = (100, 1000, 10_000, 100_000)
TABLE_HEADER = (
    "steps",
    "regime",
    "memory",
    "dp_forward_per_step",
    "bound_a_plus_1",
    "bound_m_t_pow",
    "bound_4_t_pow",
    "chen_strategy",
    "chen_memory",
    "chen_forward_per_step",
)


def a_bound(t: int, m: int) -> int | None:
    """(a + 1) t for the smallest integer a with t < m**a / a!, if any a <= 60 works."""
    for a in range(1, 61):
        if t < m**a / math.factorial(a):
            return (a + 1) * t
    return None


def regimes(t: int) -> list[tuple]:
    """Rows of ``TABLE_HEADER`` for ``t`` steps, with alpha = 1 (one unit per state).

    log: the hidden states Chen's bisection holds at its peak (its start included),
    against the DP with as many. sqrt: ceil(sqrt(t)) hidden states for the DP; Chen's
    segments hold as many hidden states plus a segment's internal states, so its column
    gives its own peak."""
    log_m = baseline_peak("chen-recursive", t, 1, 1)
    chen_m = baseline_peak("chen", t, 1, 1)
    rows = []
    for regime, m, chen, chen_memory in (
        ("log", log_m, "chen-recursive", log_m),
        ("sqrt", chen_segment_length(t), "chen", chen_m),
    ):
        a = a_bound(t, m)
        rows.append(
            (
                t,
                regime,
                m,
                hsm_cost(t, m) / t,
                "" if a is None else a // t,
                m * t ** (1 / m),
                4 * t ** (1 / m),
                chen,
                chen_memory,
                baseline_cost(chen, t) / t,
            )
        )
    return rows


def run(out: Path, quick: bool) -> dict:
    ts = sorted({round(10 ** (k / 8)) for k in range(0, 41 if not quick else 33)})
    rows, worst = [], {"m_bound": 0.0, "4_bound": 0.0, "a_bound": 0.0}
    fig, axes = figure(ncols=len(SLOTS), size=(4, 3.6))
    for ax, m in zip(axes[0], SLOTS, strict=True):
        exact, mb_, four, ab = [], [], [], []
        for t in ts:
            c = hsm_cost(t, m)
            b1, b2, b3 = m * t ** (1 + 1 / m), 4 * t ** (1 + 1 / m), a_bound(t, m)
            rows.append((m, t, c, round(b1, 3), round(b2, 3), b3 if b3 is not None else ""))
            worst["m_bound"] = max(worst["m_bound"], c / b1)
            worst["4_bound"] = max(worst["4_bound"], c / b2)
            if b3 is not None:
                worst["a_bound"] = max(worst["a_bound"], c / b3)
            exact.append(c / t)
            mb_.append(b1 / t)
            four.append(b2 / t)
            ab.append(b3 / t if b3 is not None else math.nan)
        ax.plot(ts, exact, label="exact C(t, m) / t", color="black")
        ax.plot(ts, mb_, label="m t^(1/m)", linestyle="--")
        ax.plot(ts, four, label="4 t^(1/m)", linestyle=":")
        ax.plot(ts, ab, label="(a + 1), t < m^a / a!", linestyle="-.")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sequence length t")
        ax.set_ylabel("forward evaluations per step")
        ax.set_title(f"m = {m}", fontsize="medium")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    write_csv(
        out / "bounds.csv",
        ("m", "t", "exact", "bound_m_t_pow", "bound_4_t_pow", "bound_a_plus_1"),
        rows,
    )
    save(fig, out / "bounds.png")
    table = [row for t in TABLE_LENGTHS for row in regimes(t)]
    write_csv(out / "bounds_table.csv", TABLE_HEADER, table)
    bisection = [r for r in table if r[1] == "log"]
    spread = [r[9] / math.log2(r[0]) for r in bisection]  # cost / (T log2 T)
    return {f"largest_exact_over_{k}": round(v, 4) for k, v in worst.items()} | {
        "table": [dict(zip(TABLE_HEADER, row, strict=True)) for row in table],
        "largest_dp_over_bisection": round(max(r[3] / r[9] for r in bisection), 4),
        "bisection_cost_over_t_log_t": [round(v, 4) for v in spread],
        "bisection_memory_over_log_t": [round(r[2] / math.log2(r[0]), 4) for r in bisection],
    }
