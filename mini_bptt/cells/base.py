"""The cell protocol shared by every cell: a cell keeps only its parameters. One step is

    state_next, cache = cell.forward(state, x)     # state: (batch, state_size)
    dstate, dparams   = cell.backward(cache, dstate_next)
    dstate = cell.backward_into(cache, dstate_next, grads)   # adds dparams into grads

and ``cache`` *is* the paper's internal state: a NamedTuple of arrays holding
exactly what ``backward`` reads, plus the step's output state (so a saved
internal state can restart the forward: ``restore_internal`` in docs/model.md).
Field ``x`` is a reference to the step's input, which is free working space
(docs/model.md, *Free working space*), so it is not counted in ``alpha`` nor in bytes held.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

from mini_bptt.common import arguments, resources

INPUT_FIELD = "x"  # cache field that refers to the caller's input array


class Parameters(dict):
    """Arrays by name (a ``dict``) that still answer, with a ``DeprecationWarning``, to the
    names they had before: ``renamed`` maps an old name to the current one."""

    def __init__(self, arrays: dict[str, np.ndarray], renamed: dict[str, str]) -> None:
        super().__init__(arrays)
        self.renamed = dict(renamed)

    def __missing__(self, key: str) -> np.ndarray:
        current = self.renamed.get(key) if isinstance(key, str) else None
        if current is None:
            raise KeyError(key)
        warnings.warn(
            f"{key!r} is deprecated: every cell names its weights {current!r} now",
            DeprecationWarning,
            stacklevel=2,
        )
        return self[current]


def cache_nbytes(cache: NamedTuple) -> int:
    """Bytes a cache keeps alive beyond the inputs (the units of ``alpha``)."""
    return sum(
        a.nbytes for name, a in zip(cache._fields, cache, strict=False) if name != INPUT_FIELD
    )


def add_outer_product(total: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """``total += left.T @ right``, a block of rows at a time: each block's product is at
    most the size of ``left`` (one step's activations), never the size of ``total`` (a
    weight matrix), so accumulating a gradient needs no weight-sized temporary."""
    rows = max(1, left.size // max(1, right.shape[1]))
    for start in range(0, total.shape[0], rows):
        total[start : start + rows] += left[:, start : start + rows].T @ right


def shown_size(size: int) -> str:
    """A size for a message: exact up to 10**18, abbreviated beyond (one short line)."""
    return str(size) if size < 10**18 else arguments.shown(size)


def _as_float64(name: str, value: object) -> np.ndarray:
    """``value`` as float64: a float64 array as it is (the cell copies it), another array
    converted only if its float64 copy fits the ``array_bytes`` limit."""
    if isinstance(value, np.ndarray) and value.dtype != np.float64:
        resources.require_bytes(
            f"{name} of shape {value.shape} as float64 (from {value.dtype})", 8 * value.size
        )
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    return array  # shape and finiteness: arguments.float_array, once the sizes are known


class Cell:
    """Base class: parameters, sizes, input checks and the measured ``alpha``.

    Subclasses define ``state_size``, ``forward``, ``backward_into`` (which adds the
    step's parameter gradients into accumulators, so no per-step gradient arrays are
    held), ``next_state(cache)`` (the output state held in the cache), ``output(state)``
    (the part a head reads, ``h``), ``output_grad(dh)`` (``dh`` of shape (batch,
    hidden_size) embedded in state shape), and the two shortcuts the runners use,
    ``output_of(cache)`` (``output(next_state(cache))``) and ``add_output_grad(dstate,
    dh)`` (``dstate + output_grad(dh)``, written into ``dstate``: the runner's carry,
    which it no longer needs), which a cell may write without the copies.
    """

    input_size: int
    hidden_size: int
    state_size: int
    params: dict[str, np.ndarray]
    # PyTorch's layout (torch.nn.RNNCell / torch.nn.LSTMCell): weight_ih (gates * H, I),
    # weight_hh (gates * H, H), and two biases that add up to our ``b`` (gates * H,)
    GATES: int = 1
    INPUT_WEIGHT, HIDDEN_WEIGHT = "W_xh", "W_hh"

    @classmethod
    def from_weights(
        cls,
        weight_ih: np.ndarray,
        weight_hh: np.ndarray,
        bias_ih: np.ndarray | None = None,
        bias_hh: np.ndarray | None = None,
        **options,
    ) -> Cell:
        """A cell holding weights given in PyTorch's layout.

        Parameters
        ----------
        weight_ih : array_like
            (gates * H, I): PyTorch's ``weight_ih``; LSTM gates in the order i, f, g, o.
        weight_hh : array_like
            (gates * H, H).
        bias_ih, bias_hh : array_like, optional
            (gates * H,) each; our ``b`` is their sum (zeros when both are None).
        **options
            Passed to the constructor (e.g. ``seed``; unused weights are replaced).

        Returns
        -------
        Cell
            A new cell of this class with copies of the arrays, as float64.

        Raises
        ------
        TypeError
            For something that is not an array of numbers, named.
        ValueError
            Naming an array whose shape does not fit, or that is not finite; or
            ``ResourceLimitError`` for weights past the ``array_bytes`` limit.

        Examples
        --------
        >>> import numpy as np
        >>> from mini_bptt import RNNCell
        >>> cell = RNNCell.from_weights(np.ones((4, 3)), np.eye(4), np.ones(4), np.ones(4))
        >>> cell.input_size, cell.hidden_size, cell.params["b"].tolist()
        (3, 4, [2.0, 2.0, 2.0, 2.0])
        """
        weight_ih, weight_hh = (
            _as_float64("weight_ih", weight_ih),
            _as_float64("weight_hh", weight_hh),
        )
        if weight_ih.ndim != 2 or weight_ih.shape[0] % cls.GATES or 0 in weight_ih.shape:
            raise ValueError(
                f"weight_ih must have shape ({cls.GATES} * hidden_size, input_size), "
                f"got {weight_ih.shape}"
            )
        hidden, inputs = weight_ih.shape[0] // cls.GATES, weight_ih.shape[1]
        cell = cls(inputs, hidden, **options)
        b = np.zeros(cls.GATES * hidden)
        for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
            if bias is not None:
                b = b + arguments.float_array(name, _as_float64(name, bias), b.shape)
        cell.params[cls.INPUT_WEIGHT] = arguments.float_array(
            "weight_ih", weight_ih, cell.params[cls.INPUT_WEIGHT].shape
        ).copy()
        cell.params[cls.HIDDEN_WEIGHT] = arguments.float_array(
            "weight_hh", weight_hh, cell.params[cls.HIDDEN_WEIGHT].shape
        ).copy()
        cell.params["b"] = b
        return cell

    def backward(self, cache, dstate_next: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """dL/dstate at the step's input and this step's own parameter gradients.
        A cell defines this or ``backward_into``; each is written with the other."""
        if type(self).backward_into is Cell.backward_into:
            raise NotImplementedError(f"{type(self).__name__} defines neither backward method")
        dparams = {name: np.zeros_like(p) for name, p in self.params.items()}
        return self.backward_into(cache, dstate_next, dparams), dparams

    def backward_into(self, cache, dstate_next: np.ndarray, grads: dict) -> np.ndarray:
        """dL/dstate at the step's input; this step's parameter gradients added to ``grads``."""
        if type(self).backward is Cell.backward:
            raise NotImplementedError(f"{type(self).__name__} defines neither backward method")
        dstate, dparams = self.backward(cache, dstate_next)
        for name, d in dparams.items():
            grads[name] += d
        return dstate

    def output_of(self, cache) -> np.ndarray:
        """The part of the cache's output state that a head reads."""
        return self.output(self.next_state(cache))

    def add_output_grad(self, dstate: np.ndarray, dh: np.ndarray) -> np.ndarray:
        """``dstate + output_grad(dh)`` (a cell may write it into ``dstate``, the carry)."""
        return dstate + self.output_grad(dh)

    def weights(self) -> dict[str, np.ndarray]:
        """The parameters in PyTorch's layout, as copies.

        Returns
        -------
        dict
            ``weight_ih``, ``weight_hh``, ``bias_ih`` (our ``b``) and ``bias_hh`` (zeros):
            ``from_weights(**cell.weights())`` is the same cell.

        Raises
        ------
        KeyError
            Only for a cell whose ``params`` lost a weight: they were checked when the
            cell was made.

        Examples
        --------
        >>> from mini_bptt import LSTMCell
        >>> {k: v.shape for k, v in LSTMCell(3, 2).weights().items()}
        {'weight_ih': (8, 3), 'weight_hh': (8, 2), 'bias_ih': (8,), 'bias_hh': (8,)}
        """
        return {
            "weight_ih": self.params[self.INPUT_WEIGHT].copy(),
            "weight_hh": self.params[self.HIDDEN_WEIGHT].copy(),
            "bias_ih": self.params["b"].copy(),
            "bias_hh": np.zeros_like(self.params["b"]),
        }

    def torch_name(self, name: str) -> str:
        """PyTorch's name of our parameter ``name`` (``b`` is both of its biases: bias_ih)."""
        names = {self.INPUT_WEIGHT: "weight_ih", self.HIDDEN_WEIGHT: "weight_hh", "b": "bias_ih"}
        return names[name]

    def __init__(self, input_size: int, hidden_size: int) -> None:
        self.input_size = arguments.positive_int("input_size", input_size)
        self.hidden_size = arguments.positive_int("hidden_size", hidden_size)
        rows = self.GATES * self.hidden_size
        weights = 8 * rows * (self.input_size + self.hidden_size + 1)  # float64 W_xh, W_hh, b
        resources.require_bytes(
            f"{type(self).__name__}(input_size={shown_size(self.input_size)}, "
            f"hidden_size={shown_size(self.hidden_size)})",
            weights,
        )

    def zero_state(self, batch: int) -> np.ndarray:
        """Initial state of zeros, shape (batch, state_size), float64; a ``batch`` whose
        state would pass the ``array_bytes`` limit raises ``ResourceLimitError``."""
        batch = arguments.positive_int("batch", batch)
        resources.require_bytes(
            f"a state of batch={shown_size(batch)}, state_size={self.state_size}",
            8 * batch * self.state_size,
        )
        return np.zeros((batch, self.state_size))

    @property
    def alpha(self) -> float:
        """Internal-state size / hidden-state size, measured from a real cache."""
        state = self.zero_state(1)
        _, cache = self.forward(state, np.zeros((1, self.input_size)))
        return cache_nbytes(cache) / state.nbytes

    def check_inputs(self, xs: np.ndarray, h0: np.ndarray) -> tuple[int, int]:
        """Validate ``xs`` (steps, batch, input_size) and ``h0``; return (steps, batch)."""
        if not isinstance(xs, np.ndarray) or xs.ndim != 3:
            shape = getattr(xs, "shape", type(xs).__name__)
            raise ValueError(
                f"xs must be an array of shape (steps, batch, input_size), got {shape}"
            )
        steps, batch, _ = xs.shape
        if steps < 1 or batch < 1:
            raise ValueError(f"xs must have at least one step and one batch row, got {xs.shape}")
        arguments.float_array("xs", xs, (steps, batch, self.input_size))
        arguments.float_array("h0", h0, (batch, self.state_size))
        return steps, batch
