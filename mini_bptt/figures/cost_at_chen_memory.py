"""Forward evaluations per step given Chen's memory, against T (the paper's Fig. 6, right).

Chen's memory two ways, as in ``memory_at_fixed_cost``: the peak of Chen's own plan
replayed under the rules MSM is charged by (left panel: one accounting for both), and
the paper's sqrt(T) (1 + beta), which charges Chen's internal states beta = alpha - 1
units each where MSM pays alpha (right panel). Chen's plan itself is the dashed line.
"""

from __future__ import annotations

import math
from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.figures.memory_at_fixed_cost import BETAS, chen_peak, lengths

TITLE = "Cost at Chen's memory, against T"


def run(out: Path, quick: bool) -> dict:
    ts = lengths(quick)
    rows = []
    fig, axes = figure(ncols=2, size=(5.6, 4.4))
    for beta in BETAS:
        alpha = 1 + beta
        for t in ts:
            memory, peak = math.sqrt(t) * (1 + beta), chen_peak(t, alpha)
            msm, at_peak = mb.cost(t, memory, alpha=alpha), mb.cost(t, peak, alpha=alpha)
            chen = mb.cost(t, "100%", alpha=alpha, strategy="chen")
            rows.append(
                (beta, t, round(memory, 4), msm, msm / t, peak, chen / t, at_peak, at_peak / t)
            )
        mine = [r for r in rows if r[0] == beta]
        for ax, column in zip(axes[0], (8, 4), strict=True):
            ax.plot(
                ts,
                [r[column] for r in mine],
                color=f"C{BETAS.index(beta)}",
                label=f"MSM, beta={beta}",
            )
    chen_curve = [r[6] for r in rows if r[0] == BETAS[-1]]  # the same for every beta
    for ax, given in zip(axes[0], ("Chen's own plan's peak", "sqrt(T) (1 + beta)"), strict=True):
        ax.plot(ts, chen_curve, color="black", linestyle="--", label="Chen sqrt(T), own memory")
        ax.set_xscale("log")
        ax.set_xlabel("sequence length T")
        ax.set_ylabel("forward evaluations per step")
        ax.set_title(f"MSM given {given}", fontsize="medium")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    fig.suptitle(TITLE, fontsize="medium")
    write_csv(
        out / "cost_at_chen_memory.csv",
        (
            "beta",
            "steps",
            "memory",
            "msm_forward_count",
            "msm_forward_per_step",
            "chen_peak_memory",
            "chen_forward_per_step",
            "msm_forward_count_at_chen_peak",
            "msm_forward_per_step_at_chen_peak",
        ),
        rows,
    )
    save(fig, out / "cost_at_chen_memory.png")
    top = [r for r in rows if r[1] == max(ts)]
    return {
        "steps": max(ts),
        "memory_by_beta": {r[0]: r[2] for r in top},
        "forward_per_step_by_beta": {r[0]: round(r[4], 4) for r in top},
        "chen_forward_per_step": round(top[-1][6], 4),
        "chen_peak_memory_by_beta": {r[0]: r[5] for r in top},
        "forward_per_step_at_chen_peak_by_beta": {r[0]: round(r[8], 4) for r in top},
    }
