"""The chord bound: a whole group of candidates is skipped when it cannot hold the minimum.

At long sequences a column's breakpoints grow with ``t``, so the candidates of a part's
rows from ``least_grouped_row`` on are kept in groups, one per coarse block of
``B = BOUND_ROWS`` rows of the part (``CandidateGroups``). Claim: a group skipped by
``offer_groups`` holds no candidate that would lower the split's value on any row of the
block, so the value is unchanged.

* For a complete coarse block of a column, rows ``kB .. kB + B``, let ``c`` be the chord
  through its two ends and ``d`` the chord's largest height above the column: every
  entry of the block is ``>= c - d``. Cut ``[y_min, t0 - 1]`` where either part's row
  crosses a block boundary; on each piece both parts lie in one block, so
  ``h(y) >= y + c_L + c_R - d_L - d_R``, a linear function whose least value is at an
  end of the piece. A group's bound is the least over its pieces (``UNKNOWN`` if a
  piece's block is incomplete or not finite: then the group is offered).
* The bound is for row ``t0``. A left candidate ``y`` reads the right part at rows
  ``t0 - y .. t - y``, a right candidate ``r`` the left part at rows
  ``t0 - r + lo .. t - r + lo`` (and its ``y = t - r`` grows by one per row); all are
  filled before the block. When no entry of those tables is below the entry one row
  before (checked on every row as breakpoints are searched; otherwise no group is
  skipped), a candidate's value grows per row by at least the least rise between
  consecutive rows there (plus 1 for a right candidate), so ``bound + i * growth``
  bounds it at row ``t0 + i``.
* A group is skipped only if on every row of the block that bound is no less than the
  split's value found so far (``PrunedMinimum.upper``, itself a legal split's value or
  more). If the minimum were only in skipped groups it would equal that value on that
  row: the result is unchanged. Every value is a whole number times ``B``, so the test
  is in integers.

``groups_beaten`` decides the test for many groups at once from the ceilings of the
block's values (``pruning.ceilings``) for the growths ``B * GROUP_GROWTHS``: at or above
the ceiling of the growth next below is beaten, below that of the growth next above is
not, and the rest is checked row by row.
"""

from __future__ import annotations

import numpy as np

from mini_bptt.planning.engine.candidates import CandidateGroups, segments
from mini_bptt.planning.engine.pruning import UNKNOWN, PrunedMinimum, ceilings
from mini_bptt.planning.table_spec import Split

BOUND_ROWS = 1024  # rows of a coarse block, whose chord bounds the candidates in it
# a split's groups are bounded once they hold this many per column: before, all are
# offered (bounding costs about as much per column as offering a few dozen candidates)
BOUND_MINIMUM = 128
# growths per row (times the coarse block) that decide most groups' skip test at once
GROUP_GROWTHS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


class Chords:
    """Per table and coarse block ``k`` (rows ``kB .. kB + B``), for each column: the entry
    at row ``kB`` (``start``), its rise to row ``kB + B`` (``rise``), ``B`` times the chord's
    largest height above the column (``dip``), whether the block is finite throughout
    (``finite``), and the least rise from one row to the next in it (``least_rise``).

    Parameters
    ----------
    tab : dict
        Per table, its column-major entries.
    blocks : int
        Coarse blocks room is made for.
    bound_rows : int
        ``B``.
    inf : int
        The infeasible marker.
    """

    def __init__(self, tab: dict[str, np.ndarray], blocks: int, bound_rows: int, inf: int):
        self.tab, self.B, self.inf = tab, bound_rows, inf
        cols = len(next(iter(tab.values())))
        zeros = lambda dtype=np.int64: np.zeros((blocks, cols), dtype=dtype)  # noqa: E731
        self.start = {name: zeros() for name in tab}
        self.rise = {name: zeros() for name in tab}
        self.dip = {name: zeros() for name in tab}
        self.finite = {name: zeros(bool) for name in tab}
        self.least_rise = {name: zeros() for name in tab}
        self.known = 0  # coarse blocks whose chords are found (once needed)

    def update(self, steps: int) -> None:
        """Find the chords of every complete coarse block of rows 0..``steps``."""
        B = self.B
        x = np.arange(B + 1, dtype=np.int64)
        while (self.known + 1) * B <= steps:
            k = self.known
            for name, table in self.tab.items():
                part = table[:, k * B : k * B + B + 1]
                ok = (part < self.inf).all(axis=1)
                part = np.where(ok[:, None], part, 0).astype(np.int64)
                self.start[name][k] = part[:, 0]
                rise = self.rise[name][k] = part[:, -1] - part[:, 0]
                # B (chord - entry), whole numbers: the chord's largest height above the column
                self.dip[name][k] = (B * part[:, :1] + rise[:, None] * x - B * part).max(axis=1)
                self.finite[name][k] = ok
                self.least_rise[name][k] = np.diff(part, axis=1).min(axis=1)
            self.known += 1

    def at(self, name: str, blocks: np.ndarray, first: int, end: int) -> tuple[np.ndarray, ...]:
        """(start, rise, dip, finite) of table ``name`` at coarse ``blocks`` (one row each),
        columns ``first .. end - 1``."""
        return tuple(
            a[name][blocks, first:end] for a in (self.start, self.rise, self.dip, self.finite)
        )


def least_rise_over(
    least_rise: np.ndarray, B: int, low: np.ndarray, high: np.ndarray, first: int, end: int
) -> np.ndarray:
    """Per range of rows ``low[k] .. high[k]`` of a table: the least rise from one row to
    the next in columns ``first .. end - 1``, over the coarse blocks the range meets
    (``least_rise``, per coarse block, 0 where a block is not known yet: rows of a table
    with no entry below the one before never fall)."""
    low, high = np.maximum(low, 0), np.maximum(high, 0)
    out = np.full((len(low), end - first), np.iinfo(np.int64).max)
    for step in range(int((high - low).max()) // B + 2):
        j = low // B + step
        rise = least_rise[np.minimum(j, len(least_rise) - 1), first:end]
        np.minimum(out, np.where((j <= high // B)[:, None], rise, out), out=out)
    return out


def group_bounds(
    chords: Chords, option: Split, t0: int, rows: int, first: int, cols: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """For the coarse blocks of the split's left part and of its right part: ``B`` times a
    lower bound of the split's value at row ``t0`` over the split points of each block,
    and ``B`` times the least that value grows by from one row to the next, for rows
    ``t0 .. t0 + rows - 1``. Arrays of one row per block and one column per result
    column from ``first``; the bound is ``UNKNOWN`` where it is not known."""
    B, s, lo, y_min = chords.B, option.shift, option.lo, option.y_min
    low, high = y_min, t0 - 1
    # cut [low, high] where either part's row crosses a block boundary: on each piece
    # [p, q] both parts lie in one (closed) block, above their chords minus the dips
    left_cuts = np.arange(B, high + lo + 1, B) - lo
    right_cuts = t0 - np.arange(B, t0 - low + 1, B)
    cuts = np.unique(np.concatenate(([low, high], left_cuts, right_cuts)))
    p, q = cuts[:-1], cuts[1:]
    # a block whose chord is not known yet has its finite flag False: no bound there
    k_left, k_right = (p + lo) // B, (t0 - q) // B
    l_start, l_rise, l_dip, l_ok = chords.at(option.left, k_left, first, cols)
    r_start, r_rise, r_dip, r_ok = chords.at(option.right, k_right, first - s, cols - s)

    def chords_at(y: np.ndarray) -> np.ndarray:  # B (y + both chords), y one per piece
        left = B * l_start + l_rise * (y + lo - B * k_left)[:, None]
        right = B * r_start + r_rise * (t0 - y - B * k_right)[:, None]
        return left + right + (B * y)[:, None]

    # y + both chords is linear on a piece: its least value is at an end
    bound = np.minimum(chords_at(p), chords_at(q)) - l_dip - r_dip
    bound[~(l_ok & r_ok)] = UNKNOWN
    by_block = []
    for blocks in (k_left, k_right):
        by = np.full((len(chords.start[option.left]), bound.shape[1]), UNKNOWN)
        starts, runs = segments(blocks)  # blocks run monotonically along y
        by[runs] = np.minimum.reduceat(bound, starts, axis=0)
        by_block.append(by)
    # from row t0 to t, a left candidate y reads the right part at rows t0 - y .. t - y,
    # a right candidate r the left part at rows t0 - r + lo .. t - r + lo (and y grows
    # by one): all filled before the block, and no entry is below the one before
    k = np.arange(len(by_block[0]))
    low, high = t0 - B * k - B + 1 + lo, t0 + rows - 2 - B * k + lo
    right_rises = chords.least_rise[option.right]
    left_growth = least_rise_over(right_rises, B, low, high, first - s, cols - s)
    right_growth = 1 + least_rise_over(chords.least_rise[option.left], B, low, high, first, cols)
    return (by_block[0], B * left_growth), (by_block[1], B * right_growth)


def groups_beaten(
    bound: np.ndarray, growth: np.ndarray, upper: np.ndarray, scale: int
) -> np.ndarray:
    """Whether ``bound + i * growth >= upper[i]`` on every row ``i`` (``bound`` and
    ``growth``: one row per group, one column per column; ``upper``: one row per row of the
    block; a column holding int64's largest value is never beaten).

    Decided per column by the ceiling of ``upper`` for the growths ``scale *
    GROUP_GROWTHS`` next below and next above ``growth``: at or above the lower one's
    ceiling is beaten, below the upper one's is not; the few between (and those beyond the
    growths listed) are checked row by row."""
    grid = scale * np.asarray(GROUP_GROWTHS, dtype=np.int64)
    ceiling = ceilings(upper, grid)
    columns = np.broadcast_to(np.arange(bound.shape[1]), bound.shape)
    above = np.searchsorted(grid, growth)  # grid[above] >= growth; len(grid): beyond it
    below = np.searchsorted(grid, growth, side="right") - 1  # -1: below every growth
    beaten = (below >= 0) & (bound >= ceiling[np.maximum(below, 0), columns])
    beyond = above == len(grid)
    unknown = bound >= ceiling[np.minimum(above, len(grid) - 1), columns]
    undecided = ~beaten & (beyond | unknown)
    k, c = np.nonzero(undecided)
    steps = np.arange(len(upper), dtype=np.int64)[:, None]
    beaten[k, c] = (bound[k, c] + steps * growth[k, c] >= upper[:, c]).all(axis=0)
    return beaten


def offer_groups(
    groups: tuple[CandidateGroups, CandidateGroups],
    option: Split,
    first: int,
    offer: PrunedMinimum,
    t0: int,
    searched: int,
    nondecreasing: bool,
    chords: Chords,
    steps: int,
) -> None:
    """Add a split's grouped candidates to ``offer``: first, per column and side, the group
    with the least bound (and every group without one); then, once those are run, only the
    groups whose bound is below the split's value found so far, on every row of the block.

    ``searched``: breakpoints are known for rows up to it; ``nondecreasing``: no entry of
    either part is below the one a row before; ``steps``: the rows filled."""
    by_left, by_right = groups
    B, lo, y_min = chords.B, option.lo, option.y_min
    cols = by_left.columns
    # finished: every row of the block searched, every candidate due (left: y + 2 <= t0,
    # right: r + y_min + 1 <= t0)
    found = (searched + 1) // B
    by_left.finish(min(found, (t0 - 1 + lo) // B), t0)
    by_right.finish(min(found, (t0 - y_min) // B), t0)
    # groups, the table they read, whether their values hold t
    sides = ((by_left, option.right, False), (by_right, option.left, True))
    for side, part, with_t in sides:
        for run in side.staged_runs(t0):
            offer.add(part, with_t, *run)
    if not (by_left.finished or by_right.finished):
        return
    held = len(by_left.dst) + len(by_right.dst)
    if held < 2 * BOUND_MINIMUM * (cols - first) or not nondecreasing:
        for side, part, with_t in sides:
            offer.add(part, with_t, *side.selected(None))
        return
    chords.update(steps)
    bounds = group_bounds(chords, option, t0, len(offer.upper), first, cols)
    later = []
    for (side, part, with_t), (bound, growth) in zip(sides, bounds, strict=True):
        if side.finished == 0:
            continue
        bound, growth = bound[: side.finished], growth[: side.finished]
        now = np.zeros((side.finished, cols), dtype=bool)
        now[:, first:] = bound == UNKNOWN
        now[np.argmin(bound, axis=0), np.arange(first, cols)] = True
        offer.add(part, with_t, *side.selected(now))
        later.append((side, part, with_t, bound, growth, now))
    offer.run()
    upper = offer.upper[:, first:]
    feasible = upper < chords.inf
    scaled = np.where(feasible, upper, 0).astype(np.int64) * B
    scaled[:, ~feasible.all(axis=0)] = np.iinfo(np.int64).max  # never beaten
    for side, part, with_t, bound, growth, now in later:
        keep = np.zeros_like(now)
        keep[:, first:] = ~groups_beaten(bound, growth, scaled, B)
        offer.add(part, with_t, *side.selected(keep & ~now))
