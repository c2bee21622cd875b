"""The oracle: run a plan on a cell with exact accounting, judge any trace, convert other tools'.
May import ``mini_bptt.cells`` and ``mini_bptt.planning``; never the CLI, viz or figures.
Entry points: ``execute`` (numbers), ``check`` and ``Recorder`` (symbols), ``compare_gradients``;
``rule_covering_plans``, the plans to run another implementation against."""

from mini_bptt.oracle.call_log import CallLogPlan, trace_from_calls
from mini_bptt.oracle.check import CheckResult, Departure, OffPlanError, check
from mini_bptt.oracle.compare import ArrayComparison, GradientComparison, compare_gradients
from mini_bptt.oracle.executor import execute
from mini_bptt.oracle.memory_report import ExecutionResult, MemoryReport
from mini_bptt.oracle.recorder import Recorder
from mini_bptt.oracle.rule_patterns import plan_patterns
from mini_bptt.oracle.rule_plans import rule_covering_plans

__all__ = [
    "ArrayComparison",
    "CallLogPlan",
    "CheckResult",
    "Departure",
    "ExecutionResult",
    "GradientComparison",
    "MemoryReport",
    "OffPlanError",
    "Recorder",
    "check",
    "compare_gradients",
    "execute",
    "plan_patterns",
    "rule_covering_plans",
    "trace_from_calls",
]
