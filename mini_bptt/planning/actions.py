"""The closed vocabulary of plan actions (docs/model.md, *Actions*): one op per effect."""

from __future__ import annotations

import operator
from dataclasses import dataclass

FORWARD = "forward"
SAVE_HIDDEN = "save_hidden"
SAVE_INTERNAL = "save_internal"
RESTORE_HIDDEN = "restore_hidden"
RESTORE_INTERNAL = "restore_internal"
FREE_HIDDEN = "free_hidden"
FREE_INTERNAL = "free_internal"
BACKWARD = "backward"

OPS = (
    FORWARD,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    FREE_HIDDEN,
    FREE_INTERNAL,
    BACKWARD,
)


@dataclass(frozen=True)
class Action:
    """One action of a plan: ``op`` (one of ``OPS``) applied to time step ``step``.

    Parameters
    ----------
    op : str
        ``forward``, ``backward``, ``save_hidden``, ``save_internal``, ``restore_hidden``,
        ``restore_internal``, ``free_hidden`` or ``free_internal`` (docs/model.md,
        *Actions*, gives each one's rule and effect).
    step : int
        The time step: 0..T for the hidden-state ops, 1..T for the others. Any integer
        type but ``bool`` counts (NumPy's too: schedules and ``np.arange`` loops hand them
        out); ``to_action`` stores it as an ``int``, and the replay reads it as one.

    Raises
    ------
    PlanError
        Not here (an action is only data), but when a plan holding it is replayed
        (``Plan``, ``check``, ``execute``), for an unknown op or a bad step.

    Examples
    --------
    >>> Action("forward", 3).to_dict()
    {'op': 'forward', 'step': 3}
    """

    op: str
    step: int

    def to_dict(self) -> dict:
        return {"op": self.op, "step": self.step}


def plain_step(step: object) -> object:
    """``step`` as an ``int`` when it is of any integer type but ``bool`` (``operator.index``,
    as ``arguments.count`` reads counts); anything else unchanged, for the replay to judge."""
    if isinstance(step, bool):
        return step
    try:
        return operator.index(step)
    except TypeError:
        return step
