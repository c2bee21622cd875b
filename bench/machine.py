"""Timing helper for the benchmarks; the machine description comes from the package."""

from __future__ import annotations

import statistics
import time

from mini_bptt.machine import describe  # noqa: F401  (re-exported for the benchmarks)


def median_seconds(run, repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``run()`` over ``repeats`` runs, and every run's time."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times
