"""Block windows: the split points a block's candidates cannot cover, searched in full.

Rows are filled in blocks ``t0 <= t < t1``. A breakpoint at row ``r`` is known once row
``r + 1`` is filled, so at the start of a block the breakpoints of rows ``<= t0 - 2`` are
known and their candidates (``candidates``) are evaluated for every row of the block at
once. Claim: with the two windows below searched row by row, every split point that is
an end or a breakpoint for row ``t`` is evaluated exactly, and every value offered is a
legal split's value or more, so the minimum is exact.

* Small ``y``, ``y_min .. t - t0 + y_min``: right-part breakpoints ``r >= t0 - 1`` give
  ``y = t - r <= t - t0 + 1``, and right candidates due inside the block
  (``r + y_min + 1 > t0``) give ``y = t - r <= t - t0 + y_min``.
* Large ``y``, ``t0 - 1 .. t - 1``: left-part breakpoints of rows ``t0 - 1 .. t - 2``
  (not known yet) and left candidates due inside the block (``y + 2 > t0``).
* The windows hold both ends, ``y_min`` and ``t - 1``, and lie inside ``[y_min, t - 1]``
  once ``t0 >= y_min + block`` (``windowed``).
* A candidate of the block may read a row of the block not filled yet. Unfilled rows
  hold the infeasible marker, so such a candidate only overestimates, and its split point
  lies in a window (left: ``t - y >= t0`` means ``y <= t - t0``; right: ``y + lo >= t0``
  means ``y >= t0``), where it is evaluated exactly.

Before the first windowed block the small window would read rows not filled yet, so
every split point is searched (``search_in_full``). The windows' constant parts,
``L[y + lo] + y`` for the small window and ``R[j] - j`` (``j = t - y``) for the large
one, read only the first rows, and are made once per split (``window_constants``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mini_bptt.planning.table_spec import Split

# rows ``high, high - 1, ..., low`` of a table (the last rows filled), one row each
Rows = Callable[[str, int, int], np.ndarray]


def windowed(option: Split, t0: int, block: int) -> bool:
    """Whether a block from row ``t0`` reads the split from its candidates and windows
    (the small window reads rows up to ``y_min + block - 1 + lo < t0``)."""
    return t0 >= option.y_min + block


def window_constants(
    early_left: np.ndarray, early_right: np.ndarray, option: Split, first: int, block: int, dtype
) -> tuple[np.ndarray, np.ndarray]:
    """``L[y + lo] + y`` for ``y = y_min .. y_min + block - 1`` and ``R[j] - j`` for
    ``j = 1 .. block`` (one row each, columns from ``first`` of the split), from the first
    rows of the parts (``early_*``, row-major)."""
    cols, s = early_left.shape[1], option.shift
    y = np.arange(option.y_min, option.y_min + block, dtype=dtype)
    left_plus_y = early_left[y + option.lo, first:] + y[:, None]
    j = np.arange(1, block + 1, dtype=dtype)
    right_minus_j = early_right[j, first - s : cols - s] - j[:, None]
    return left_plus_y, right_minus_j


def lower_by_windows(
    found: np.ndarray,
    rows: Rows,
    option: Split,
    t: int,
    t0: int,
    first: int,
    left_plus_y: np.ndarray,
    right_minus_j: np.ndarray,
) -> None:
    """Lower ``found`` (the split's value at row ``t``, columns from ``first``) by both
    windows of the block from ``t0``."""
    s, lo, y_min = option.shift, option.lo, option.y_min
    cols = first + found.shape[0]
    # small y, y_min .. t - t0 + y_min
    small = t - t0 + 1
    right = rows(option.right, t - y_min, t - y_min - small + 1)
    block = left_plus_y[:small] + right[:, first - s : cols - s]
    np.minimum(found, block.min(axis=0), out=found)
    # large y, t0 - 1 .. t - 1: y = t - j for the right part's rows j = 1 .. t - t0 + 1
    # (y's t added after the minimum)
    a = t0 - 1
    block = rows(option.left, t - 1 + lo, a + lo)[:, first:] + right_minus_j[: t - a]
    least = block.min(axis=0)
    least += t
    np.minimum(found, least, out=found)


def search_in_full(
    left: np.ndarray, right: np.ndarray, option: Split, first: int, t: int
) -> np.ndarray:
    """The split's minimum over every ``y`` in ``[y_min, t - 1]`` at row ``t``, for the
    columns from ``first`` (``left``, ``right``: the parts' column-major tables)."""
    s, lo, y_min = option.shift, option.lo, option.y_min
    cols = len(left)
    block = np.add(
        left[first:, y_min + lo : t + lo],
        right[first - s : cols - s, t - y_min : 0 : -1],
    )
    block += np.arange(y_min, t, dtype=block.dtype)
    return block.min(axis=1)
