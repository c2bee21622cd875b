"""mini_bptt: a pure-NumPy reference for Memory-Efficient Backpropagation Through Time
(Gruslys et al., NeurIPS 2016).

Layers, each importing only the ones before it: ``cells`` (forward/backward of one step)
-> ``planning`` (the rules, the DPs, a ``Plan`` of actions) -> ``oracle`` (execute and
check plans) -> the users at this level (``cli``, ``viz``, ``figures``, ``reproduce``,
``training``, ``machine``)."""

from mini_bptt.cells import LSTMCell, MSEHead, Result, RNNCell, SoftmaxHead, full_bptt
from mini_bptt.oracle import CheckResult, check, execute
from mini_bptt.planning import MODELS, OPS, STRATEGIES, Action, Plan, PlanError, cost, plan

__version__ = "0.1.0"

__all__ = [
    "MODELS",
    "OPS",
    "STRATEGIES",
    "Action",
    "CheckResult",
    "LSTMCell",
    "MSEHead",
    "Plan",
    "PlanError",
    "RNNCell",
    "Result",
    "SoftmaxHead",
    "__version__",
    "check",
    "cost",
    "execute",
    "full_bptt",
    "plan",
]
