"""The oracle: run a plan on a cell with exact accounting, judge any trace, convert other tools'.
May import ``mini_bptt.cells`` and ``mini_bptt.planning``; never the CLI, viz or figures.
Entry points: ``execute`` (numbers), ``check`` (symbols), ``interop`` (checkpoint-schedules)."""

from mini_bptt.oracle.check import CheckResult, check
from mini_bptt.oracle.executor import execute

__all__ = ["CheckResult", "check", "execute"]
