"""The closed vocabulary of plan actions (docs/model.md, *Actions*): one op per effect."""

from __future__ import annotations

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
    """One action of a plan: ``op`` (one of ``OPS``) applied to time step ``step``."""

    op: str
    step: int

    def to_dict(self) -> dict:
        return {"op": self.op, "step": self.step}
