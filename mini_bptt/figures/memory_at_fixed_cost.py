"""Memory needed for at most 2 forward evaluations per step, divided by Chen's
sqrt(T) (1 + beta), against T for several beta = alpha - 1."""

from __future__ import annotations

import math
from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv

TITLE = "Memory at 2 forwards per step, relative to Chen's sqrt(T)(1 + beta)"
BETAS = (0, 1, 4, 9)


def smallest_memory(steps: int, alpha: int, model: str, per_step: float = 2.0) -> int:
    """Smallest whole budget whose cost is at most ``per_step * steps`` (cost falls with memory).

    The bracket grows by doubling from below, so the DP tables are only ever as wide as needed.
    """

    def cheap_enough(memory: int) -> bool:
        return mb.cost(steps, memory, alpha=alpha, model=model) <= per_step * steps

    hi = 1
    while not cheap_enough(hi):
        hi *= 2
    lo = hi // 2 + 1 if hi > 1 else 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cheap_enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def lengths(quick: bool) -> list[int]:
    """About ten lengths per decade from 10 up to 300 (quick) or 1000."""
    top = 300 if quick else 1000
    grid = {round(10 ** (1 + k / 10)) for k in range(21)} | {top}
    return sorted(t for t in grid if t <= top)


def run(out: Path, quick: bool) -> dict:
    ts = lengths(quick)
    rows = []
    fig, axes = figure()
    ax = axes[0][0]
    for beta in BETAS:
        alpha = 1 + beta
        for model in ("optimal", "paper"):
            ratios = []
            for t in ts:
                memory = smallest_memory(t, alpha, model)
                chen = math.sqrt(t) * (1 + beta)
                rows.append((beta, model, t, memory, round(chen, 4), memory / chen))
                ratios.append(memory / chen)
            ax.plot(
                ts,
                ratios,
                linestyle="-" if model == "optimal" else ":",
                label=f"beta={beta} ({model})",
            )
    ax.set_xscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("memory / (sqrt(T) (1 + beta))")
    ax.set_title(TITLE, fontsize="medium")
    ax.legend(fontsize="x-small", ncol=2)
    ax.grid(alpha=0.3)
    write_csv(
        out / "memory_at_fixed_cost.csv",
        ("beta", "model", "steps", "memory", "chen_memory", "ratio"),
        rows,
    )
    save(fig, out / "memory_at_fixed_cost.png")
    top = max(ts)
    return {
        "steps": top,
        "ratio_by_beta": {r[0]: round(r[5], 4) for r in rows if r[2] == top and r[1] == "optimal"},
    }
