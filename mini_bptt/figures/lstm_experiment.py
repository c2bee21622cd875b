"""The measured experiment: our LSTM over a sweep of budgets, wall time and bytes held
against full BPTT (the paper reports 95% less memory for 1.33x the time at T = 1000)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import mini_bptt as mb
from mini_bptt.cells.bptt import reverse_step, zero_grads
from mini_bptt.figures import lstm_lengths
from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.machine import interleaved_medians, keep_freed_memory, traced_peak

TITLE = "LSTM: time and memory against full BPTT over a sweep of budgets"
BUDGETS = ("5%", "10%", "20%", "50%")


def lstm_problem(steps: int, batch: int, inputs: int, hidden: int):
    """The experiment's LSTM, inputs (steps, batch, inputs), zero state and MSE head."""
    rng = np.random.default_rng(0)
    cell = mb.LSTMCell(inputs, hidden, seed=0)
    xs = rng.normal(size=(steps, batch, inputs))
    head = mb.MSEHead(rng.normal(size=(steps, batch, hidden)))
    return cell, xs, cell.zero_state(batch), head


class Runs:
    """The cell runs done and to do, reported as ``progress(done, total)``.

    Every run of a plan or of full BPTT counts one: at T = 1000 they take 1.2 s (full
    BPTT) to 1.6 s (5%), and the runs at the other lengths (T = 100 to 3000) about as
    long on average, so their count is a fair measure of the time left. ``total`` is
    an estimate until the 95% point is found, then exact."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int) -> None:
        self.progress, self.done, self.total = progress, 0, total

    def counted(self, job: Callable[[], object]) -> Callable[[], object]:
        """``job``, counted as one run each time it is called."""

        def run():
            result = job()
            self.tick()
            return result

        return run

    def tick(self) -> None:
        """One more run done (after a traced one: the report is not traced)."""
        self.done += 1
        self.total = max(self.total, self.done)
        if self.progress is not None:
            self.progress(self.done, self.total)


def point_of_95_percent(
    cell, xs, h0, head, full_bytes: int, runs: Runs | None = None
) -> tuple[str, dict[str, int]]:
    """The largest budget, in steps of 0.1% from 5% down, whose run holds at most 5% of
    full BPTT's traced bytes (the paper's "95% less memory"), and the traced bytes of
    every budget it ran ("5%" and the answer among them, so callers need not run them again).

    A budget is run (traced) only when its saved arrays plus what the 5% run held beyond
    its own plan could fit; the answer is always a measured run. Each run is counted
    in ``runs``."""
    steps = len(xs)
    runs = runs or Runs(None, 0)
    five = mb.plan(steps, "5%", alpha=cell.alpha)
    held = {"5%": traced_peak(lambda: mb.execute(five, cell, xs, h0, head))}
    runs.tick()
    beyond = held["5%"] - five.peak_memory * h0.nbytes
    for tenths in range(50, 0, -1):
        budget = f"{tenths / 10:g}%"
        plan = mb.plan(steps, budget, alpha=cell.alpha)
        if plan.peak_memory * h0.nbytes + beyond > full_bytes / 20:
            continue
        if budget not in held:
            held[budget] = traced_peak(lambda plan=plan: mb.execute(plan, cell, xs, h0, head))
            runs.tick()
        if held[budget] <= full_bytes / 20:
            return budget, held
    raise AssertionError("no budget down to 0.1% holds 5% of full BPTT's bytes")


def run(out: Path, quick: bool, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write ``lstm_experiment.csv`` and ``.png`` into ``out``; return REPORT.md's numbers.

    ``progress(done, total)`` is called after each run of the cell (minutes in all
    at T = 1000), ``total`` being the runs still to come plus those done."""
    shape = (8, 16, 32) if quick else (32, 64, 128)  # batch, inputs, hidden
    cell, xs, h0, head = lstm_problem(200 if quick else 1000, *shape)
    steps, repeats = len(xs), 1 if quick else 5
    others = [t for t in lstm_lengths.lengths(quick) if t != steps]
    # the other lengths: fewer repeats, as the T = 3000 runs take three times as long
    other_repeats = 1 if quick else 3
    other_runs = len(others) * lstm_lengths.runs_per_length(other_repeats)
    # until the point is found, a guess: the budgets, a new 95% point and full BPTT,
    # each timed twice (a warm-up round before the second) and traced once; one probe
    # finds the point; a repeat of backward_over_forward per repeat; the other lengths
    sweep = len(BUDGETS) + 2
    work = Runs(progress, (2 * repeats + 2) * sweep + repeats + other_runs)
    full_bytes = traced_peak(lambda: mb.full_bptt(cell, xs, h0, head))
    work.tick()
    point, traced = point_of_95_percent(cell, xs, h0, head, full_bytes, work)
    budgets = (point, *(b for b in BUDGETS if b != point))
    plans = {b: mb.plan(steps, b, alpha=cell.alpha) for b in budgets}
    runs = {b: (lambda p=p: mb.execute(p, cell, xs, h0, head)) for b, p in plans.items()}
    runs["full BPTT"] = lambda: mb.full_bptt(cell, xs, h0, head)
    untraced = [name for name in runs if name not in traced and name != "full BPTT"]
    work.total = work.done + (2 * repeats + 1) * len(runs) + len(untraced) + repeats + other_runs
    timed = {name: work.counted(job) for name, job in runs.items()}
    wall = interleaved_medians(timed, repeats)
    # Full BPTT allocates every internal state afresh; by default malloc hands that memory
    # back and the next run pays page faults for it again. Measure once more with freed
    # memory kept, as a caching allocator would (a process-wide setting, so second), after
    # one unmeasured round that lets the allocator keep what each run needs.
    warm = dict.fromkeys(runs, np.nan)
    kept = keep_freed_memory()
    if kept:
        for job in timed.values():
            job()
        warm = interleaved_medians(timed, repeats)
    else:
        work.total -= (repeats + 1) * len(runs)
    # after that setting: full BPTT's page faults grow with T and would bend the trend
    by_length = [
        lstm_lengths.measure(lambda t: lstm_problem(t, *shape), t, other_repeats, work.tick)
        for t in others
    ]
    for name in untraced:  # the budgets the search did not run already
        traced[name] = traced_peak(runs[name])
        work.tick()
    traced["full BPTT"] = full_bytes
    full_peak = mb.plan(steps, "100%", alpha=cell.alpha, strategy="bptt").peak_memory
    ratio = backward_over_forward(cell, xs, h0, head, repeats, work)
    rows = []
    for name in runs:
        plan = plans.get(name)
        count = plan.forward_count if plan else steps
        units = plan.peak_memory if plan else full_peak
        rows.append(
            (
                name,
                count,
                count / steps,
                units,
                traced[name],
                traced[name] / traced["full BPTT"],
                round(wall[name], 4),
                wall[name] / wall["full BPTT"],
                round(warm[name], 4),
                warm[name] / warm["full BPTT"],
            )
        )
    write_csv(
        out / "lstm_experiment.csv",
        (
            "budget",
            "forward_count",
            "forward_per_step",
            "peak_memory_units",
            "tracemalloc_peak_bytes",
            "bytes_over_full",
            "seconds",
            "time_over_full",
            "seconds_freed_memory_kept",
            "time_over_full_freed_memory_kept",
        ),
        rows,
    )
    fig, axes = figure(ncols=2, size=(5.5, 4))
    left, right = axes[0]
    labels = [r[0] for r in rows]
    left.bar(labels, [100 * r[5] for r in rows], color="#4c72b0")
    left.set_ylabel("bytes held, % of full BPTT (tracemalloc)")
    left.set_title(f"LSTM, T={steps}: memory", fontsize="medium")
    held = [100 * r[5] for r in rows[:-1]]
    right.plot(held, [r[7] for r in rows[:-1]], marker="o", label="measured, default malloc")
    right.plot(held, [r[9] for r in rows[:-1]], marker="s", label="measured, freed memory kept")
    right.plot(
        [100 * r[5] for r in rows[:-1]],
        [_predicted(r[2], ratio) for r in rows[:-1]],
        marker="x",
        linestyle=":",
        label="predicted by forward counts",
    )
    right.plot(
        [5],
        [1.33],
        marker="*",
        markersize=14,
        linestyle="none",
        color="#c44e52",
        label="paper: 5%, 1.33x",
    )
    right.set_xlabel("bytes held, % of full BPTT")
    right.set_ylabel("time / full BPTT")
    right.set_title("time against memory", fontsize="medium")
    right.legend(fontsize="small")
    right.grid(alpha=0.3)
    save(fig, out / "lstm_experiment.png")
    five, seconds = plans["5%"], warm if kept else wall  # timed as the other lengths were
    by_length.append(
        (
            steps,
            five.forward_count / steps,
            five.peak_memory,
            traced["5%"],
            full_bytes,
            traced["5%"] / full_bytes,
            round(seconds["5%"], 6),
            round(seconds["full BPTT"], 6),
            seconds["5%"] / seconds["full BPTT"],
        )
    )
    lengths = lstm_lengths.write(out, sorted(by_length), lambda f: _predicted(f, ratio), kept)
    results = {
        "steps": steps,
        "backward_over_forward_time": round(ratio, 3),
        "point": point,
        "shape": dict(zip(("batch", "inputs", "hidden"), shape, strict=True)),
        "alpha": cell.alpha,
        "by_length": lengths,
    }
    for key, row in (("5%", next(r for r in rows if r[0] == "5%")), ("point", rows[0])):
        results |= {
            f"memory_saved_at_{key}": round(1 - row[5], 4),
            f"time_ratio_at_{key}": round(row[7], 3),
            f"time_ratio_at_{key}_freed_memory_kept": round(row[9], 3),
            f"forward_per_step_at_{key}": round(row[2], 4),
            f"time_ratio_predicted_at_{key}": round(_predicted(row[2], ratio), 3),
        }
    return results


def backward_over_forward(cell, xs, h0, head, repeats: int, runs: Runs | None = None) -> float:
    """Measured time of one reverse step (head + cell backward) over one cell forward.

    A repeat (every step forward, then every step backward) is about one run of a
    plan, and is counted as one in ``runs``."""
    _, cache = cell.forward(h0, xs[0])
    grads = zero_grads(cell, head)

    def forwards():
        for t in range(len(xs)):
            cell.forward(h0, xs[t])

    def backwards():
        dstate = np.zeros_like(h0)
        for t in reversed(range(len(xs))):
            _, dstate = reverse_step(cell, head, t, cache, dstate, grads)

    backwards = (runs or Runs(None, 0)).counted(backwards)
    seconds = interleaved_medians({"forward": forwards, "backward": backwards}, repeats)
    return seconds["backward"] / seconds["forward"]


def _predicted(forward_per_step: float, backward_over_forward: float) -> float:
    """Time over full BPTT if only the cell calls cost: (F/T + b) / (1 + b)."""
    return (forward_per_step + backward_over_forward) / (1 + backward_over_forward)
