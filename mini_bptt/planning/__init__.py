"""Planning: the rules (one replay), the paper's and the optimal DP, the closed form, baselines.
May import ``mini_bptt.cells`` (argument checks only); knows nothing about arrays.
Entry points: ``plan`` and ``cost`` (``planning/plan.py``), returning a ``Plan`` of ``Action`` s."""

from mini_bptt.planning.actions import OPS, Action
from mini_bptt.planning.limits import ResourceLimitError, resource_limits
from mini_bptt.planning.plan import MODELS, STRATEGIES, InfeasibleMemoryError, Plan, cost, plan
from mini_bptt.planning.replay import PlanError

__all__ = [
    "MODELS",
    "OPS",
    "STRATEGIES",
    "Action",
    "InfeasibleMemoryError",
    "Plan",
    "PlanError",
    "ResourceLimitError",
    "cost",
    "plan",
    "resource_limits",
]
