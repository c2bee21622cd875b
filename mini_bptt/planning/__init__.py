"""Planning: the rules (one replay), the paper's and the optimal DP, the closed form, baselines.
May import ``mini_bptt.common`` and ``mini_bptt.cells``; knows nothing about arrays.
Entry points: ``plan`` and ``cost`` (``planning/plan.py``), returning a ``Plan`` of ``Action`` s;
a ``Problem`` is a request worked out once (``planning/problem.py``); ``OnlinePlanner``
(``planning/online.py``) plans a loop that learns its length only when it stops."""

from mini_bptt.planning.actions import OPS, Action
from mini_bptt.planning.limits import ResourceLimitError, resource_limits
from mini_bptt.planning.online import OnlinePlanner, PlannerStateError
from mini_bptt.planning.plan import MODELS, STRATEGIES, InfeasibleMemoryError, Plan, cost, plan
from mini_bptt.planning.problem import Problem
from mini_bptt.planning.replay import PlanError

__all__ = [
    "MODELS",
    "OPS",
    "STRATEGIES",
    "Action",
    "InfeasibleMemoryError",
    "OnlinePlanner",
    "Plan",
    "PlanError",
    "PlannerStateError",
    "Problem",
    "ResourceLimitError",
    "cost",
    "plan",
    "resource_limits",
]
