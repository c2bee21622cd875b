"""Compare another implementation's gradients with ours when they cannot be bitwise equal.

Checkpointed and full BPTT in mini_bptt agree bit for bit (same arithmetic). Another
framework (PyTorch, JAX, float32) does other arithmetic: ``compare_gradients`` reports,
per array, the largest absolute error and that error relative to the array's own scale
(``max |ours - theirs| / max |ours|``), and judges them against a tolerance suited to the
lowest precision among the arrays given. Every array we have must be given, unless the
caller names it in ``allow_missing``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from mini_bptt.cells.base import Cell
from mini_bptt.cells.result import Result
from mini_bptt.common import arguments

# Largest relative error accepted, by the precision of the other implementation's arrays.
# Measured on an LSTM (H = 16, T = 60 to 1000): a correct float32 implementation is within
# 1e-6; one that accumulates its parameter gradients in float16 is off by 1.2e-3 to 4e-3,
# in bfloat16 by 5e-3 to 5e-2. float32's 1e-4 sits a factor 100 above the first and 10
# below the second; float16 and bfloat16 implementations get 5e-2, float64 1e-9.
TOLERANCES = {"float64": 1e-9, "float32": 1e-4, "float16": 5e-2}

RELATIVE = "relative = max |ours - theirs| / max |ours| over the array"


@dataclass(frozen=True)
class ArrayComparison:
    """One array compared: its largest error, absolute and relative to the array's scale.

    Attributes
    ----------
    name : str
        The array's name as the caller gave it (``weight_hh``, ``dc0``, ``W_hh``, ...).
    max_abs_error : float
        ``max |ours - theirs|`` over the array's elements.
    max_rel_error : float
        ``max_abs_error / scale``, that is ``max |ours - theirs| / max |ours|``: relative
        to the array as a whole, not element by element, so a tiny element is not judged
        by its own digits; ``max_abs_error`` itself when ``scale`` is 0.
    ok : bool
        ``max_rel_error <= tolerance`` (the ``GradientComparison``'s).
    scale : float
        ``max |ours|`` over the array.
    """

    name: str
    max_abs_error: float
    max_rel_error: float
    ok: bool
    scale: float = float("nan")

    def __str__(self) -> str:
        verdict = "within" if self.ok else "OVER"
        return (
            f"{self.name}: max |ours - theirs| {self.max_abs_error:.3e}, relative "
            f"{self.max_rel_error:.3e} (of max |ours| {self.scale:.3e}), {verdict} tolerance"
        )


@dataclass(frozen=True)
class GradientComparison:
    """The verdict of ``compare_gradients``: one ``ArrayComparison`` per array compared.

    Attributes
    ----------
    dtype : str
        The lowest precision among the arrays given (``dh0`` and ``dc0`` each counted).
    tolerance : float
        The largest ``max_rel_error`` accepted, for every array.
    arrays : tuple of ArrayComparison
        Per array: ``max_abs_error``, ``max_rel_error`` (``max |ours - theirs| / max
        |ours|`` over that array), ``scale`` (``max |ours|``) and ``ok``.
    missing : tuple of str
        Arrays left out with the caller's leave (``allow_missing``): not compared.
    ok : bool
        Every array compared is within the tolerance.

    ``str()`` of it is ``report()``: a table, one line per array, and the verdict.

    Examples
    --------
    >>> import numpy as np, mini_bptt as mb
    >>> cell, rng = mb.RNNCell(3, 4), np.random.default_rng(0)
    >>> head = mb.MSEHead(rng.normal(size=(5, 2, 4)))
    >>> ours = mb.full_bptt(cell, rng.normal(size=(5, 2, 3)), np.zeros((2, 4)), head)
    >>> theirs = {k: v.astype(np.float32) for k, v in ours.grads.items() if k != "b"}
    >>> verdict = mb.compare_gradients(ours, {**theirs, "dh0": ours.dh0}, allow_missing=["b"])
    >>> print(verdict)
    array         max abs error  max rel error  within
    W_hh              9.732e-08      4.026e-08  yes
    W_xh              2.271e-07      4.729e-08  yes
    dh0               0.000e+00      0.000e+00  yes
    not compared (allow_missing): b
    agree: float32 tolerance 0.0001, relative = max |ours - theirs| / max |ours| over the array
    """

    dtype: str
    tolerance: float
    arrays: tuple[ArrayComparison, ...]
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.arrays)

    def report(self) -> str:
        """A table, one line per array compared, the arrays not compared, and the verdict."""
        lines = [f"{'array':<12} {'max abs error':>14} {'max rel error':>14}  within"]
        for a in self.arrays:
            verdict = "yes" if a.ok else "NO"
            lines.append(
                f"{a.name:<12} {a.max_abs_error:>14.3e} {a.max_rel_error:>14.3e}  {verdict}"
            )
        if self.missing:
            lines.append(f"not compared (allow_missing): {', '.join(self.missing)}")
        summary = "agree" if self.ok else "DISAGREE"
        lines.append(f"{summary}: {self.dtype} tolerance {self.tolerance:g}, {RELATIVE}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


def __getattr__(name: str):
    """``ArrayError``, the record's name before it was exported, still answers, with a
    warning: it is not an exception, which the new name says."""
    if name == "ArrayError":
        warnings.warn(
            "mini_bptt.oracle.compare.ArrayError is deprecated: it is ArrayComparison now",
            DeprecationWarning,
            stacklevel=2,
        )
        return ArrayComparison
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def compare_gradients(
    result: Result,
    other: Mapping[str, object],
    *,
    cell: Cell | None = None,
    tolerance: float | None = None,
    allow_missing: Collection[str] = (),
) -> GradientComparison:
    """Judge another implementation's gradients against our ``result``, array by array.

    Parameters
    ----------
    result : Result
        Ours, from ``execute`` or ``full_bptt``.
    other : mapping
        Name -> array of any floating dtype. Names are ours (``result.grads`` keys and
        ``dh0``), or with ``cell`` given PyTorch's (``weight_ih``, ``weight_hh``,
        ``bias_ih``, ``bias_hh``: each bias is compared with our ``b``, the gradient of
        their sum). For an LSTM, ``dh0`` has the state's shape ``[dh | dc]``, or give
        ``dh0`` and ``dc0`` of shape (batch, hidden) each (then each is judged alone).
        Every array must be given unless named in ``allow_missing``.
    cell : Cell, optional
        Our cell, to accept PyTorch's names and to tell ``dh`` from ``[dh | dc]``.
    tolerance : float, optional
        Largest relative error accepted, a finite real >= 0; default ``TOLERANCES`` of the
        lowest precision given (float64 1e-9, float32 1e-4, float16 5e-2).
    allow_missing : collection of str
        Names of arrays that may be left out (then reported as not compared): any name
        that ``other`` accepts, e.g. ``("bias_hh",)``, or ``("dc0",)`` to compare a
        ``dh0`` of shape (batch, hidden) with the ``dh`` half of ours.

    Returns
    -------
    GradientComparison
        ``ok``; per array the largest absolute error and the relative one, ``max |ours -
        theirs| / max |ours|`` over that array; the arrays not compared.

    Raises
    ------
    ValueError
        Naming a missing (and not allowed), unknown or misshapen array, with the shape to
        pass when a state gradient has the size of ``dh`` or ``[dh | dc]`` and the other
        was expected; a ``cell`` of another kind than the result's; a ``tolerance`` that is
        negative, NaN or infinite; a name in ``allow_missing`` that ``other`` could not
        hold.
    TypeError
        For a ``result`` that is not a ``Result``, an ``other`` that is not a mapping of
        names to arrays, an array that is not floating point, a ``cell`` that is not a
        ``Cell``, a ``tolerance`` that is not a real number (a bool included), or an
        ``allow_missing`` that is not a collection of names.

    Examples
    --------
    >>> import numpy as np, mini_bptt as mb
    >>> cell, rng = mb.RNNCell(3, 4), np.random.default_rng(0)
    >>> head = mb.MSEHead(rng.normal(size=(5, 2, 4)))
    >>> ours = mb.full_bptt(cell, rng.normal(size=(5, 2, 3)), np.zeros((2, 4)), head)
    >>> theirs = {k: v.astype(np.float32) for k, v in {**ours.grads, "dh0": ours.dh0}.items()}
    >>> mb.compare_gradients(ours, theirs).ok
    True
    >>> del theirs["b"]
    >>> mb.compare_gradients(ours, theirs)
    Traceback (most recent call last):
    ...
    ValueError: gradients must be named ...; missing: b (allow_missing=('b',) compares without them)
    """
    ours = _reference(result)
    tolerance = _tolerance(tolerance)
    given = _their_arrays(other)
    if cell is not None and not isinstance(cell, Cell):
        raise TypeError(f"cell must be a mini_bptt Cell or None, got {type(cell).__name__}")
    torch_names = _torch_names(cell, ours)
    hidden = _hidden_size(cell, ours)
    allowed = _allowed(allow_missing, ours, torch_names, hidden)
    pairs, missing = _pairs(given, ours, torch_names, hidden, allowed)
    # the lowest precision given, dh0 and dc0 each counted
    dtype = min((a.dtype for a in given.values()), key=lambda d: np.finfo(d).bits).name
    if tolerance is None:
        tolerance = TOLERANCES.get(dtype, float(np.finfo(dtype).eps) ** 0.5)
    errors = []
    for label, (mine, array) in pairs.items():
        difference = float(np.max(np.abs(mine - array.astype(np.float64)), initial=0.0))
        scale = float(np.max(np.abs(mine), initial=0.0))
        relative = difference / scale if scale > 0 else difference
        errors.append(ArrayComparison(label, difference, relative, relative <= tolerance, scale))
    return GradientComparison(dtype, tolerance, tuple(errors), missing)


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


def _torch_names(cell: Cell | None, ours: dict) -> dict[str, str]:
    """PyTorch's name -> ours, for the cell's parameters (empty without a cell)."""
    if cell is None:
        return {}
    mine = {cell.INPUT_WEIGHT, cell.HIDDEN_WEIGHT, "b"}
    if not mine <= set(ours) or any(ours[n].shape != cell.params[n].shape for n in mine):
        raise ValueError(
            f"cell is a {type(cell).__name__} (gradients {_shapes(cell.params, mine)}), "
            f"but result's gradients are {_shapes(ours, set(ours) - {'dh0'})}"
        )
    names = {cell.torch_name(name): name for name in mine}
    names["bias_hh"] = "b"
    return names


def _hidden_size(cell: Cell | None, ours: dict) -> int | None:
    """H when our state is ``[h | c]`` of width 2H (an LSTM's), else None. Without a cell,
    H is read from ``W_hh`` (gates * H, H), the layout of both of our cells."""
    width = ours["dh0"].shape[-1] if ours["dh0"].ndim else None
    if cell is not None:
        hidden = cell.hidden_size
    elif "W_hh" in ours and ours["W_hh"].ndim == 2:
        hidden = ours["W_hh"].shape[1]
    else:
        return None
    return hidden if width == 2 * hidden else None


def _allowed(allow_missing: object, ours: dict, torch_names: dict, hidden: int | None) -> set:
    """``allow_missing`` as a set of names ``other`` could hold; else raise naming it."""
    example = "a collection of gradient names such as ('bias_hh',)"
    if isinstance(allow_missing, str | bytes) or not isinstance(allow_missing, Collection):
        raise TypeError(f"allow_missing must be {example}, got {arguments.shown(allow_missing)}")
    names = set()
    for name in allow_missing:
        if not isinstance(name, str):
            raise TypeError(
                f"allow_missing must be {example}, got the item {arguments.shown(name)}"
            )
        names.add(name)
    known = set(ours) | set(torch_names) | ({"dc0"} if hidden else set())
    unknown = sorted(names - known)
    if unknown:
        raise ValueError(
            f"allow_missing names {', '.join(map(repr, unknown))}, not a gradient that other "
            f"may hold: {', '.join(sorted(known))}"
        )
    return names


def _pairs(
    given: dict, ours: dict, torch_names: dict, hidden: int | None, allowed: set
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], tuple[str, ...]]:
    """Label -> (ours, theirs) for every array given, and the names left out with leave;
    a ValueError naming what is unknown, missing without leave, or misshapen."""
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    unknown, missing, left_out = [], [], []
    torch_mode = any(label in torch_names for label in given)
    for name in sorted(set(ours) - {"dh0"}):
        theirs = sorted(t for t, n in torch_names.items() if n == name)
        # expected under the caller's naming: PyTorch's (both biases for b) once any is used
        expected = theirs if torch_mode and theirs and name not in given else [name]
        for label in [name, *theirs]:
            if label in given:
                pairs[label] = (ours[name], given[label])
            elif label in expected:
                (left_out if label in allowed or name in allowed else missing).append(label)
    state = _state_pairs(given, ours["dh0"], hidden, allowed)
    for label, pair in state.items():
        if label in given:  # then its pair is there: None stands only for one not given
            pairs[label] = pair
        else:
            (left_out if label in allowed else missing).append(label)
    for label in given:
        if label not in pairs:
            unknown.append(label)
    if unknown or missing:
        raise ValueError(
            f"gradients must be named {', '.join(sorted(ours))}"
            + (" (or PyTorch's names, with cell=...)" if not torch_names else "")
            + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
            + (f"; missing: {', '.join(sorted(missing))}" if missing else "")
            + (
                f" (allow_missing={tuple(sorted(missing))!r} compares without them)"
                if missing
                else ""
            )
        )
    for label, (mine, array) in pairs.items():
        if array.shape != mine.shape:
            raise ValueError(f"gradient {label} has shape {array.shape}, ours {mine.shape}")
    return pairs, tuple(sorted(left_out))


def _state_pairs(given: dict, dstate: np.ndarray, hidden: int | None, allowed: set) -> dict:
    """What ``dh0`` and ``dc0`` are compared with: label -> (ours, theirs), with the label
    of an expected array that is absent mapped to None. A ValueError says which shape to
    pass when a state gradient has the width of ``dh`` or ``[dh | dc]`` and the other was
    expected."""
    dh, dc = given.get("dh0"), given.get("dc0")
    if hidden is None:  # no [h | c] split: dh0 is the whole state, and dc0 is unknown
        return {"dh0": (dstate, dh)}
    full, half = dstate.shape, dstate.shape[:-1] + (hidden,)
    both = f"pass dc0 too, or dh0 as [dh | dc] of shape {full}"
    if dh is not None and dc is not None:
        if dh.shape != dc.shape or dh.ndim == 0:
            raise ValueError(
                f"dh0 and dc0 must have one shape (batch, hidden_size), got {dh.shape} and "
                f"{dc.shape}"
                + (
                    f": dh0 is [dh | dc]; pass it alone, or dh0 and dc0 of shape {half}"
                    if dh.shape == full
                    else ""
                )
            )
        return {"dh0": (dstate[..., :hidden], dh), "dc0": (dstate[..., hidden:], dc)}
    if dc is not None:  # dc0 alone: dh0 is missing
        return {"dh0": None, "dc0": (dstate[..., hidden:], dc)}
    if dh is not None and dh.shape == half:
        if "dc0" in allowed:
            return {"dh0": (dstate[..., :hidden], dh), "dc0": None}
        raise ValueError(
            f"gradient dh0 has shape {dh.shape}: that is dh only; {both} "
            "(or allow_missing=('dc0',) to compare dh alone)"
        )
    return {"dh0": (dstate, dh)}


def _shapes(arrays: Mapping, names: set[str]) -> str:
    """``"W_hh (4, 4), W_xh (4, 3), b (4,)"``: names in order, each with its shape."""
    return ", ".join(f"{name} {tuple(np.shape(arrays[name]))}" for name in sorted(names))
