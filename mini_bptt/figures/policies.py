"""Pictures of optimal plans (time step against action order) with their memory timelines."""

from __future__ import annotations

from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.viz import memory_timeline, plot_memory, plot_plan

TITLE = "Optimal policies for T = 40, alpha = 2"
CASES = (("hsm", 4), ("ism", 7), ("msm", 5))


def run(out: Path, quick: bool) -> dict:
    steps, alpha = 40, 2
    fig, axes = figure(ncols=len(CASES), nrows=2, size=(5.2, 3.2))
    rows, summary = [], {}
    for column, (strategy, memory) in enumerate(CASES):
        plan = mb.plan(steps, memory, alpha=alpha, strategy=strategy)
        timeline = memory_timeline(plan)
        rows += [
            (strategy, memory, i, a.op, a.step, timeline[i]) for i, a in enumerate(plan.actions)
        ]
        plot_plan(plan, ax=axes[0][column])
        plot_memory(timeline, budget=memory, ax=axes[1][column])
        summary[f"{strategy}_memory{memory}_forward_count"] = plan.forward_count
    write_csv(
        out / "policies.csv", ("strategy", "memory", "index", "op", "step", "memory_after"), rows
    )
    save(fig, out / "policies.png")
    return summary
