"""Bisection of dense columns: the middle of a split found without its candidates.

A column whose breakpoints are dense (more than ``max(DENSE_MINIMUM, t / DENSE_FRACTION)``,
e.g. the quadratic one-slot columns) gives a split as many candidates as split points.
Claim: where both parts of a split are convex on every row the middle split points of a
block read, the split's least value over that middle is the value at the first middle
split point from which it does not fall, which bisection finds exactly.

* The middle of row ``t`` of a block from ``t0`` is the split points
  ``t - t0 + y_min + 1 .. t0 - 2``, those the two windows (``windows``) leave out. They
  read left rows ``t - t0 + y_min + 1 + lo .. t0 - 2 + lo`` and right rows
  ``t - t0 + 2 .. t0 - y_min - 1``, all filled and searched before the block.
* ``convex_middle`` holds for a column when no row above ``y_min + 1 + lo`` of the left
  part, nor above row 2 of the right part, is *not convex* (its entry and both
  neighbours finite with a second difference ``>= 0``, or all three infinite). Then on
  the rows read each part is infinite throughout or finite and convex (one finite point
  makes its neighbours finite), so ``h(y) = y + L[y + lo] + R[t - y]`` is infeasible
  throughout or convex on the middle.
* A convex sequence falls, then does not: its least value is at the first ``y`` with
  ``h(y + 1) >= h(y)``, or at the last point. Bisection on that test over the middle
  finds it; an empty middle reads ``y = t0 - 2``, a split point of the small window,
  whose value is a legal split's.
* The windows evaluate every other split point exactly, so the split's minimum is the
  least of the windows and the bisected middle, and none of the column's candidates is
  needed (``PrunedMinimum`` drops them).
"""

from __future__ import annotations

import numpy as np

from mini_bptt.planning.table_spec import Split

DENSE_MINIMUM = 32  # breakpoints a column may have before it is called dense, at least
DENSE_FRACTION = 2  # ... or the rows searched over this, whichever is larger


def dense_columns(count: np.ndarray, rows: int) -> np.ndarray:
    """Whether each column, with ``count`` breakpoints among ``rows`` rows, is dense."""
    return count > max(DENSE_MINIMUM, rows // DENSE_FRACTION)


def convex_middle(
    nonconvex_left: np.ndarray, nonconvex_right: np.ndarray, option: Split, columns: np.ndarray
) -> np.ndarray:
    """Whether both parts of the split at ``columns`` are convex on the rows that the
    middle split points of a block read: no row that is not convex above row
    ``y_min + 1 + lo`` of the left part, or row 2 of the right part (``nonconvex_*``: per
    column of each part, the last row searched that is not convex; -1 if none)."""
    left = nonconvex_left[columns] <= option.y_min + 1 + option.lo
    return left & (nonconvex_right[columns - option.shift] <= 2)


def middle_minima(
    left: np.ndarray,
    right: np.ndarray,
    stride: int,
    option: Split,
    columns: np.ndarray,
    t0: int,
    t1: int,
) -> np.ndarray:
    """The split's minimum over the middle split points ``t - t0 + y_min + 1 .. t0 - 2``
    at rows ``t0 .. t1 - 1``, for ``columns`` where both parts are convex there: one row per
    block row, one column per column. ``left``, ``right``: the parts' entries, flat and
    column-major, ``stride`` rows per column."""
    lo, y_min, s = option.lo, option.y_min, option.shift
    t = np.arange(t0, t1, dtype=np.int64)[:, None]
    low = np.broadcast_to(t - t0 + y_min + 1, (len(t), len(columns))).copy()
    high = np.full_like(low, t0 - 2)

    def value(y: np.ndarray) -> np.ndarray:
        y = np.minimum(y, t0 - 2)  # an empty middle: a split point of the small window
        split = left[columns * stride + y + lo].astype(np.int64) + y
        return split + right[(columns - s) * stride + t - y]

    while (searching := low < high).any():
        middle = (low + high) // 2
        rising = value(middle + 1) >= value(middle)
        high = np.where(searching & rising, middle, high)
        low = np.where(searching & ~rising, middle + 1, low)
    return value(low)


def bisected_middle(
    dense_left: np.ndarray,
    dense_right: np.ndarray,
    nonconvex_left: np.ndarray,
    nonconvex_right: np.ndarray,
    flat_left: np.ndarray,
    flat_right: np.ndarray,
    stride: int,
    option: Split,
    first: int,
    t0: int,
    t1: int,
    dtype,
):
    """The middle of a block's rows by bisection, for the split's columns from ``first``
    where a part is dense and both are convex on the middle: ``(index, minima)``, the
    columns less ``first`` (a slice when they are one run) and their minima per row, and
    a mask of the columns bisected; ``(None, None)`` if there is none."""
    cols, s = len(dense_left), option.shift
    dense = first + np.flatnonzero(dense_left[first:] | dense_right[first - s : cols - s])
    columns = dense[convex_middle(nonconvex_left, nonconvex_right, option, dense)]
    if not len(columns):
        return None, None
    minima = middle_minima(flat_left, flat_right, stride, option, columns, t0, t1).astype(dtype)
    index = columns - first
    if index[-1] - index[0] + 1 == len(index):  # mostly a run of columns: a slice reads faster
        index = slice(index[0], index[-1] + 1)
    bisected = np.zeros(cols, dtype=bool)
    bisected[columns] = True
    return (index, minima), bisected
