"""Executor: overhead over bare cell calls, and the paper's headline on our LSTM.

Run: python bench/bench_executor.py [--quick] [--keep-freed-memory]
(prints JSON; medians of interleaved runs, side by side in one process)
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import mini_bptt as mb
from mini_bptt.cells.bptt import reverse_step, zero_grads
from mini_bptt.figures.lstm_experiment import (
    backward_over_forward,
    lstm_problem,
    point_of_95_percent,
)
from mini_bptt.machine import (
    describe,
    interleaved_medians,
    keep_freed_memory,
    traced_peak,
)


def bare_calls(plan, cell, xs, h0, head) -> None:
    """The plan's cell calls with the same data flow, but no replay, checks or accounting:
    what a hand-written loop for this one plan would do."""
    hidden, internal, state, core = {0: h0}, {}, h0, None
    grads, dstate = zero_grads(cell, head), np.zeros_like(h0)
    for action in plan.actions:
        op, step = action.op, action.step
        if op == "forward":
            core = None
            state, core = cell.forward(state, xs[step - 1])
            core_step = step
        elif op == "backward":
            cache = core if core_step == step else internal[step]
            if core_step == step:
                core, core_step = None, None
            _, dstate = reverse_step(cell, head, step - 1, cache, dstate, grads)
        elif op == "save_hidden":
            hidden[step] = state
        elif op == "save_internal":
            internal[step] = core
        elif op == "restore_hidden":
            state, core_step = hidden[step], None
        elif op == "restore_internal":
            state = cell.next_state(internal[step])
        elif op == "free_hidden":
            del hidden[step]
        elif op == "free_internal":
            del internal[step]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="T = 200 instead of 1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="ask malloc to keep freed memory (no page faults for re-allocations), like a "
        "caching allocator; see mini_bptt.machine.keep_freed_memory",
    )
    args = parser.parse_args()
    if args.keep_freed_memory and not keep_freed_memory():
        parser.error("this C library does not support mallopt")
    steps = 200 if args.quick else 1000
    cell, xs, h0, head = lstm_problem(steps, batch=32, inputs=64, hidden=128)
    plan = mb.plan(steps, "5%", alpha=cell.alpha)
    full_plan = mb.plan(steps, "100%", alpha=cell.alpha, strategy="bptt")
    bytes_full = traced_peak(lambda: mb.full_bptt(cell, xs, h0, head))
    point, traced = point_of_95_percent(cell, xs, h0, head, bytes_full)  # 5% and the point
    point_plan = mb.plan(steps, point, alpha=cell.alpha)

    medians = interleaved_medians(
        {
            "execute_msm_5%": lambda: mb.execute(plan, cell, xs, h0, head),
            "execute_msm_95%_point": lambda: mb.execute(point_plan, cell, xs, h0, head),
            "bare_loop_same_calls": lambda: bare_calls(plan, cell, xs, h0, head),
            "full_bptt": lambda: mb.full_bptt(cell, xs, h0, head),
            "execute_bptt_plan": lambda: mb.execute(full_plan, cell, xs, h0, head),
        },
        args.repeats,
    )
    backward_over_forward_time = backward_over_forward(cell, xs, h0, head, args.repeats)
    bytes_msm, bytes_point = traced["5%"], traced[point]

    def predicted(forward_count: int) -> float:
        """Time over full BPTT if only the cell calls cost."""
        b = backward_over_forward_time
        return (forward_count / steps + b) / (1 + b)

    report = {
        "machine": describe(),
        "setup": {
            "cell": "LSTMCell",
            "steps": steps,
            "batch": 32,
            "input_size": 64,
            "hidden_size": 128,
            "alpha": cell.alpha,
            "memory": "5%",
            "peak_memory_units": plan.peak_memory,
            "full_bptt_units": full_plan.peak_memory,
            "forward_count": plan.forward_count,
            "keep_freed_memory": args.keep_freed_memory,
            "repeats": args.repeats,
        },
        "seconds_median": {k: round(v, 4) for k, v in medians.items()},
        "executor_overhead": round(
            medians["execute_msm_5%"] / medians["bare_loop_same_calls"] - 1, 4
        ),
        "backward_over_forward_time": round(backward_over_forward_time, 3),
        "headline": {
            "tracemalloc_peak_bytes_msm": bytes_msm,
            "tracemalloc_peak_bytes_full_bptt": bytes_full,
            "memory_saved": round(1 - bytes_msm / bytes_full, 4),
            "time_ratio_measured": round(medians["execute_msm_5%"] / medians["full_bptt"], 3),
            "time_ratio_predicted_by_forward_counts": round(predicted(plan.forward_count), 3),
            "paper": "95% memory saved for 1.33x time",
        },
        "headline_at_95%_point": {
            "budget": point,
            "forward_per_step": round(point_plan.forward_count / steps, 4),
            "tracemalloc_peak_bytes": bytes_point,
            "memory_saved": round(1 - bytes_point / bytes_full, 4),
            "time_ratio_measured": round(
                medians["execute_msm_95%_point"] / medians["full_bptt"], 3
            ),
            "time_ratio_predicted_by_forward_counts": round(predicted(point_plan.forward_count), 3),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
