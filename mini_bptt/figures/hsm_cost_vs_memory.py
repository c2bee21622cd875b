"""Forward evaluations per step against memory for BPTT-HSM, with Chen's sqrt(T) marked."""

from __future__ import annotations

from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv

TITLE = "HSM: forward evaluations per step against memory (Chen's sqrt(T) marked)"


def run(out: Path, quick: bool) -> dict:
    lengths = (100, 1000) if quick else (100, 1000, 10_000)
    rows, chen = [], {}
    for steps in lengths:
        for memory in range(1, min(steps, 200) + 1):
            count = mb.cost(steps, memory, strategy="hsm")
            rows.append((steps, memory, count, count / steps))
        plan = mb.plan(steps, "100%", strategy="chen")
        chen[steps] = (plan.peak_memory, plan.forward_count / plan.steps)
    write_csv(
        out / "hsm_cost_vs_memory.csv",
        ("steps", "memory", "forward_count", "forward_per_step"),
        rows,
    )
    write_csv(
        out / "hsm_cost_vs_memory_chen.csv",
        ("steps", "memory", "forward_per_step"),
        [(t, m, c) for t, (m, c) in chen.items()],
    )
    fig, axes = figure()
    ax = axes[0][0]
    for steps in lengths:
        xs = [r[1] for r in rows if r[0] == steps]
        ys = [r[3] for r in rows if r[0] == steps]
        line = ax.plot(xs, ys, label=f"HSM, T={steps}")[0]
        ax.plot(
            *chen[steps],
            marker="*",
            markersize=12,
            color=line.get_color(),
            linestyle="none",
            label=f"Chen sqrt(T), T={steps}",
        )
    ax.set_xscale("log")
    ax.set_ylim(0, 12)
    ax.set_xlabel("memory (hidden states)")
    ax.set_ylabel("forward evaluations per step")
    ax.set_title(TITLE, fontsize="medium")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    save(fig, out / "hsm_cost_vs_memory.png")
    t = 1000
    at_chen = mb.cost(t, chen[t][0], strategy="hsm") / t
    return {
        "chen_T1000_memory": chen[t][0],
        "chen_T1000_forward_per_step": round(chen[t][1], 4),
        "hsm_T1000_forward_per_step_at_chen_memory": round(at_chen, 4),
    }
