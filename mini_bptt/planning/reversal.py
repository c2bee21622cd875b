"""The cheapest reversal from a stored set: what to do once the first sweep is over.

After the forward of step ``T`` the cursor is at h[T], the core holds s[T], and the saved
states are a set ``K`` of hidden states h[p] and internal states s[p] within ``budget``
units: h[0] among them, or, with ``internal_has_output``, s[1] in its place (it restarts
step 2 and reverses step 1; ``OnlinePlanner``'s anchor). ``Reversal(...).cost`` is the
fewest forwards that reverse steps T..1 from there under the rules of docs/model.md;
``Reversal(...).actions()`` the actions.

Backward T is free at once (s[T] is in the core); h[p] for p >= T - 1 is never read again
and is freed. The other items of ``K`` are numbered 1..k by position, a hidden state
before an internal state at the same position. ``V[j][r, e]`` is the fewest forwards that
reverse steps e..1 from items 1..j when ``r`` of their units were dropped (freed at once,
never read) and nothing useful is in the cursor or the core; the answer is
``min_r V[k][r, T - 1]``. While the segment of item j (position c) is reversed, the items
right of it have been used and freed and the kept items left of it are held, so it has
``free_j + r = budget - (units of items 1..j-1) + r`` units, its own item included. The
options at item j:

* **drop**: free item j at once, never read: ``V[j-1][r - size_j, e]``.
* **free when reached**, for e the item cannot serve (h[c] with c >= e, s[c] with
  c > e: a segment to its right used s[c], or s[c+1]...): ``V[j-1][r, e]``.
* **at once**: s[e] reverses step e with no forward: ``V[j-1][r, e-1]``.
* **use**: h[c] starts the segment: ``S[e-c, free] + V[j-1][r, c]`` (the optimal model's
  table S holds h[c] and frees it at its last use); s[c], when it holds the output,
  starts it for free: ``R[e-c, free - A] + V[j-1][r, c-1]``, step c reversed from s[c]
  last.
* **launch**: restore item j, free it, run forward to b (c <= b < e) and reverse the part
  right of b from the cursor with nothing holding h[b] (table P); the part left of b is
  then reversed from the items left of c: ``(b - c) + P[e-b, free] + V[j-1][r, b]``.
  From s[c] this needs ``internal_has_output``; step c is then reversed from the left.
* **downgrade** (s[c] with the output): at once, restore_internal c, free_internal c,
  save_hidden c (the cursor holds h[c] while neither is saved, so the peak never rises);
  from then on item j is h[c], and the items right of it have ``A - H`` more units:
  the options of a hidden item, written into ``V[j][r + A - H, e]``.

Why these are all (the exactness argument). Every option is a plan of the rules, so the
DP is never below the optimum; the argument is that some optimal continuation has this
shape. An item never read again is best freed at once (freeing only adds memory): the
drops, and r. Take the rightmost kept item j and the first time it is read after the
segments to its right are done (by induction those are of this shape):

* by backward c (s[c] with c = e): *at once*;
* as a restart point, and kept until step c + 1 is reversed: no item left of c is read
  before that, since a forward from the left passes c, where restoring item j reaches the
  same cursor for nothing. (That pass could save states left of c for later; this is the
  step of the argument the tests stand in for.) So steps e..c+1 are a sub-problem with
  start item j, ``free`` units and nothing else stored, whose least costs are the
  optimal tables S and R (docs/model.md, *model="optimal"*): *use*;
* as a restart point and freed before step c + 1 is reversed: after the restore, the
  cursor runs to the first position b where a state is saved or from where the part
  right of b is reversed without reading item j again; the part right of b is then a
  sub-problem from the cursor at h[b] (table P) and the part left of b falls to the
  items left of c: *launch*.

A downgrade is best done at once: it costs no forward, only lowers the memory held, and
the s[c] it gives up serves only backward c and restarts from c, which h[c] does too
(backward c is then reversed from the left). So some optimal continuation downgrades the
items it downgrades before any segment, and the DP reads them as hidden items.

``tests/planning/test_online.py`` compares the DP with an exhaustive search over every
valid continuation (``tests/planning/online_exhaustive.py``) for every stored set up to
T = 5 at budgets 2..4 (alpha 1 and 2), and from T = 6 to 8 at 3 and 4 units (alpha 2),
both flags, the sets without h[0] included; it found the drops, the launches and the
downgrades missing from earlier versions.

With ``internal_has_output=False`` a saved s[c] serves only backward c, so the stored
internal states must be a run s[r..T-1] ending at step T - 1 (each is read at once, in
order); other sets are refused (``StoredSetError``).

Cost: item j fills ``V[j][:, e]`` for e up to the position of item j + ``depth``, and r
up to ``drops`` items' units (all when None), each a min-plus product over the launch
points, O(k * drops * L^2) for segments of about L steps. A finite ``depth`` or ``drops``
gives a plan of the rules, never below the optimum, and exact when some optimal
continuation stays within them; ``OnlinePlanner`` uses ``depth=2, drops=1`` beyond
T = 64. ``reversal_cost.ReversalCost`` computes the same cost, without the plan, for a
stored set that changes a little from one T to the next, reusing the entries that did not
change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from mini_bptt.planning import limits
from mini_bptt.planning.actions import (
    BACKWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    Action,
)
from mini_bptt.planning.dp_optimal import emit_segment
from mini_bptt.planning.emitter import Emitter
from mini_bptt.planning.engine import BreakpointTables
from mini_bptt.planning.units import Grains

BIG = 1 << 60
LAUNCH_BLOCK = 256  # rows of the min-plus product at once: 256 x length entries
HIDDEN, INTERNAL = "h", "s"


class StoredSetError(ValueError):
    """A stored set that the reversal does not take (over budget, or out of range)."""


class Reversal:
    """The DP of the module docstring for one stored set; ``cost`` and ``actions``.

    ``tables`` are the optimal model's MSM tables for ``units`` and the flag (held by the
    caller, ``with optimal_tables("msm", units, flag) as tables``)."""

    def __init__(
        self,
        steps: int,
        hidden: Iterable[int],
        internal: Iterable[int],
        budget: int,
        units: Grains,
        internal_has_output: bool,
        tables: BreakpointTables,
        depth: int | None = None,
        drops: int | None = None,
    ) -> None:
        self.steps, self.budget, self.units = steps, budget, units
        self.flag, self.tables = internal_has_output, tables
        self.hidden, self.internal = set(hidden), set(internal)
        _validate(steps, self.hidden, self.internal, budget, units, internal_has_output)
        last = steps - 1  # next step to reverse once backward T is taken
        self.useless = {p for p in self.hidden if p >= last}
        items = [(p, HIDDEN) for p in self.hidden if p not in self.useless]
        items += [(p, INTERNAL) for p in self.internal if p <= last]
        items.sort(key=lambda item: (item[0], item[1] == INTERNAL))
        self.items = items
        self.last = last
        size = self.size = {HIDDEN: units.hidden, INTERNAL: units.internal}
        self.free = []  # free_j: the budget less the items left of j
        held = 0
        for _, kind in items:
            self.free.append(budget - held)
            held += size[kind]
        self.drop_cap = held if drops is None else min(held, drops * max(size.values()))
        k = len(items)
        self.reach = []  # the largest e computed for item j
        for j in range(k):
            far = last if depth is None or j + depth >= k else items[j + depth][0]
            self.reach.append(min(last, max(far, items[j][0])))
        longest = max([self.reach[j] - items[j][0] for j in range(k)] + [1])
        # a segment of t steps holds all its internal states within H + A (t - 1) units, so
        # every table entry is t beyond that width: columns past it are read at it (exact)
        self.width = min(budget, units.hidden + units.internal * longest)
        _require_room(tables, steps, longest, self.width, (k + 1) * (self.drop_cap + 1) * last)
        tables.ensure(longest, self.width)
        self.columns: dict[tuple[str, int], np.ndarray] = {}
        self.V = self._fill()

    # -- the DP ----------------------------------------------------------------------------

    def _column(self, name: str, units: int, length: int) -> np.ndarray:
        """Entries ``name[0..length-1, units]`` as int64, infeasible as BIG."""
        units = min(units, self.width)
        key = (name, units)
        column = self.columns.get(key)
        if column is None or len(column) < length:
            tab = self.tables.tab[name]
            raw = np.asarray(tab[self.tables.off + units, :length], dtype=np.int64)
            column = np.where(raw >= self.tables.inf, BIG, raw)
            self.columns[key] = column
        return column

    def _fill(self) -> list[np.ndarray]:
        """``V[j][r, e]``: items 1..j, of which ``r`` units are dropped at once."""
        last = self.last
        previous = np.full((self.drop_cap + 1, last + 1), BIG, dtype=np.int64)
        previous[0, 0] = 0
        V = [previous]
        for j, (c, kind) in enumerate(self.items):
            size = self.size[kind]
            current = np.full_like(previous, BIG)
            current[size:] = previous[: len(previous) - size]  # drop item j: r grows by size
            # e the item cannot serve (a segment right of c used s[c]): free it when reached
            served = c + 1 if kind == HIDDEN else c
            current[:, :served] = np.minimum(current[:, :served], previous[:, :served])
            hi = self.reach[j]
            saved = self.size[INTERNAL] - self.size[HIDDEN]  # what a downgrade frees
            for r in range(len(previous)):
                if previous[r].min() >= BIG:
                    continue
                row = current[r]
                if kind == INTERNAL:
                    row[c] = min(row[c], previous[r, c - 1])
                if hi <= c:
                    continue
                free = self.free[j] + r
                span = slice(c + 1, hi + 1)
                row[span] = np.minimum(row[span], self._starts(kind, c, free, hi, previous[r]))
                if kind == INTERNAL and self.flag and r + saved < len(current):
                    # downgraded at once to h[c]: the items right of it have `saved` more
                    down = current[r + saved]
                    down[span] = np.minimum(
                        down[span], self._starts(HIDDEN, c, free, hi, previous[r])
                    )
            V.append(current)
            previous = current
        return V

    def _starts(self, kind, c, free, hi, previous) -> np.ndarray:
        """The least of *use* and *launch* for e = c + 1 .. hi."""
        length = hi - c + 1
        use = self._use(kind, c, free, length, previous)
        launch = self._launch(kind, c, free, length, previous)
        return np.minimum(use, launch)[1:]

    def _use(self, kind, c, free, length, previous) -> np.ndarray:
        """use(e) for e = c .. c + length - 1 (entry 0 unused)."""
        if kind == HIDDEN:
            return self._column("S", free, length)[:length] + previous[c]
        if not self.flag:
            return np.full(length, BIG, dtype=np.int64)
        segment = self._column("R", free - self.units.internal, length)[:length]
        return segment + previous[c - 1]

    def _launch(self, kind, c, free, length, previous) -> np.ndarray:
        """min over c <= b < e of (b - c) + P[e - b, free] + V[j-1][b], for e = c + 0 ..
        c + length - 1: a min-plus product, taken over blocks of rows of e."""
        out = np.full(length, BIG, dtype=np.int64)
        if kind == INTERNAL and not self.flag:
            return out
        right = self._column("P", free, length)[:length]
        start = previous[c : c + length] + np.arange(length)  # (b - c) + V[j-1][b]
        # padded[length + d] = P[d] for d >= 1, BIG for d <= 0 (b >= e is no launch)
        padded = np.concatenate([np.full(length + 1, BIG, dtype=np.int64), right[1:]])
        for e0 in range(1, length, LAUNCH_BLOCK):
            e1 = min(length, e0 + LAUNCH_BLOCK)
            e = np.arange(e0, e1)[:, None]
            b = np.arange(e1 - 1)[None, :]
            out[e0:e1] = (start[: e1 - 1][None, :] + padded[length + e - b]).min(axis=1)
        return np.minimum(out, BIG)

    @property
    def cost(self) -> int:
        """Fewest forwards reversing T..1 from the stored set (the first sweep not counted)."""
        value = int(self.V[-1][:, self.last].min()) if self.steps > 1 else 0
        if value >= BIG:
            raise AssertionError("reversal bug: no continuation found")  # h[0] or s[1] serves
        return value

    # -- the actions -----------------------------------------------------------------------

    def actions(self) -> list[Action]:
        """The actions after the first sweep: backward T, the frees of the items never read,
        then the segments of the DP's choices from right to left."""
        choices, dropped, downgraded = self._choices()
        out = Emitter()
        out.cursor = self.steps
        out.hidden, out.internal = set(self.hidden), set(self.internal)
        out.emit(BACKWARD, self.steps)
        for p in sorted(self.useless):
            out.emit(FREE_HIDDEN, p)
        for p in sorted(p for p in self.internal if p > self.last):
            out.emit(FREE_INTERNAL, p)
        for c, kind in dropped:
            out.emit(FREE_HIDDEN if kind == HIDDEN else FREE_INTERNAL, c)
        for c in downgraded:  # s[c] to h[c]: the cursor holds h[c] while neither is saved
            out.emit(RESTORE_INTERNAL, c)
            out.emit(FREE_INTERNAL, c)
            out.emit(SAVE_HIDDEN, c)
        A = self.units.internal
        for what, c, kind, e, b, free in choices:
            if what == "free":
                out.emit(FREE_HIDDEN if kind == HIDDEN else FREE_INTERNAL, c)
            elif what == "at once":
                out.reverse_saved_internal(c)
            elif what == "use" and kind == HIDDEN:
                emit_segment(out, self.tables, self.units, "S", c, e - c, free)
            elif what == "use":
                emit_segment(out, self.tables, self.units, "R", c, e - c, free - A)
                out.reverse_saved_internal(c)
            else:
                out.emit(RESTORE_HIDDEN if kind == HIDDEN else RESTORE_INTERNAL, c)
                out.emit(FREE_HIDDEN if kind == HIDDEN else FREE_INTERNAL, c)
                out.forward_to(b)
                emit_segment(out, self.tables, self.units, "P", b, e - b, free)
        return out.actions

    def _choices(self):
        """Walk the DP back from the answer: the segments in order, and the items dropped."""
        e = self.last
        r = int(np.argmin(self.V[-1][:, e])) if self.steps > 1 else 0
        choices, dropped, downgraded = [], [], []
        for j in range(len(self.items), 0, -1):  # past e = 0 too: drops may remain in r
            if e == 0 and r == 0:
                break
            c, kind = self.items[j - 1]
            previous, target = self.V[j - 1], int(self.V[j][r, e])
            size = self.size[kind]
            if r >= size and int(previous[r - size, e]) == target:
                dropped.append((c, kind))
                r -= size
                continue
            if (kind == HIDDEN and c >= e) or (kind == INTERNAL and c > e):
                choices.append(("free", c, kind, e, c, 0))
                continue
            if kind == INTERNAL and c == e:
                choices.append(("at once", c, kind, e, c, 0))
                e = c - 1
                continue
            saved = self.size[INTERNAL] - self.size[HIDDEN]
            versions = [(kind, r)]  # the item as stored, then downgraded to h[c]
            if kind == INTERNAL and self.flag and r >= saved:
                versions.append((HIDDEN, r - saved))
            for version, r_left in versions:
                found = self._segment_choice(j, version, c, e, r_left, target)
                if found is not None:
                    break
            else:
                raise AssertionError("reversal bug: no choice reaches the DP's value")
            what, b, free = found
            if version != kind:
                downgraded.append(c)
            choices.append((what, c, version, e, b, free))
            r = r_left
            e = b if what == "launch" else (c if version == HIDDEN else c - 1)
        return choices, dropped, downgraded

    def _segment_choice(self, j, kind, c, e, r, target):
        """("use" or "launch", launch point, free) for item j read as ``kind`` with ``r``
        dropped to its left, if that reaches ``target``; else None."""
        previous = self.V[j - 1]
        free = self.free[j - 1] + r
        length = e - c + 1
        if int(self._use(kind, c, free, length, previous[r])[-1]) == target:
            return "use", c, free
        if kind == INTERNAL and not self.flag:
            return None
        right = self._column("P", free, length)
        for b in range(c, e):
            if (b - c) + int(right[e - b]) + int(previous[r, b]) == target:
                return "launch", b, free
        return None


def _require_room(
    tables: BreakpointTables, steps: int, longest: int, width: int, entries: int
) -> None:
    """Refuse, before anything is allocated, a reversal whose tables (``longest`` rows by
    ``width`` grains) and DP (``entries`` int64 values of ``V``) pass the resource limits."""
    size = tables.size(longest, width)
    size = replace(size, table_bytes=size.table_bytes + 8 * entries)
    reason = limits.fits(size, limits.current().seconds)
    if reason:
        raise limits.ResourceLimitError(
            f"the reversal of {steps} steps from a stored set: {reason}; "
            "use a smaller budget or fewer steps, or raise the limit with "
            "mini_bptt.resource_limits()"
        )


def _validate(steps, hidden, internal, budget, units, flag) -> None:
    if 0 not in hidden and not (flag and 1 in internal):
        raise StoredSetError(
            "the stored set must hold h[0], or s[1] with internal_has_output (it restarts "
            "step 2 and reverses step 1)"
        )
    if any(not 0 <= p <= steps for p in hidden) or any(not 1 <= p <= steps for p in internal):
        raise StoredSetError(f"stored positions must lie in 0..{steps}")
    used = units.hidden * len(hidden) + units.internal * len(internal)
    if used > budget:
        raise StoredSetError(f"the stored set takes {used} units, over the budget of {budget}")
    if not flag:
        run = sorted(p for p in internal if p < steps)
        if run and run != list(range(run[0], steps)):
            raise StoredSetError(
                "with internal_has_output=False the stored internal states must be a run "
                "s[r..T-1] ending at step T - 1"
            )
