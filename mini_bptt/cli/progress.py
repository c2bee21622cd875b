"""Progress lines on stderr: a DP fill's ETA, and ``reproduce``'s figures and runs."""

from __future__ import annotations

import math
import sys
import time


def progress_printer():
    """A progress line with an ETA on stderr, for DP fills that run longer than a second,
    when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    started = time.perf_counter()

    def report(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        if elapsed < 1.0 and done < total:
            return
        # a row costs about as much as the breakpoints found so far: roughly linear in t,
        # so the work done grows like done**2
        remaining = elapsed * (total**2 / max(done, 1) ** 2 - 1)
        end = "\n" if done == total else ""
        eta = "" if done == total else f", about {remaining:.0f} s left"
        line = f"\rDP table: {done}/{total} steps, {elapsed:.0f} s{eta}   "
        print(line, end=end, file=sys.stderr, flush=True)

    return report


def reproduce_printer():
    """A line on stderr after each figure, and for a long figure its runs with an ETA:
    redrawn twice a second on a terminal, a line every 10 s in a log."""
    terminal = sys.stderr.isatty()
    state = {"shown": -math.inf, "open": False}  # when a run line was shown; still unended

    def report(done: int, total: int, name: str, seconds: float, part) -> None:
        bar = f"[{'#' * done}{'.' * (total - done)}] {done}/{total} {name}"
        if part is None:
            start = "\n" if state["open"] else ""
            state["open"] = False
            print(f"{start}{bar} ({seconds:.1f} s)", file=sys.stderr, flush=True)
            return
        runs, runs_total = part
        now = time.perf_counter()
        if now - state["shown"] < (0.5 if terminal else 10.0) and runs < runs_total:
            return
        state["shown"] = now
        left = seconds * (runs_total - runs) / max(runs, 1)  # its runs take about alike
        line = f"{bar}: run {runs}/{runs_total}, {seconds:.0f} s, about {left:.0f} s left"
        if terminal:
            state["open"] = True
            print(f"\r{line}   ", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    return report
