"""Loss heads. A head is evaluated when step ``i`` is reversed, from the ``h_i``
held in that step's internal state, so no one ever needs all hidden states.

Protocol: ``head.params`` (dict, possibly empty), ``head.check(steps, batch, hidden_size)``
and ``head.loss_and_grads(index, h) -> (loss, dh, dparams)`` with ``index`` = step - 1.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from mini_bptt.cells.base import shown_size
from mini_bptt.common import arguments, resources


@runtime_checkable
class Head(Protocol):
    """What ``full_bptt`` and ``execute`` need of a loss head; write any class with these.

    Attributes
    ----------
    params : dict of str to numpy.ndarray
        The head's parameters (possibly none); their gradients are returned beside the
        cell's.
    """

    params: dict[str, np.ndarray]

    def check(self, steps: int, batch: int, hidden_size: int) -> None:
        """Raise ``ValueError`` unless the head fits a run of this shape."""

    def loss_and_grads(
        self, index: int, h: np.ndarray
    ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
        """Loss of step ``index + 1`` from its output ``h``, with d loss / d h and the
        gradients of ``params``."""


class MSEHead:
    """Squared error on the cell's output: loss = 1/2 sum_i ||h_i - targets[i-1]||^2.

    Parameters
    ----------
    targets : numpy.ndarray
        Finite float64 array of shape (steps, batch, hidden_size).

    Raises
    ------
    TypeError, ValueError
        For targets that are not a finite float64 array of three dimensions, named.

    Examples
    --------
    >>> import numpy as np
    >>> head = MSEHead(np.ones((5, 2, 3)))
    >>> loss, dh, dparams = head.loss_and_grads(0, np.zeros((2, 3)))
    >>> loss, dh.shape, dparams
    (3.0, (2, 3), {})
    """

    def __init__(self, targets: np.ndarray) -> None:
        if not isinstance(targets, np.ndarray) or targets.ndim != 3:
            shape = getattr(targets, "shape", type(targets).__name__)
            raise ValueError(
                f"targets must be an array of shape (steps, batch, hidden_size), got {shape}"
            )
        self.targets = arguments.float_array("targets", targets, targets.shape)
        self.params: dict[str, np.ndarray] = {}

    def check(self, steps: int, batch: int, hidden_size: int) -> None:
        expected = (steps, batch, hidden_size)
        if self.targets.shape != expected:
            raise ValueError(f"targets must have shape {expected}, got {self.targets.shape}")

    def loss_and_grads(
        self, index: int, h: np.ndarray
    ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
        diff = h - self.targets[index]  # (B, H)
        return 0.5 * float(np.sum(diff * diff)), diff, {}


class SoftmaxHead:
    """Softmax readout ``p = softmax(W_hy h + b_y)`` with cross-entropy on ``labels``.

    loss = -sum over labelled (step, row) of log p[label].

    Parameters
    ----------
    labels : numpy.ndarray
        Integer array (steps, batch) with values in [0, num_classes), or -1 for "no loss
        at this step".
    num_classes : int
        C >= 2; ``W_hy`` is (C, hidden_size) and ``b_y`` (C,).
    hidden_size : int
        The cell's hidden size H.
    seed : int
        Seed (>= 0) of the initial ``W_hy``.

    Raises
    ------
    TypeError, ValueError
        For labels of the wrong dtype, shape or range, or sizes out of range, named.
        Weights past the ``array_bytes`` resource limit raise ``ResourceLimitError``
        (a ``ValueError``) before anything is allocated.

    Examples
    --------
    >>> import numpy as np
    >>> head = SoftmaxHead(np.array([[0, 2], [1, -1]]), num_classes=3, hidden_size=4)
    >>> loss, dh, dparams = head.loss_and_grads(1, np.zeros((2, 4)))
    >>> round(loss, 4), sorted(dparams)
    (1.0986, ['W_hy', 'b_y'])
    """

    def __init__(self, labels: np.ndarray, num_classes: int, hidden_size: int, seed: int = 0):
        self.num_classes = arguments.positive_int("num_classes", num_classes, minimum=2)
        hidden_size = arguments.positive_int("hidden_size", hidden_size)
        if not isinstance(labels, np.ndarray) or labels.ndim != 2:
            shape = getattr(labels, "shape", type(labels).__name__)
            raise ValueError(
                f"labels must be an integer array of shape (steps, batch), got {shape}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"labels must have an integer dtype, got {labels.dtype}")
        if labels.size and (labels.min() < -1 or labels.max() >= self.num_classes):
            raise ValueError(
                f"labels must be in [0, {self.num_classes}) or -1 (no loss), "
                f"got values in [{labels.min()}, {labels.max()}]"
            )
        self.labels = labels
        rng = arguments.rng(seed)
        resources.require_bytes(
            f"SoftmaxHead(num_classes={shown_size(self.num_classes)}, "
            f"hidden_size={shown_size(hidden_size)})",
            8 * self.num_classes * (hidden_size + 1),
        )
        scale = 1.0 / np.sqrt(hidden_size)
        self.params = {
            "W_hy": rng.uniform(-scale, scale, (self.num_classes, hidden_size)),
            "b_y": np.zeros(self.num_classes),
        }

    def check(self, steps: int, batch: int, hidden_size: int) -> None:
        if self.labels.shape != (steps, batch):
            raise ValueError(f"labels must have shape {(steps, batch)}, got {self.labels.shape}")
        if self.params["W_hy"].shape[1] != hidden_size:
            raise ValueError(
                f"head hidden_size {self.params['W_hy'].shape[1]} does not match "
                f"the cell's hidden_size {hidden_size}"
            )

    def loss_and_grads(
        self, index: int, h: np.ndarray
    ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
        W, b = self.params["W_hy"], self.params["b_y"]
        labels = self.labels[index]  # (B,)
        rows = np.flatnonzero(labels >= 0)
        logits = h @ W.T + b  # (B, C)
        logits = logits - logits.max(axis=1, keepdims=True)  # stable softmax
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))  # (B, C)
        loss = -float(log_p[rows, labels[rows]].sum())
        dlogits = np.exp(log_p)  # (B, C) softmax
        dlogits[rows, labels[rows]] -= 1.0
        dlogits[labels < 0] = 0.0  # unlabelled rows contribute nothing
        dparams = {"W_hy": dlogits.T @ h, "b_y": dlogits.sum(axis=0)}
        return loss, dlogits @ W, dparams
