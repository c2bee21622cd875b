"""BPTT-HSM, BPTT-ISM and BPTT-MSM side by side for a few alpha (paper and optimal models)."""

from __future__ import annotations

from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv

TITLE = "HSM, ISM and MSM: forward evaluations per step against memory"
ALPHAS = (2, 5, 10)


def run(out: Path, quick: bool) -> dict:
    steps, top = (200, 80) if quick else (1000, 300)
    rows = []
    fig, axes = figure(ncols=len(ALPHAS), size=(5, 4))
    for ax, alpha in zip(axes[0], ALPHAS, strict=True):
        for strategy in ("hsm", "ism", "msm"):
            for model in ("optimal", "paper"):
                costs = [
                    mb.cost(steps, m, alpha=alpha, strategy=strategy, model=model)
                    for m in range(1, top + 1)
                ]
                rows += [
                    (alpha, strategy, model, m, c, c / steps) for m, c in enumerate(costs, start=1)
                ]
                if strategy == "hsm" and model == "paper":
                    continue  # identical to the optimal model
                ax.plot(
                    range(1, top + 1),
                    [c / steps for c in costs],
                    linestyle="-" if model == "optimal" else ":",
                    label=f"{strategy.upper()} ({model})",
                )
        ax.set_ylim(0.9, 6)
        ax.set_xscale("log")
        ax.set_xlabel("memory (hidden-state units)")
        ax.set_ylabel("forward evaluations per step")
        ax.set_title(f"T={steps}, alpha={alpha}", fontsize="medium")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small")
    write_csv(
        out / "strategies.csv",
        ("alpha", "strategy", "model", "memory", "forward_count", "forward_per_step"),
        rows,
    )
    save(fig, out / "strategies.png")
    five = 0.05 * (1 + 5 * (steps - 1))
    cost = {r[:4]: r[4] for r in rows}  # (alpha, strategy, model, memory) -> forwards
    # MSM may save either kind of state, so it should never cost more than HSM or ISM
    excess = {
        model: max(
            cost[a, "msm", model, m] - min(cost[a, "hsm", model, m], cost[a, "ism", model, m])
            for a in ALPHAS
            for m in range(1, top + 1)
        )
        for model in ("optimal", "paper")
    }
    return {
        "msm_excess_over_hsm_ism": excess,
        "alphas": ALPHAS,
        "largest_memory": top,
        "msm_forward_per_step_at_5%_alpha5": round(mb.cost(steps, "5%", alpha=5) / steps, 4),
        "msm_paper_forward_per_step_at_5%_alpha5": round(
            mb.cost(steps, "5%", alpha=5, model="paper") / steps, 4
        ),
        "memory_units_at_5%_alpha5": round(five, 2),
        "steps": steps,
    }
