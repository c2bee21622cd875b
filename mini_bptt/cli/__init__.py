"""Command line: ``mini-bptt plan | table | run | check | reproduce`` (or ``python -m mini_bptt``).

The library returns, the CLI prints. Any bad argument (a file that cannot be written
included) ends with one line on stderr and exit code 2; an invalid trace given to
``check`` exits 1; Ctrl-C exits 130, any file being written left as it was before.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence

from mini_bptt.cli.commands import (
    check_command,
    plan_command,
    reproduce_command,
    run_command,
    table_command,
)
from mini_bptt.cli.online import online_command
from mini_bptt.cli.options import UsageError, build_parser

COMMANDS = {
    "plan": plan_command,
    "table": table_command,
    "run": run_command,
    "check": check_command,
    "online": online_command,
    "reproduce": reproduce_command,
}


class Terminated(BaseException):
    """SIGTERM (``timeout``, ``kill``, a cancelled CI job), raised where the process is, so
    that files being written are removed as on Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
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


__all__ = ["build_parser", "main"]
