"""Compare another implementation's gradients with ours when they cannot be bitwise equal.

Checkpointed and full BPTT in mini_bptt agree bit for bit (same arithmetic). Another
framework (PyTorch, JAX, float32) does other arithmetic: ``compare_gradients`` reports
the largest absolute and relative error per parameter and for ``dh0`` and judges them
against a tolerance suited to the lowest precision among the arrays given.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mini_bptt.cells.base import Cell
from mini_bptt.cells.result import Result
from mini_bptt.common import arguments

# largest relative error accepted, by the precision of the other implementation's arrays:
# about 1e4 roundings of float64, and a few hundred of float32/float16 through T steps
TOLERANCES = {"float64": 1e-9, "float32": 1e-3, "float16": 5e-2}


@dataclass(frozen=True)
class ArrayError:
    """One array: largest ``|ours - theirs|`` and that over ``max |ours|``."""

    name: str
    max_abs_error: float
    max_rel_error: float
    ok: bool


@dataclass(frozen=True)
class GradientComparison:
    """Errors per array, the precision judged (``dtype``) and its ``tolerance``."""

    dtype: str
    tolerance: float
    arrays: tuple[ArrayError, ...]

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.arrays)

    def report(self) -> str:
        """A table, one line per array, and the verdict."""
        lines = [f"{'array':<12} {'max abs error':>14} {'max rel error':>14}  within"]
        for a in self.arrays:
            verdict = "yes" if a.ok else "NO"
            lines.append(
                f"{a.name:<12} {a.max_abs_error:>14.3e} {a.max_rel_error:>14.3e}  {verdict}"
            )
        summary = "agree" if self.ok else "DISAGREE"
        lines.append(f"{summary}: {self.dtype} tolerance {self.tolerance:g} (relative)")
        return "\n".join(lines)


def compare_gradients(
    result: Result,
    other: Mapping[str, object],
    *,
    cell: Cell | None = None,
    tolerance: float | None = None,
) -> GradientComparison:
    """Judge another implementation's gradients against our ``result``, array by array.

    Parameters
    ----------
    result : Result
        Ours, from ``execute`` or ``full_bptt``.
    other : mapping
        Name -> array of any floating dtype. Names are ours (``result.grads`` keys and
        ``dh0``), or with ``cell`` given PyTorch's (``weight_ih``, ``weight_hh``,
        ``bias_ih``, ``bias_hh``: both biases are compared with our ``b``). For an LSTM,
        ``dh0`` has the state's shape ``[dh | dc]``, or give ``dh0`` and ``dc0`` of shape
        (batch, hidden) each.
    cell : Cell, optional
        Our cell, to accept PyTorch's names.
    tolerance : float, optional
        Largest relative error accepted, a finite real >= 0; default ``TOLERANCES`` of the
        lowest precision given (float64 1e-9, float32 1e-3, float16 5e-2).

    Returns
    -------
    GradientComparison
        ``ok``, and per array the largest absolute and relative error.

    Raises
    ------
    ValueError
        Naming a missing, unknown or misshapen array, a ``cell`` of another kind than the
        result's, or a ``tolerance`` that is negative, NaN or infinite.
    TypeError
        For a ``result`` that is not a ``Result``, an ``other`` that is not a mapping of
        names to arrays, an array that is not floating point, a ``cell`` that is not a
        ``Cell``, or a ``tolerance`` that is not a real number (a bool included).

    Examples
    --------
    >>> import numpy as np, mini_bptt as mb
    >>> cell, rng = mb.RNNCell(3, 4), np.random.default_rng(0)
    >>> head = mb.MSEHead(rng.normal(size=(5, 2, 4)))
    >>> ours = mb.full_bptt(cell, rng.normal(size=(5, 2, 3)), np.zeros((2, 4)), head)
    >>> theirs = {k: v.astype(np.float32) for k, v in {**ours.grads, "dh0": ours.dh0}.items()}
    >>> mb.compare_gradients(ours, theirs).ok
    True
    """
    ours = _reference(result)
    tolerance = _tolerance(tolerance)
    given = _their_arrays(other)
    theirs = _our_names(dict(given), cell, ours)
    unknown = sorted(set(theirs) - set(ours))
    missing = sorted(set(ours) - set(theirs))
    if unknown or missing:
        raise ValueError(
            f"gradients must be named {', '.join(sorted(ours))}"
            + (" (or PyTorch's names, with cell=...)" if cell is None else "")
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    arrays = {}
    for name in sorted(theirs):
        for label, array in theirs[name]:
            if array.shape != ours[name].shape:
                raise ValueError(
                    f"gradient {label} has shape {array.shape}, ours {ours[name].shape}"
                )
            arrays[label] = (ours[name], array)
    # the lowest precision given, dh0 and dc0 each counted before they are joined
    dtype = min((a.dtype for a in given.values()), key=lambda d: np.finfo(d).bits).name
    if tolerance is None:
        tolerance = TOLERANCES.get(dtype, float(np.finfo(dtype).eps) ** 0.5)
    errors = []
    for label, (mine, array) in arrays.items():
        difference = float(np.max(np.abs(mine - array.astype(np.float64)), initial=0.0))
        scale = float(np.max(np.abs(mine), initial=0.0))
        relative = difference / scale if scale > 0 else difference
        errors.append(ArrayError(label, difference, relative, relative <= tolerance))
    return GradientComparison(dtype, tolerance, tuple(errors))


def _reference(result: object) -> dict[str, np.ndarray]:
    """Our arrays, ``result.grads`` and ``dh0``, or a TypeError naming ``result``."""
    if not isinstance(result, Result):
        raise TypeError(
            "result must be a mini_bptt Result (from execute or full_bptt), "
            f"got {type(result).__name__}"
        )
    ours = {"dh0": result.dh0}
    if isinstance(result.grads, Mapping):
        ours = {**result.grads, **ours}
    if not isinstance(result.grads, Mapping) or not all(
        isinstance(name, str) and isinstance(array, np.ndarray) for name, array in ours.items()
    ):
        raise TypeError(
            "result must hold grads, a mapping of names to numpy arrays, and dh0, an array; "
            f"got grads of type {type(result.grads).__name__}"
        )
    return ours


def _tolerance(tolerance: object) -> float | None:
    """None, or ``tolerance`` as a float if it is a finite real >= 0; else raise naming it."""
    if tolerance is None:
        return None
    accepted = "tolerance must be a finite real number >= 0 (or None for the dtype's default)"
    if isinstance(tolerance, bool | np.bool_) or not isinstance(tolerance, numbers.Real):
        raise TypeError(f"{accepted}, got {arguments.shown(tolerance)}")
    if not arguments.is_finite(tolerance) or tolerance < 0:
        raise ValueError(f"{accepted}, got {arguments.shown(tolerance)}")
    try:
        return float(tolerance)
    except OverflowError:
        raise ValueError(f"{accepted}, got {arguments.shown(tolerance)}") from None


def _their_arrays(other: object) -> dict[str, np.ndarray]:
    """``other`` as name -> floating-point array, or a TypeError naming what is wrong."""
    if not isinstance(other, Mapping):
        raise TypeError(
            f"other must be a mapping of gradient names to arrays, got {type(other).__name__}"
        )
    arrays = {}
    for label, value in other.items():
        if not isinstance(label, str):
            raise TypeError(
                "other must map gradient names (str) to arrays, "
                f"got the key {arguments.shown(label)}"
            )
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"gradient {label} must be an array of floats ({exc})") from None
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(f"gradient {label} must be floating point, got {array.dtype}")
        arrays[label] = array
    return arrays


def _our_names(other: dict, cell: Cell | None, ours: dict) -> dict[str, list[tuple[str, object]]]:
    """Their arrays under our names: name -> [(their label, array), ...]."""
    if "dc0" in other and "dh0" in other:
        dh, dc = other.pop("dh0"), other.pop("dc0")
        if dh.shape != dc.shape or dh.ndim == 0:
            raise ValueError(
                f"dh0 and dc0 must have one shape (batch, hidden_size), got {dh.shape} and "
                f"{dc.shape}"
            )
        other["dh0"] = np.concatenate([dh, dc], axis=-1)
    torch_names = {}
    if cell is not None:
        if not isinstance(cell, Cell):
            raise TypeError(f"cell must be a mini_bptt Cell or None, got {type(cell).__name__}")
        mine = {cell.INPUT_WEIGHT, cell.HIDDEN_WEIGHT, "b"}
        if not mine <= set(ours) or any(ours[n].shape != cell.params[n].shape for n in mine):
            raise ValueError(
                f"cell is a {type(cell).__name__} (gradients {_shapes(cell.params, mine)}), "
                f"but result's gradients are {_shapes(ours, set(ours) - {'dh0'})}"
            )
        torch_names = {cell.torch_name(name): name for name in mine}
        torch_names["bias_hh"] = "b"
    renamed: dict[str, list[tuple[str, object]]] = {}
    for label, value in other.items():
        renamed.setdefault(torch_names.get(label, label), []).append((label, value))
    return renamed


def _shapes(arrays: Mapping, names: set[str]) -> str:
    """``"W_hh (4, 4), W_xh (4, 3), b (4,)"``: names in order, each with its shape."""
    return ", ".join(f"{name} {tuple(np.shape(arrays[name]))}" for name in sorted(names))
