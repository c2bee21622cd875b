"""The LSTM experiment at several sequence lengths: one 5% budget against full BPTT at
each, to show how the cost of a fixed fraction of memory changes with T (the paper
finds the method "particularly effective for long sequences").

``lstm_experiment`` runs this sweep for the lengths other than its own and adds its own
T's 5% row, so that one length is never measured twice with two answers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.machine import interleaved_medians, traced_peak

BUDGET = "5%"
LENGTHS, QUICK_LENGTHS = (100, 300, 3000), (50, 100)
HEADER = (
    "steps",
    "forward_per_step",
    "peak_memory_units",
    "tracemalloc_peak_bytes",
    "full_tracemalloc_peak_bytes",
    "bytes_over_full",
    "seconds",
    "full_seconds",
    "time_over_full",
)


def lengths(quick: bool) -> tuple[int, ...]:
    return QUICK_LENGTHS if quick else LENGTHS


def runs_per_length(repeats: int) -> int:
    """Cell runs one length takes: the plan and full BPTT, each traced once and timed
    ``repeats`` times."""
    return 2 * (repeats + 1)


def measure(
    problem: Callable[[int], tuple], steps: int, repeats: int, tick: Callable[[], None]
) -> tuple:
    """One row of ``HEADER`` for ``steps``: bytes held (tracemalloc) and median wall time
    of the 5% plan and of full BPTT; ``tick()`` after each cell run."""
    cell, xs, h0, head = problem(steps)
    plan = mb.plan(steps, BUDGET, alpha=cell.alpha)
    jobs = {
        BUDGET: lambda: mb.execute(plan, cell, xs, h0, head),
        "full BPTT": lambda: mb.full_bptt(cell, xs, h0, head),
    }
    held = {}
    for name, job in jobs.items():  # first: with freed memory kept, also the warm-up round
        held[name] = traced_peak(job)
        tick()

    def counted(job):
        def run():
            job()
            tick()

        return run

    wall = interleaved_medians({name: counted(job) for name, job in jobs.items()}, repeats)
    # seconds to the microsecond: the quick run's shortest take about a millisecond
    return (
        steps,
        plan.forward_count / steps,
        plan.peak_memory,
        held[BUDGET],
        held["full BPTT"],
        held[BUDGET] / held["full BPTT"],
        round(wall[BUDGET], 6),
        round(wall["full BPTT"], 6),
        wall[BUDGET] / wall["full BPTT"],
    )


def write(out: Path, rows: list[tuple], predicted: Callable[[float], float], kept: bool) -> dict:
    """Write ``lstm_lengths.csv`` and ``.png`` from ``rows`` (sorted by steps); return the
    numbers REPORT.md quotes. ``predicted(forward_per_step)`` is the time ratio that the
    forward counts alone predict; ``kept``: the times were measured with freed memory
    kept by the allocator (else with its defaults)."""
    timing = "freed memory kept" if kept else "default malloc"
    write_csv(out / "lstm_lengths.csv", HEADER, rows)
    ts = [r[0] for r in rows]
    fig, axes = figure(ncols=2, size=(5.2, 4))
    left, right = axes[0]
    left.plot(ts, [100 * r[5] for r in rows], marker="o", label="bytes held (tracemalloc)")
    left.axhline(5, linestyle=":", color="grey", label="the budget: 5% of full BPTT's units")
    left.set_ylim(bottom=0)
    left.set_ylabel("% of full BPTT")
    left.set_title(f"LSTM at a {BUDGET} budget: memory", fontsize="medium")
    right.plot(ts, [r[8] for r in rows], marker="o", label=f"measured ({timing})")
    right.plot(
        ts,
        [predicted(r[1]) for r in rows],
        marker="x",
        linestyle=":",
        label="predicted by forward counts",
    )
    if 1000 in ts:  # the paper's one length
        right.plot(
            [1000],
            [1.33],
            marker="*",
            markersize=14,
            linestyle="none",
            color="#c44e52",
            label="paper: T=1000, 1.33x",
        )
    right.set_ylabel("time / full BPTT")
    right.set_title(f"LSTM at a {BUDGET} budget: time", fontsize="medium")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(ts, [str(t) for t in ts])
        ax.minorticks_off()
        ax.set_xlabel("sequence length T")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    save(fig, out / "lstm_lengths.png")
    return {
        "steps": ts,
        "forward_per_step": [round(r[1], 4) for r in rows],
        "memory_saved": [round(1 - r[5], 4) for r in rows],
        "time_ratio": [round(r[8], 3) for r in rows],
        "time_ratio_predicted": [round(predicted(r[1]), 3) for r in rows],
        "timing": timing,
    }
