"""The result of running BPTT, shared by ``full_bptt`` and ``execute``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Result:
    """Loss, gradients and the exact accounting of one backpropagation run.

    peak_memory: saved units (hidden state = 1, internal state = alpha).
    peak_bytes:  bytes of the arrays held in the store at its peak (from ``nbytes``).
    memory_timeline: saved units after each action, as floats (empty for ``full_bptt``).
    """

    loss: float
    grads: dict[str, np.ndarray]
    dh0: np.ndarray
    forward_count: int
    backward_count: int
    peak_memory: float
    peak_bytes: int
    memory_timeline: tuple[float, ...] = field(default=(), repr=False)
