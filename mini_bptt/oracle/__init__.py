"""The oracle: run a plan on a cell with exact accounting, judge any trace, convert other tools'.
May import ``mini_bptt.cells`` and ``mini_bptt.planning``; never the CLI, viz or figures.
Entry points: ``execute`` (numbers), ``check`` and ``Recorder`` (symbols), ``compare_gradients``."""

from mini_bptt.oracle.check import CheckResult, check
from mini_bptt.oracle.compare import GradientComparison, compare_gradients
from mini_bptt.oracle.executor import execute
from mini_bptt.oracle.memory_report import ExecutionResult, MemoryReport
from mini_bptt.oracle.recorder import Recorder

__all__ = [
    "CheckResult",
    "ExecutionResult",
    "GradientComparison",
    "MemoryReport",
    "Recorder",
    "check",
    "compare_gradients",
    "execute",
]
