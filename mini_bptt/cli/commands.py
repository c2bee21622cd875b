"""What each command does: it asks the library and prints; the parser has checked the
arguments' form, the library checks their values."""

from __future__ import annotations

import contextlib
import csv
import os
import sys
import time

import numpy as np

from mini_bptt.cells import LSTMCell, MSEHead, RNNCell
from mini_bptt.cli.options import UsageError, shown_value, value_count
from mini_bptt.cli.progress import progress_printer, reproduce_printer
from mini_bptt.common.arguments import shown
from mini_bptt.common.resources import require_bytes
from mini_bptt.oracle.check import check
from mini_bptt.oracle.executor import execute
from mini_bptt.oracle.trace_file import read_trace_text, shown_path
from mini_bptt.planning import limits
from mini_bptt.planning.plan import (
    InfeasibleMemoryError,
    cost,
    plan,
)
from mini_bptt.planning.problem import Problem
from mini_bptt.planning.time_model import execution_seconds
from mini_bptt.planning.trace_json import load_trace


def _model_kwargs(args) -> dict:
    """The options that ``_add_model_options`` declared, as keywords of plan/cost."""
    return dict(
        alpha=args.alpha,
        strategy=args.strategy,
        model=args.model,
        internal_has_output=args.internal_has_output,
    )


def plan_command(args) -> int:
    if args.animate is not None:
        _writable_file("--animate", args.animate, ".gif")
    common = _model_kwargs(args)
    result = plan(args.steps, args.memory, progress=progress_printer(), **common)
    if args.animate:  # before any output: a refusal leaves stdout empty
        from mini_bptt import viz

        with _writing("--animate", args.animate, refusals=(ValueError,)):
            frames = viz.save_animation(result, args.animate)
    if args.json:
        print(result.to_json())
    else:
        full = float(result.problem.full_bptt_peak)
        print(f"strategy        {result.strategy} ({result.model} model)")
        print(f"steps           {result.steps}")
        print(
            f"memory budget   {shown_value(args.memory)} -> peak {result.peak_memory} units "
            f"({result.peak_memory / full:.1%} of full BPTT's {full:g})"
        )
        print(
            f"forward count   {result.forward_count} "
            f"({result.forward_count / result.steps:.3f} per step; full BPTT: 1)"
        )
        print(f"actions         {len(result.actions)}")
    if args.animate:
        print(f"wrote {args.animate}: {frames} frames, one per action")
    if args.show:
        from mini_bptt import viz

        if viz.has_display():
            viz.show_plan(result)
        else:
            with _writing("--show (no display, so a picture)", "mini-bptt-plan.png"):
                viz.show_plan(result, path="mini-bptt-plan.png")
            print("no display: wrote mini-bptt-plan.png")
    return 0


def _writable_file(option: str, path: str, suffix: str) -> None:
    """Refuse, before any work, a file path that cannot be written: the file, not the
    folder, must hold the result, and an existing folder must hold it."""
    if not path.lower().endswith(suffix):
        raise UsageError(f"{option} must be a file path ending in {suffix}, got {shown_path(path)}")
    folder, named = os.path.dirname(path) or ".", shown_path(path)
    if os.path.isdir(path):
        raise UsageError(f"{option} {named} is a folder; give a file path ending in {suffix}")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {named}: its folder {shown_path(folder)} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {named}: its folder {shown_path(folder)} is not writable")


@contextlib.contextmanager
def _writing(option: str, path: str, refusals: tuple[type[Exception], ...] = ()):
    """Name ``option`` in whatever stops ``path`` from being written (an ``OSError``, or
    one of ``refusals``, the writer's own refusals of what it was given)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or " ".join(str(exc).split())
        raise UsageError(f"{option} {shown_path(path)}: cannot write: {reason}") from None
    except refusals as exc:
        raise UsageError(f"{option} {shown_path(path)}: {exc}") from None


def table_command(args) -> int:
    common = _model_kwargs(args)
    rows, limit = value_count(args.steps) * value_count(args.memory), limits.current().actions
    if rows > limit:
        raise UsageError(
            f"the table would have {shown(rows)} rows (steps x memory), over the limit of {limit}"
        )
    steps = max(args.steps)
    memories = [max(args.memory)] if isinstance(args.memory, range) else args.memory
    try:
        widest = max(Problem.of(steps, m, args.alpha).memory_units for m in memories)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"argument --memory: {exc}") from None
    if args.strategy in ("ism", "msm"):  # fill the DP once, for the longest and widest case
        with contextlib.suppress(InfeasibleMemoryError):  # reported cell by cell below
            cost(steps, widest, progress=progress_printer(), **common)
    writer = csv.writer(sys.stdout, lineterminator="\n")  # only once every argument is valid
    writer.writerow(["steps", "memory", "forward_count", "forward_per_step"])
    for steps in args.steps:
        for memory in args.memory:
            try:
                forwards = cost(steps, memory, **common)
            except InfeasibleMemoryError:
                writer.writerow([steps, shown_value(memory), "", ""])  # infeasible: left empty
                continue
            writer.writerow([steps, shown_value(memory), forwards, f"{forwards / steps:.6g}"])
    return 0


def run_command(args) -> int:
    steps, batch = args.steps, args.batch  # counts already, checked by the parser
    cell = (LSTMCell if args.cell == "lstm" else RNNCell)(args.input_size, args.hidden_size, seed=0)
    arrays = 8 * steps * batch * (args.input_size + args.hidden_size)
    require_bytes(f"inputs and targets for steps={shown(steps)}, batch={shown(batch)}", arrays)
    result = plan(
        steps,
        args.memory,
        alpha=cell.alpha,
        strategy=args.strategy,
        model=args.model,
        internal_has_output=args.internal_has_output,
        progress=progress_printer(),
    )
    seconds = execution_seconds(
        batch, cell.input_size, cell.hidden_size, cell.GATES, result.forward_count, steps
    )
    if seconds > limits.current().seconds:
        raise limits.ResourceLimitError(
            f"running this plan would take about {seconds:.3g} s, over the limit of "
            f"{limits.current().seconds:g} s; use fewer steps or a smaller cell"
        )
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(steps, batch, cell.input_size))
    h0 = rng.normal(scale=0.5, size=(batch, cell.state_size))
    head = MSEHead(rng.normal(size=(steps, batch, cell.hidden_size)))
    report = execute(result, cell, xs, h0, head, measure_memory=True).memory
    print(
        f"{args.cell} cell, batch {batch}, input {cell.input_size}, hidden {cell.hidden_size} "
        f"(alpha {cell.alpha:g}); {result.strategy} plan for {steps} steps at "
        f"{shown_value(args.memory)}: {result.forward_count} forwards"
    )
    print(report.table())
    return 0


def check_command(args) -> int:
    text = read_trace_text(args.trace)  # regular files and - only, within input_bytes
    try:
        trace = load_trace(text)
    except (ValueError, TypeError) as exc:
        name = "standard input" if args.trace == "-" else f"trace {shown_path(args.trace)}"
        raise UsageError(f"{name}: {exc}") from None
    verdict = check(
        trace.actions,
        steps=trace.steps,
        memory=trace.memory,
        alpha=trace.alpha,
        internal_has_output=trace.internal_has_output,
    )
    print(verdict)  # the counts, the optimum, then error / note lines as they apply
    return 0 if verdict.valid else 1


def reproduce_command(args) -> int:
    from mini_bptt.reproduce import reproduce

    if not args.out.strip():
        raise UsageError(f"--out must be a folder path, got {shown_path(args.out)}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        out = shown_path(args.out)
        raise UsageError(f"--out {out} is a file; give a folder (created if missing)")
    started = time.perf_counter()
    with _writing("--out", args.out):
        path = reproduce(args.out, quick=args.quick, progress=reproduce_printer())
    print(f"wrote {path} and the figures beside it ({time.perf_counter() - started:.0f} s)")
    return 0
