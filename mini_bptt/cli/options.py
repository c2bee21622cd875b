"""The command line's grammar: every option, its type and what it accepts."""

from __future__ import annotations

import argparse
import re
from fractions import Fraction

from mini_bptt import __version__
from mini_bptt.common.arguments import count, parse_decimal, shown
from mini_bptt.planning.plan import MODELS, STRATEGIES


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


def _add_model_options(p: argparse.ArgumentParser) -> None:
    _add_alpha_option(p)
    _add_strategy_options(p)


def _add_alpha_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--alpha",
        type=_number("--alpha"),
        default=1,
        help="internal-state size in hidden-state units (default 1)",
    )


def _add_strategy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", choices=STRATEGIES, default="msm", help="default msm")
    p.add_argument("--model", choices=MODELS, default="optimal", help="default optimal")
    _add_output_flag(p)


def _add_output_flag(p: argparse.ArgumentParser) -> None:
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


def shown_value(value: int | Fraction | str) -> str:
    """A parsed number as the user would write it (a Fraction as the nearest float)."""
    return str(float(value)) if isinstance(value, Fraction) else str(value)


def value_count(values: range | list) -> int:
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

    p = sub.add_parser(
        "online",
        help="plan a loop of unknown length step by step: forwards against the offline "
        "optimum, as CSV, or --json for the whole plan of one T",
    )
    p.add_argument("memory", type=_number("memory"), help="budget in hidden-state units")
    p.add_argument(
        "--steps",
        type=_range("--steps", _count("--steps")),
        required=True,
        help="where the loop stops: e.g. 100, 1:200 or 50,500,5000",
    )
    _add_alpha_option(p)
    _add_output_flag(p)
    p.add_argument("--json", action="store_true", help="print the whole plan of one T as JSON")

    p = sub.add_parser("reproduce", help="regenerate the paper's figures and REPORT.md")
    p.add_argument("--out", default="paper_figures/output", help="output folder")
    p.add_argument("--quick", action="store_true", help="smaller sweeps (about a minute)")
    return parser
