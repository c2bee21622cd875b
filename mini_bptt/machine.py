"""What machine a measurement ran on, and the peak-bytes probe (benchmarks, REPORT.md)."""

from __future__ import annotations

import ctypes
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from mini_bptt.oracle import executor


def describe() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
    }


def traced_peak(run: Callable[[], object]) -> int:
    """Peak bytes allocated (tracemalloc) while ``run()`` executes, above what existed before."""
    with executor.traced_peak() as trace:
        run()
    return trace.peak


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory instead of returning it to the system (as GPU
    caching allocators do), so repeated runs stop paying first-touch page faults.

    Process-wide and permanent; returns False where the C library does not support it.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    trim_threshold, mmap_threshold = -1, -3  # mallopt parameters from <malloc.h>
    return bool(libc.mallopt(mmap_threshold, 32 << 20) and libc.mallopt(trim_threshold, 2**31 - 1))


def interleaved_medians(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall seconds of each named run; the runs interleaved so noise hits them alike."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in seconds.items()}
