"""mini_bptt: a pure-NumPy reference for Memory-Efficient Backpropagation Through Time.

The method is that of A. Gruslys, R. Munos, I. Danihelka, M. Lanctot and A. Graves,
"Memory-Efficient Backpropagation Through Time", NeurIPS 2016, arXiv:1606.03401.
The rules every plan obeys (actions, memory units, costs) are in docs/model.md.

Layers, each importing only the ones before it: ``common`` (argument checks, resource
limits) -> ``cells`` (forward/backward of one step) -> ``planning`` (the rules, the DPs,
a ``Plan`` of actions) -> ``oracle`` (execute and check plans) -> the users at this level
(``cli``, ``viz``, ``figures``, ``reproduce``, ``training``, ``machine``)."""

from mini_bptt.cells import (
    Cell,
    Head,
    LSTMCell,
    MSEHead,
    Result,
    RNNCell,
    SoftmaxHead,
    full_bptt,
)
from mini_bptt.oracle import (
    ArrayComparison,
    CallLogPlan,
    CheckResult,
    Departure,
    ExecutionResult,
    GradientComparison,
    MemoryReport,
    OffPlanError,
    Recorder,
    check,
    compare_gradients,
    execute,
    plan_patterns,
    rule_covering_plans,
    trace_from_calls,
)
from mini_bptt.planning import (
    MODELS,
    OPS,
    STRATEGIES,
    Action,
    InfeasibleMemoryError,
    OnlinePlanner,
    Plan,
    PlanError,
    PlannerStateError,
    Problem,
    ResourceLimitError,
    cost,
    plan,
    resource_limits,
)

__version__ = "0.1.0"

__all__ = [
    "MODELS",
    "OPS",
    "STRATEGIES",
    "Action",
    "ArrayComparison",
    "CallLogPlan",
    "Cell",
    "CheckResult",
    "Departure",
    "ExecutionResult",
    "GradientComparison",
    "Head",
    "InfeasibleMemoryError",
    "LSTMCell",
    "MSEHead",
    "MemoryReport",
    "OffPlanError",
    "OnlinePlanner",
    "Plan",
    "PlanError",
    "PlannerStateError",
    "Problem",
    "RNNCell",
    "Recorder",
    "ResourceLimitError",
    "Result",
    "SoftmaxHead",
    "__version__",
    "check",
    "compare_gradients",
    "cost",
    "execute",
    "full_bptt",
    "plan",
    "plan_patterns",
    "resource_limits",
    "rule_covering_plans",
    "trace_from_calls",
]
