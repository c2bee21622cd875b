"""mini_bptt: a pure-NumPy reference for Memory-Efficient Backpropagation Through Time
(Gruslys et al., NeurIPS 2016). Cells -> planner -> executor/checker -> CLI."""

from mini_bptt.actions import OPS, Action
from mini_bptt.bptt import full_bptt
from mini_bptt.check import CheckResult, check
from mini_bptt.executor import execute
from mini_bptt.heads import MSEHead, SoftmaxHead
from mini_bptt.lstm_cell import LSTMCell
from mini_bptt.plan import MODELS, STRATEGIES, Plan, cost, plan
from mini_bptt.replay import PlanError
from mini_bptt.result import Result
from mini_bptt.rnn_cell import RNNCell

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
