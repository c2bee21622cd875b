"""Forward evaluations per step when given Chen's memory sqrt(T) (1 + beta), against T."""

from __future__ import annotations

import math
from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.figures.memory_at_fixed_cost import BETAS, lengths

TITLE = "Cost at Chen's memory sqrt(T)(1 + beta), against T"


def run(out: Path, quick: bool) -> dict:
    ts = lengths(quick)
    rows = []
    fig, axes = figure()
    ax = axes[0][0]
    for beta in BETAS:
        alpha = 1 + beta
        per_step = []
        for t in ts:
            memory = math.sqrt(t) * (1 + beta)
            msm = mb.cost(t, memory, alpha=alpha)
            chen = mb.plan(t, "100%", alpha=alpha, strategy="chen")
            rows.append(
                (beta, t, round(memory, 4), msm, msm / t, chen.peak_memory, chen.forward_count / t)
            )
            per_step.append(msm / t)
        ax.plot(ts, per_step, label=f"MSM, beta={beta}")
    chen_curve = [r[6] for r in rows if r[0] == BETAS[-1]]
    ax.plot(ts, chen_curve, color="black", linestyle="--", label="Chen sqrt(T) (its own memory)")
    ax.set_xscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("forward evaluations per step")
    ax.set_title(TITLE, fontsize="medium")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
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
        ),
        rows,
    )
    save(fig, out / "cost_at_chen_memory.png")
    top = max(ts)
    return {
        "steps": top,
        "forward_per_step_by_beta": {r[0]: round(r[4], 4) for r in rows if r[1] == top},
        "chen_forward_per_step": round(rows[-1][6], 4),
        "chen_peak_memory_by_beta": {r[0]: r[5] for r in rows if r[1] == top},
    }
