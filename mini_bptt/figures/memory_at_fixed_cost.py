"""Memory needed for at most 2 forward evaluations per step, divided by Chen's memory,
against T for several beta = alpha - 1 (the paper's Fig. 6, left).

Chen's memory is taken two ways. The paper writes sqrt(T) (1 + beta): sqrt(T) hidden
states and sqrt(T) internal states at beta units each, as if every internal state in a
segment shared its input hidden state with the one before. The rules that MSM is charged
by (and its DP, equal to exhaustive search) charge every saved internal state alpha =
1 + beta units; replayed under them, Chen's own plan peaks near sqrt(T) (1 + alpha),
sqrt(T) units more. The left panel divides by that peak (one accounting for both), the
right by the paper's formula.
"""

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


def chen_peak(steps: int, alpha: int) -> float:
    """Peak units of Chen's sqrt(T) plan, replayed under the rules MSM is charged by."""
    return mb.plan(steps, "100%", alpha=alpha, strategy="chen").peak_memory


def run(out: Path, quick: bool) -> dict:
    ts = lengths(quick)
    rows = []
    fig, axes = figure(ncols=2, size=(5.6, 4.4))
    for beta in BETAS:
        alpha = 1 + beta
        for model in ("optimal", "paper"):
            for t in ts:
                memory = smallest_memory(t, alpha, model)
                chen, peak = math.sqrt(t) * (1 + beta), chen_peak(t, alpha)
                rows.append(
                    (beta, model, t, memory, round(chen, 4), memory / chen, peak, memory / peak)
                )
            for ax, column in zip(axes[0], (7, 5), strict=True):
                ax.plot(
                    ts,
                    [r[column] for r in rows if r[:2] == (beta, model)],
                    linestyle="-" if model == "optimal" else ":",
                    color=f"C{BETAS.index(beta)}",
                    label=f"beta={beta} ({model})",
                )
    for ax, below in zip(axes[0], ("Chen's own plan's peak", "sqrt(T) (1 + beta)"), strict=True):
        ax.axhline(1, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_ylabel(f"MSM's memory / {below}")
        ax.set_title(f"divided by {below}", fontsize="medium")
        ax.legend(fontsize="x-small", ncol=2)
        ax.grid(alpha=0.3)
    fig.suptitle(TITLE, fontsize="medium")
    write_csv(
        out / "memory_at_fixed_cost.csv",
        (
            "beta",
            "model",
            "steps",
            "memory",
            "chen_memory",
            "ratio",
            "chen_plan_memory",
            "ratio_to_chen_plan",
        ),
        rows,
    )
    save(fig, out / "memory_at_fixed_cost.png")
    top = [r for r in rows if r[2] == max(ts) and r[1] == "optimal"]
    return {
        "steps": max(ts),
        "memory_by_beta": {r[0]: r[3] for r in top},
        "ratio_by_beta": {r[0]: round(r[5], 4) for r in top},
        "chen_plan_memory_by_beta": {r[0]: r[6] for r in top},
        "ratio_to_chen_plan_by_beta": {r[0]: round(r[7], 4) for r in top},
    }
