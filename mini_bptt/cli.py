"""Command line: ``mini-bptt plan | table | run | check | reproduce`` (or ``python -m mini_bptt``).

The library returns, the CLI prints. Any bad argument (a file that cannot be written
included) ends with one line on stderr and exit code 2; an invalid trace given to
``check`` exits 1; Ctrl-C exits 130, any file being written left as it was before.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from mini_bptt import __version__
from mini_bptt.cells import LSTMCell, MSEHead, RNNCell
from mini_bptt.common.arguments import count, parse_decimal, shown
from mini_bptt.common.resources import require_bytes
from mini_bptt.oracle.check import check
from mini_bptt.oracle.executor import execute
from mini_bptt.oracle.trace_file import read_trace_text, shown_path
from mini_bptt.planning import limits
from mini_bptt.planning.plan import (
    MODELS,
    STRATEGIES,
    InfeasibleMemoryError,
    bptt_peak,
    cost,
    parse_memory,
    plan,
)
from mini_bptt.planning.time_model import execution_seconds
from mini_bptt.planning.trace_json import load_trace
from mini_bptt.planning.units import units_for


class UsageError(Exception):
    """A bad command line: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # let "-5%" and "-2" reach the value checks (which name them) instead of looking
        # like unknown options
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?$")

    def error(self, message: str):  # argparse would print the usage block and a second line
        raise UsageError(message)


def _progress_printer():
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


def _reproduce_printer():
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


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--alpha",
        type=_number("--alpha"),
        default=1,
        help="internal-state size in hidden-state units (default 1)",
    )
    _add_strategy_options(p)


def _add_strategy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", choices=STRATEGIES, default="msm", help="default msm")
    p.add_argument("--model", choices=MODELS, default="optimal", help="default optimal")
    p.add_argument(
        "--no-internal-output",
        dest="internal_has_output",
        action="store_false",
        help="a saved internal state cannot restart the forward",
    )


def _number(name: str):
    """A decimal number (``12``, ``4.5``, ``1e3``, ``7/3``): an int when whole, else the
    exact Fraction. Its length and exponent are checked before any value is built, so no
    text makes this slow."""

    def parse(text: str) -> int | Fraction:
        try:
            value = parse_decimal(name, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return int(value) if value.denominator == 1 else value

    return parse


def _count(name: str, minimum: int = 1):
    """A whole number from ``minimum`` to ``MAX_COUNT`` (a larger one is refused by its
    magnitude, before anything formats it)."""
    number = _number(name)

    def parse(text: str) -> int:
        value = number(text)
        if not isinstance(value, int):
            raise argparse.ArgumentTypeError(
                f"{name} must be an integer >= {minimum}, got {shown(text)}"
            )
        try:
            return count(name, value, minimum=minimum)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _memory(name: str):
    """A budget: a number of units, or a percentage like ``5%`` (its number checked here
    and passed on as text, so the plan reports it as given)."""
    number, percentage = _number(name), _number(f"{name} percentage")

    def parse(text: str) -> int | Fraction | str:
        if text.strip().endswith("%"):
            percentage(text.strip()[:-1])
            return text
        return number(text)

    return parse


def _range(name: str, parse, minimum: int = 1):
    """'a:b' or 'a:b:c' (inclusive, whole numbers from ``minimum``) or a comma list of values."""
    bound = _count(name, minimum)

    def parse_range(text: str):
        if ":" in text:
            parts = text.split(":")
            if len(parts) not in (2, 3):
                raise argparse.ArgumentTypeError(
                    f"{name} must be a range like 1:100 or 1:100:5, got {shown(text)}"
                )
            start, stop = bound(parts[0]), bound(parts[1])
            step = _count(f"{name} step")(parts[2]) if len(parts) == 3 else 1
            if stop < start:
                raise argparse.ArgumentTypeError(
                    f"{name} range needs start <= stop, got {shown(text)}"
                )
            return range(start, stop + 1, step)  # lazy: its length is known without a list
        return [parse(part) for part in text.split(",")]

    return parse_range


def _text(value: int | Fraction | str) -> str:
    """A parsed number as the user would write it (a Fraction as the nearest float)."""
    return str(float(value)) if isinstance(value, Fraction) else str(value)


def _length(values: range | list) -> int:
    """How many values: ``len`` of a range past 2**63 raises OverflowError."""
    if isinstance(values, range):
        return (values.stop - values.start + values.step - 1) // values.step
    return len(values)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mini-bptt", description="Memory-efficient BPTT: plans, costs, checks.")
    parser.add_argument("--version", action="version", version=f"mini-bptt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("plan", help="plan one sequence: summary, or --json for the whole plan")
    p.add_argument("steps", type=_count("steps"), help="sequence length T")
    p.add_argument(
        "memory", type=_memory("memory"), help="budget in hidden-state units, or like 5%%"
    )
    _add_model_options(p)
    p.add_argument("--json", action="store_true", help="print the whole plan as JSON")
    p.add_argument("--show", action="store_true", help="draw the plan (needs matplotlib)")
    p.add_argument(
        "--animate",
        metavar="GIF",
        help="write the plan as an animated GIF, one frame per action (needs matplotlib)",
    )

    p = sub.add_parser("table", help="forward counts over ranges of steps and memory, as CSV")
    p.add_argument(
        "--steps",
        type=_range("--steps", _count("--steps")),
        required=True,
        help="e.g. 1:100, 10:1000:10 or 100,200",
    )
    p.add_argument(
        "--memory",
        type=_range("--memory", _memory("--memory"), minimum=0),
        required=True,
        help="e.g. 1:20 or 5%%,10%%",
    )
    _add_model_options(p)

    p = sub.add_parser(
        "run", help="run a plan on a random cell: planned against measured memory, as a table"
    )
    p.add_argument("steps", type=_count("steps"), help="sequence length T")
    p.add_argument(
        "memory", type=_memory("memory"), help="budget in hidden-state units, or like 5%%"
    )
    p.add_argument("--cell", choices=("lstm", "rnn"), default="lstm", help="default lstm")
    for name, default in (("batch", 32), ("input-size", 64), ("hidden-size", 128)):
        p.add_argument(
            f"--{name}", type=_count(f"--{name}"), default=default, help=f"default {default}"
        )
    _add_strategy_options(p)  # alpha is the cell's own

    p = sub.add_parser("check", help="validate a trace JSON from another implementation")
    p.add_argument(
        "trace", help="a regular file of JSON with steps, memory, alpha and actions, or - for stdin"
    )

    p = sub.add_parser("reproduce", help="regenerate the paper's figures and REPORT.md")
    p.add_argument("--out", default="paper_figures/output", help="output folder")
    p.add_argument("--quick", action="store_true", help="smaller sweeps (about a minute)")
    return parser


def _model_kwargs(args) -> dict:
    """The options that ``_add_model_options`` declared, as keywords of plan/cost."""
    return dict(
        alpha=args.alpha,
        strategy=args.strategy,
        model=args.model,
        internal_has_output=args.internal_has_output,
    )


def _plan_command(args) -> int:
    if args.animate is not None:
        _writable_file("--animate", args.animate, ".gif")
    common = _model_kwargs(args)
    result = plan(args.steps, args.memory, progress=_progress_printer(), **common)
    if args.animate:  # before any output: a refusal leaves stdout empty
        from mini_bptt import viz

        with _writing("--animate", args.animate, refusals=(ValueError,)):
            frames = viz.save_animation(result, args.animate)
    if args.json:
        print(result.to_json())
    else:
        full = float(bptt_peak(result.steps, units_for(args.alpha)))
        print(f"strategy        {result.strategy} ({result.model} model)")
        print(f"steps           {result.steps}")
        print(
            f"memory budget   {_text(args.memory)} -> peak {result.peak_memory} units "
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


def _table_command(args) -> int:
    common = _model_kwargs(args)
    rows, limit = _length(args.steps) * _length(args.memory), limits.current().actions
    if rows > limit:
        raise UsageError(
            f"the table would have {shown(rows)} rows (steps x memory), over the limit of {limit}"
        )
    steps, units = max(args.steps), units_for(args.alpha)
    memories = [max(args.memory)] if isinstance(args.memory, range) else args.memory
    try:
        widest = max(parse_memory(m, steps, units) for m in memories)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"argument --memory: {exc}") from None
    if args.strategy in ("ism", "msm"):  # fill the DP once, for the longest and widest case
        with contextlib.suppress(InfeasibleMemoryError):  # reported cell by cell below
            cost(steps, widest, progress=_progress_printer(), **common)
    writer = csv.writer(sys.stdout, lineterminator="\n")  # only once every argument is valid
    writer.writerow(["steps", "memory", "forward_count", "forward_per_step"])
    for steps in args.steps:
        for memory in args.memory:
            try:
                forwards = cost(steps, memory, **common)
            except InfeasibleMemoryError:
                writer.writerow([steps, _text(memory), "", ""])  # infeasible: left empty
                continue
            writer.writerow([steps, _text(memory), forwards, f"{forwards / steps:.6g}"])
    return 0


def _run_command(args) -> int:
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
        progress=_progress_printer(),
    )
    gates = cell.params["b"].size // cell.hidden_size
    seconds = execution_seconds(
        batch, cell.input_size, cell.hidden_size, gates, result.forward_count, steps
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
        f"{_text(args.memory)}: {result.forward_count} forwards"
    )
    print(report.table())
    return 0


def _check_command(args) -> int:
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
    status = "valid" if verdict.valid else "INVALID"
    own = verdict.strategy_optimal_forward_count
    strategy = verdict.strategy + ("" if own is None else f" (its optimum {own})")
    if verdict.optimal_forward_count is None:
        optimum = "optimal_forward_count=not computed"
    else:
        optimum = (
            f"optimal_forward_count={verdict.optimal_forward_count} overhead={verdict.overhead:.4f}"
        )
    print(
        f"{status}: forward_count={verdict.forward_count} peak_memory={verdict.peak_memory} "
        f"strategy={strategy} {optimum}"
    )
    if verdict.optimum_note:
        print(f"note: {verdict.optimum_note}")
    for error in verdict.errors:
        print(f"error: {error}")
    return 0 if verdict.valid else 1


def _reproduce_command(args) -> int:
    from mini_bptt.reproduce import reproduce

    if not args.out.strip():
        raise UsageError(f"--out must be a folder path, got {shown_path(args.out)}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        out = shown_path(args.out)
        raise UsageError(f"--out {out} is a file; give a folder (created if missing)")
    started = time.perf_counter()
    with _writing("--out", args.out):
        path = reproduce(args.out, quick=args.quick, progress=_reproduce_printer())
    print(f"wrote {path} and the figures beside it ({time.perf_counter() - started:.0f} s)")
    return 0


COMMANDS = {
    "plan": _plan_command,
    "table": _table_command,
    "run": _run_command,
    "check": _check_command,
    "reproduce": _reproduce_command,
}


class Terminated(BaseException):
    """SIGTERM (``timeout``, ``kill``, a cancelled CI job), raised where the process is, so
    that files being written are removed as on Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    if threading.current_thread() is not threading.main_thread():  # signals reach only it
        return _main(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(argv)
    finally:  # a caller that runs main() in its own process gets its handler back
        signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, TypeError, ImportError, OSError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the library said
        print(f"mini-bptt: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # files being written were left as they were
        print("\nmini-bptt: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("\nmini-bptt: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(main())
