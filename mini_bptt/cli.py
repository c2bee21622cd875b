"""Command line: ``mini-bptt plan | table | run | check | reproduce`` (or ``python -m mini_bptt``).

The library returns, the CLI prints. Any bad argument (a file that cannot be written
included) ends with one line on stderr and exit code 2; an invalid trace given to
``check`` exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import sys
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from mini_bptt import __version__
from mini_bptt.cells import LSTMCell, MSEHead, RNNCell
from mini_bptt.cells._checks import positive_int
from mini_bptt.cells._limits import require_bytes
from mini_bptt.oracle.check import check
from mini_bptt.oracle.executor import execute
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
    def parse(text: str):
        try:
            value = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        return int(value) if value.denominator == 1 else float(value)

    return parse


def _memory(text: str):
    return text if text.strip().endswith("%") else _number("memory")(text)


def _range(name: str, parse):
    """'a:b' or 'a:b:c' (inclusive, integers) or a comma list of values."""

    def parse_range(text: str):
        if ":" in text:
            parts = text.split(":")
            try:
                if len(parts) not in (2, 3):
                    raise ValueError
                start, stop, step = (
                    int(parts[0]),
                    int(parts[1]),
                    int(parts[2]) if len(parts) == 3 else 1,
                )
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{name} must be a range like 1:100 or 1:100:5, got {text!r}"
                ) from None
            if step < 1 or stop < start:
                raise argparse.ArgumentTypeError(
                    f"{name} range needs start <= stop and step >= 1, got {text!r}"
                )
            return range(start, stop + 1, step)  # lazy: its length is known without a list
        return [parse(part) for part in text.split(",")]

    return parse_range


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mini-bptt", description="Memory-efficient BPTT: plans, costs, checks.")
    parser.add_argument("--version", action="version", version=f"mini-bptt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("plan", help="plan one sequence: summary, or --json for the whole plan")
    p.add_argument("steps", type=_number("steps"), help="sequence length T")
    p.add_argument("memory", type=_memory, help="budget in hidden-state units, or like 5%%")
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
        type=_range("--steps", _number("--steps")),
        required=True,
        help="e.g. 1:100, 10:1000:10 or 100,200",
    )
    p.add_argument(
        "--memory", type=_range("--memory", _memory), required=True, help="e.g. 1:20 or 5%%,10%%"
    )
    _add_model_options(p)

    p = sub.add_parser(
        "run", help="run a plan on a random cell: planned against measured memory, as a table"
    )
    p.add_argument("steps", type=_number("steps"), help="sequence length T")
    p.add_argument("memory", type=_memory, help="budget in hidden-state units, or like 5%%")
    p.add_argument("--cell", choices=("lstm", "rnn"), default="lstm", help="default lstm")
    for name, default in (("batch", 32), ("input-size", 64), ("hidden-size", 128)):
        p.add_argument(
            f"--{name}", type=_number(f"--{name}"), default=default, help=f"default {default}"
        )
    _add_strategy_options(p)  # alpha is the cell's own

    p = sub.add_parser("check", help="validate a trace JSON from another implementation")
    p.add_argument("trace", help="JSON with steps, memory, alpha and actions")

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
    common = _model_kwargs(args)
    result = plan(args.steps, args.memory, progress=_progress_printer(), **common)
    if args.json:
        print(result.to_json())
    else:
        full = float(bptt_peak(result.steps, units_for(args.alpha)))
        print(f"strategy        {result.strategy} ({result.model} model)")
        print(f"steps           {result.steps}")
        print(
            f"memory budget   {args.memory} -> peak {result.peak_memory} units "
            f"({result.peak_memory / full:.1%} of full BPTT's {full:g})"
        )
        print(
            f"forward count   {result.forward_count} "
            f"({result.forward_count / result.steps:.3f} per step; full BPTT: 1)"
        )
        print(f"actions         {len(result.actions)}")
    if args.animate:
        from mini_bptt import viz

        frames = viz.save_animation(result, args.animate)
        print(f"wrote {args.animate}: {frames} frames, one per action")
    if args.show:
        from mini_bptt import viz

        if viz.has_display():
            viz.show_plan(result)
        else:
            viz.show_plan(result, path="mini-bptt-plan.png")
            print("no display: wrote mini-bptt-plan.png")
    return 0


def _table_command(args) -> int:
    common = _model_kwargs(args)
    rows, limit = len(args.steps) * len(args.memory), limits.current().actions
    if rows > limit:
        raise UsageError(
            f"the table would have {rows} rows (steps x memory), over the limit of {limit}"
        )
    for steps in args.steps:
        positive_int("steps", steps)
    steps, units = max(args.steps), units_for(args.alpha)
    widest = max(parse_memory(m, steps, units) for m in args.memory)  # names a bad value
    if args.strategy in ("ism", "msm"):  # fill the DP once, for the longest and widest case
        with contextlib.suppress(InfeasibleMemoryError):  # reported cell by cell below
            cost(steps, widest, progress=_progress_printer(), **common)
    writer = csv.writer(sys.stdout, lineterminator="\n")  # only once every argument is valid
    writer.writerow(["steps", "memory", "forward_count", "forward_per_step"])
    for steps in args.steps:
        for memory in args.memory:
            try:
                count = cost(steps, memory, **common)
            except InfeasibleMemoryError:
                writer.writerow([steps, memory, "", ""])  # infeasible: left empty, never clamped
                continue
            writer.writerow([steps, memory, count, f"{count / steps:.6g}"])
    return 0


def _run_command(args) -> int:
    sizes = {
        name: positive_int(f"--{name.replace('_', '-')}", getattr(args, name))
        for name in ("batch", "input_size", "hidden_size")
    }
    steps = positive_int("steps", args.steps)
    cell = (LSTMCell if args.cell == "lstm" else RNNCell)(
        sizes["input_size"], sizes["hidden_size"], seed=0
    )
    batch = sizes["batch"]
    arrays = 8 * steps * batch * (sizes["input_size"] + sizes["hidden_size"])
    require_bytes(f"inputs and targets for steps={steps}, batch={batch}", arrays)
    result = plan(
        steps,
        args.memory,
        alpha=cell.alpha,
        strategy=args.strategy,
        model=args.model,
        internal_has_output=args.internal_has_output,
        progress=_progress_printer(),
    )
    # one forward is 2 * batch * (input + hidden) * (gates * hidden) flops and a reverse
    # step about twice that; traced by tracemalloc, NumPy runs them at about 2e9 flop/s
    # here (T = 1000, the default cell: 8 s), so refuse what would exceed the time limit
    flops = 2 * batch * (cell.input_size + cell.hidden_size) * cell.params["b"].size
    seconds = flops * (result.forward_count + 2 * steps) / 2e9
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
        f"(alpha {cell.alpha:g}); {result.strategy} plan for {steps} steps at {args.memory}: "
        f"{result.forward_count} forwards"
    )
    print(report.table())
    return 0


def _check_command(args) -> int:
    try:
        with open(args.trace, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read trace {args.trace!r}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"trace {args.trace!r} is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"trace {args.trace!r} is not UTF-8 text") from None
    except RecursionError:
        raise UsageError(f"trace {args.trace!r} nests JSON too deeply to read") from None
    if not isinstance(data, dict):
        raise UsageError(f"trace {args.trace!r} must hold a JSON object")
    missing = [k for k in ("steps", "memory", "actions") if k not in data]
    if missing:
        raise UsageError(f"trace {args.trace!r} lacks {', '.join(missing)}")
    verdict = check(
        data["actions"],
        steps=data["steps"],
        memory=data["memory"],
        alpha=data.get("alpha", 1),
        internal_has_output=data.get("internal_has_output", True),
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

    def report(done: int, total: int, name: str, seconds: float) -> None:
        bar = "#" * done + "." * (total - done)
        print(f"[{bar}] {done}/{total} {name} ({seconds:.1f} s)", file=sys.stderr, flush=True)

    path = reproduce(args.out, quick=args.quick, progress=report)
    print(f"wrote {path} and the figures beside it")
    return 0


COMMANDS = {
    "plan": _plan_command,
    "table": _table_command,
    "run": _run_command,
    "check": _check_command,
    "reproduce": _reproduce_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, TypeError, ImportError, OSError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the library said
        print(f"mini-bptt: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
