"""The engines that fill the DP tables of ``table_spec``.

Two engines fill the same tables. ``reference.DPTables`` evaluates every split point of
every split; it is short and plainly right, and the tests compare the fast engine with it
entry for entry. ``tables.BreakpointTables`` is the fast exact engine the planner uses:
each split is minimised over a few split points only, and each module below states the
argument that the ones it leaves out cannot change the minimum.

Read in this order:

1. ``reference`` -- the recursion as written: what every entry must be.
2. ``breakpoints`` -- the concavity lemma: a split's minimum is over its ends and the
   breakpoints of its two parts; finding them, and reading a choice back
   (``split_values``, ``best_split_option``).
3. ``candidates`` -- a breakpoint, once found, is a split point for every later row: the
   stores that keep them until they fall due, and the groups by coarse block of rows.
4. ``windows`` -- rows are filled in blocks; the split points a block's candidates cannot
   cover yet are searched row by row in two windows.
5. ``bisection`` -- a split with a dense, convex column: its middle found by bisection
   instead of by candidates.
6. ``pruning`` -- two-round skipping: a candidate is evaluated on every row of a block
   only if a lower bound says it may win.
7. ``chords`` -- the chord bound: a whole group of candidates skipped at once.
8. ``tables`` -- storage and the fill loop that puts them together (``ensure``), with the
   transactional ``intact`` flag.
9. ``sizing`` -- the shapes of a set and a bound on the bytes a fill holds.

Measurements behind the constants and the history of what was tried are in
``docs/engine.md``, not here.
"""

from mini_bptt.planning.engine.breakpoints import best_split_option
from mini_bptt.planning.engine.tables import BreakpointTables

__all__ = ["BreakpointTables", "best_split_option"]
