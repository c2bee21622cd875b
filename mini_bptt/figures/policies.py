"""Pictures of optimal plans (time step against action order) with their memory timelines."""

from __future__ import annotations

from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.viz import memory_timeline, plot_memory, plot_plan

TITLE = "Optimal policies for T = 40, alpha = 2, 7 units"
# one budget for all three, so that the panels compare: 7 units hold h[0] and three
# internal states (ISM's least useful budget is 1 + alpha)
STRATEGIES, MEMORY = ("hsm", "ism", "msm"), 7


def run(out: Path, quick: bool) -> dict:
    steps, alpha = 40, 2
    fig, axes = figure(ncols=len(STRATEGIES), nrows=2, size=(5.2, 3.2))
    rows, summary, memory = [], {}, MEMORY
    for column, strategy in enumerate(STRATEGIES):
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
