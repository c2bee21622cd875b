"""An online BPTT-MSM planner for loops that learn their length only when they stop.

``OnlinePlanner(memory, alpha=..., internal_has_output=...)`` is told each step as the
forward sweep makes it and answers with the saves and frees to do now; ``finish(T)``
returns the ``Plan`` of the whole trace: the first sweep with exactly those actions, then
the cheapest reversal ``reversal.Reversal`` finds from what is stored.

When T is revealed, and what a caller may do: call ``step(i)`` after the forward of step
i, for i = 1, 2, ... in order, while the loop goes on, and do the actions it returns
before the forward of step i + 1 (the cursor is at h[i], the core holds s[i]). When the
loop stops after the forward of step T, call ``finish(T)`` instead of ``step(T)``: T is
revealed then, after the forward of step T and before any save at step T (none is made:
step T's internal state is in the core and its backward comes first). ``step`` never sees
T. Between calls the caller runs only the forward of the next step; after ``finish`` the
planner takes no more calls.

The policy. Before T is known it must decide what to keep; a kept h[p] or s[p] is a point
the reversal restarts from, and an s[p] also reverses step p at no forward.

* **alpha = 1 with ``internal_has_output``: internal states only.** An internal state is
  then as large as a hidden one and does all it does (it restarts the forward at h[p]) and
  more, so every unit holds an internal state. Step 1 saves s[1] and frees h[0] (the
  *anchor*: s[1] restarts step 2 and reverses step 1), and s[1] stays to the end. Every
  step saves s[i]; when the memory is full it first frees the internal state whose two
  neighbours (h[0] and step i count) are closest relative to ``(i - p + 1) **
  SPREAD_TILT``: far from the current step wider gaps cost less, since the optimal
  reversal reaches them last, with the most memory free.
* **Otherwise: a grid of hidden states and a tail of internal states**, ``M`` units in
  all, h[0] kept. (The anchor would hold ``alpha - 1`` units more to the end; its cost is
  bounded below in ``bench/online_bounds.py``: at alpha = 2 and 5 its mean or worst ratio
  passes the goal at M = 8 and 16.) While h[0] and s[1..i] fit, every s[i] is saved
  (``first_grid - 1`` steps). From step ``first_grid`` on, h[i] joins the grid when it is
  at least ``max(d, SPACING * i / G)`` steps after the last grid state (``d =
  FIRST_STRIDE * first_grid``); the grid holds at most ``G = GRID_SHARE`` of the memory
  beyond h[0]. When it is full, the state freed is the one whose two neighbours are
  closest relative to ``(i - p + 1) ** TILT``. s[i] is saved while one internal state fits
  beside the grid; to make room the tail frees, with ``internal_has_output``, the internal
  state (not the newest) whose neighbours among all stored states are closest; without
  it, the oldest (the tail stays a run ending at step i, each read at once by the
  reversal). The grid's first state comes ``ceil(FIRST_POINT * first_grid)`` steps after
  ``first_grid - 1``, and while the grid is young (``i < YOUNG_GRID * first_grid``) the
  newest internal state may be freed too, step i counting as a neighbour: a grid state
  saved then replaces the internal state just before it, not an old one that spreads the
  tail (at alpha = 5, M = 16 the optimum for T = 5..14 keeps only spread internal states).

The grid's constants were chosen by measuring every T <= 400 at a few (alpha, M);
``SPREAD_TILT`` (0.5 against 1: worst 1.07 against 1.19) on every T <= 10^4 at alpha = 1;
``FIRST_POINT`` and ``YOUNG_GRID`` (0.5 and none before: 1.167 at alpha = 5, M = 16) on
every T <= 3000 of the eight cases with alpha in {2, 5}, then checked to 10^4.

Exact guarantee: for ``T <= first_grid`` every s[1..T-1] is stored, the reversal costs
nothing and ``forward_count = T = C(T, M)`` (ratio 1); ``first_grid`` is ``floor(M /
alpha) + 1`` with the anchor, else ``floor((M - 1) / alpha) + 1``. Every ``finish(T)`` is
a plan of the rules within M (the reversal emits only moves of the rules; ``mb.check``
accepts every T <= 2000 of the bench). Beyond ``first_grid`` the ratio to the offline
optimum is measured, not proved: ``bench/results/bench_online.json`` has, for every T <=
10^4, alpha in {1, 2, 5} and M in {8, 16, 32, 64}, the worst and mean ratio (at alpha = 1
the worst is 1.07 at M = 8 and 1.05 or less above; at alpha = 2 and 5 the worst is 1.20
at M = 8, 1.111 (T = 9, forced: ``bench/online_bounds.py``) and 1.100 at M = 16, and 1.09
or less at M = 32 and 64; every mean is 1.017 or less). The reversal is optimal for the
stored set up to the limits stated in ``reversal`` (its ``depth`` and ``drops`` are
bounded for ``T > FULL_DEPTH_STEPS``).

Planner memory during the forward: the grid (at most ``G`` positions), the tail (at most
``M / alpha`` positions) and a few counters: O(M). ``finish`` writes the first sweep by
running the same deterministic rules again from a fresh planner, so no record of the
actions is kept during the forward.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from mini_bptt.common import arguments
from mini_bptt.planning.actions import (
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    Action,
)
from mini_bptt.planning.dp_optimal import optimal_tables
from mini_bptt.planning.engine import BreakpointTables
from mini_bptt.planning.plan import InfeasibleMemoryError, Plan
from mini_bptt.planning.reversal import Reversal
from mini_bptt.planning.reversal_cost import ReversalCost
from mini_bptt.planning.units import budget_grains, grains_for

GRID_SHARE = 0.9  # of the memory beyond h[0], the most the grid of hidden states takes
SPACING = 0.5  # grid states at least SPACING * i / G steps apart ...
FIRST_STRIDE = 0.5  # ... and at least FIRST_STRIDE * first_grid
FIRST_POINT = 0.75  # the first grid state at least FIRST_POINT * first_grid steps in
YOUNG_GRID = 6  # before step YOUNG_GRID * first_grid the tail may free its newest state
SPREAD_TILT = 0.5  # the same for the internal states alone, at alpha = 1
TILT = 0.5  # how much wider gaps far from the current step may be, when thinning the grid
# the reversal DP looks at every item and every drop up to this T; beyond, each item may
# reach DEPTH items to its right and DROPS items may be dropped (a plan still, measured)
FULL_DEPTH_STEPS = 64
DEPTH = 2
DROPS = 1


class PlannerStateError(ValueError):
    """A call out of order: a step not the next one, ``finish`` twice, ``step`` after it."""


class OnlinePlanner:
    """Saves and frees chosen step by step, without knowing T; ``finish(T)`` gives the plan.

    Parameters
    ----------
    memory : int, float, Fraction or str
        Budget in hidden-state units (as for ``plan``; not a percentage, which needs T).
    alpha : int, float or Fraction
        Internal-state size in hidden-state units.
    internal_has_output : bool
        Whether a saved internal state restarts the forward (``restore_internal``).

    Raises
    ------
    InfeasibleMemoryError
        ``memory`` below one hidden state (h[0]).
    TypeError, ValueError
        Arguments of the wrong type or range, named.
    """

    def __init__(
        self, memory: int | float | str, *, alpha: int | float = 1, internal_has_output: bool = True
    ) -> None:
        if isinstance(memory, str) and memory.strip().endswith("%"):
            raise ValueError("memory must be a number of units: a percentage needs T")
        self.units = grains_for(alpha)
        self.flag = arguments.boolean("internal_has_output", internal_has_output)
        self.memory, self.alpha = memory, alpha
        self.budget = budget_grains(memory, 1, self.units)
        H, A = self.units.hidden, self.units.internal
        if self.budget < H:
            raise InfeasibleMemoryError(
                f"memory {arguments.shown(memory)} is below the smallest feasible: 1 unit (h[0])"
            )
        # s[1] kept for the whole loop in place of h[0] (see the module docstring)
        # with it every kept state is an internal state (``_spread``), else h[0] stays
        self.anchored = self.flag and A == H and self.budget >= H + A
        start = A if self.anchored else H  # what the start of the sequence takes for good
        spare = self.budget - start
        self.grid_capacity = max(1, int(GRID_SHARE * spare) // H) if spare >= H else 0
        # before it, every s[i] fits: s[1..budget / A] when anchored, else beside h[0]
        self.first_grid = (self.budget if self.anchored else spare) // A + 1
        self.stride = max(1, int(FIRST_STRIDE * self.first_grid))
        # (what is stored, the last step answered, its answer), replaced in one assignment
        self.progress = Progress(Stored([], deque(), H), 0, ())
        self.finished = False

    @property
    def stored(self) -> Stored:
        return self.progress.stored

    @property
    def done(self) -> int:
        """The last step answered (0 before the first)."""
        return self.progress.step

    @property
    def grid(self) -> list[int]:
        """The positions of the hidden states the policy keeps, h[0] aside."""
        return self.stored.grid

    @property
    def tail(self) -> deque[int]:
        """The positions of the internal states it keeps."""
        return self.stored.tail

    def step(self, i: int) -> list[Action]:
        """The saves and frees to do now, after the forward of step ``i`` (1, 2, ... in
        order), when the loop goes on past ``i``.

        Transactional: the new state is built on a copy (O(M)) and kept, with the answer,
        in one assignment once the answer is complete. A call cut short (an exception,
        Ctrl-C) has either changed nothing or been answered in full, and may be made
        again: ``step(i)`` for the step last answered returns the same actions."""
        i = arguments.count("i", i)
        if i == self.done and i > 0 and not self.finished:
            return list(self.progress.answer)
        self._require_next(i)
        state = self.stored.copy()
        H, A = self.units.hidden, self.units.internal
        out: list[Action] = []
        if self.anchored:
            self._spread(state, i, out)
            self.progress = Progress(state, i, tuple(out))
            return out
        if i >= self.first_grid and self.grid_capacity and self._grid_point(state, i):
            if len(state.grid) == self.grid_capacity:
                out.append(Action(FREE_HIDDEN, self._thin_grid(state, i)))
                state.used -= H
            self._make_room(state, H, out, i)
            out.append(Action(SAVE_HIDDEN, i))
            state.grid.append(i)
            state.used += H
        if self.budget - H * (len(state.grid) + 1) >= A:  # beside h[0] and the grid
            self._make_room(state, A, out, i)
            out.append(Action(SAVE_INTERNAL, i))
            state.tail.append(i)
            state.used += A
        self.progress = Progress(state, i, tuple(out))
        return out

    def finish(self, steps: int) -> Plan:
        """The plan of the whole trace, after the forward of step ``steps`` = T, the last.

        A call that raises (a ``ResourceLimitError`` for a reversal past the limits, an
        interrupt) leaves the planner unfinished: it may be called again."""
        steps = arguments.count("steps", steps)
        self._require_next(steps)
        plan = self._plan_after(self._first_sweep(steps), steps)
        self.finished = True
        return plan

    def _plan_after(self, sweep: list[Action], steps: int) -> Plan:
        """The plan of ``sweep`` (the first sweep up to the forward of step ``steps``) and
        the reversal from what is stored now; ``finish`` with the sweep it replays, the
        bench with the sweep it recorded."""
        with optimal_tables("msm", self.units, self.flag) as tables:
            actions = self.reversal_at(steps, tables).actions()
        return Plan(
            steps=steps,
            memory=self.memory,
            alpha=self.alpha,
            internal_has_output=self.flag,
            strategy="online",
            model="optimal-reversal",
            actions=tuple(sweep + actions),
        )

    def reversal_at(self, steps: int, tables: BreakpointTables) -> Reversal:
        """The reversal ``finish(steps)`` would take from what is stored now, without
        finishing (``tables``: the optimal model's MSM tables for these grains and flag,
        held by the caller, ``with optimal_tables("msm", grains, flag) as tables``)."""
        small = steps <= FULL_DEPTH_STEPS
        hidden, internal = self.stored_set()
        return Reversal(
            steps,
            hidden,
            internal,
            self.budget,
            self.units,
            self.flag,
            tables,
            None if small else DEPTH,
            None if small else DROPS,
        )

    def stored_set(self) -> tuple[set[int], set[int]]:
        """The positions of the hidden and of the internal states stored now."""
        hidden = {*self.grid} if self.anchored and self.done >= 1 else {0, *self.grid}
        return hidden, set(self.tail)

    def forward_counts(self, steps: int) -> np.ndarray:
        """``counts[T]`` = ``finish(T).forward_count`` for T = 1..``steps``, stepping this
        planner (fresh) through ``steps - 1``: T plus the reversal's cost from what it
        stores after ``step(T - 1)``, the bounded reversal's cost by ``ReversalCost``
        (equal to ``Reversal``'s, which ``finish`` emits), without the plans."""
        if self.done or self.finished:
            raise PlannerStateError("forward_counts needs a fresh planner")
        steps = arguments.count("steps", steps)
        counts = np.zeros(steps + 1, dtype=np.int64)
        with optimal_tables("msm", self.units, self.flag) as tables:
            tables.ensure(steps, self.budget)
            bounded = ReversalCost(self.budget, self.units, self.flag, tables, DEPTH, DROPS)
            for t in range(1, steps + 1):
                if t <= FULL_DEPTH_STEPS:
                    counts[t] = t + self.reversal_at(t, tables).cost
                else:
                    counts[t] = t + bounded.cost(t, *self.stored_set())
                if t < steps:
                    self.step(t)
        return counts

    def _first_sweep(self, steps: int) -> list[Action]:
        """The forwards of steps 1..T and what ``step`` returned after each but the last,
        from the same rules run again (they depend on nothing but the steps)."""
        again = OnlinePlanner(self.memory, alpha=self.alpha, internal_has_output=self.flag)
        sweep: list[Action] = []
        for i in range(1, steps):
            sweep.append(Action(FORWARD, i))
            sweep.extend(again.step(i))
        sweep.append(Action(FORWARD, steps))
        return sweep

    def _require_next(self, i: int) -> None:
        if self.finished:
            raise PlannerStateError("the planner is finished: no step or finish after finish")
        if i != self.done + 1:
            raise PlannerStateError(f"steps must come in order: expected {self.done + 1}, got {i}")

    def _grid_point(self, state: Stored, i: int) -> bool:
        if not state.grid:  # ceil(FIRST_POINT * first_grid) after the last s[i] that fit
            first = math.ceil(FIRST_POINT * self.first_grid)
            return i - (self.first_grid - 1) >= max(self.stride, first)
        return i - state.grid[-1] >= max(self.stride, int(SPACING * i / self.grid_capacity))

    def _thin_grid(self, state: Stored, now: int) -> int:
        """Free the grid state whose two neighbours are closest, relative to its distance
        from the current step to the power ``TILT``: far from the end, gaps may be wider."""
        marks = [0, *state.grid, now]  # the newest grid state is kept
        return state.grid.pop(closest_neighbours(marks, 1, len(marks) - 2, now, TILT) - 1)

    def _spread(self, state: Stored, i: int, out: list[Action]) -> None:
        """Internal states only (alpha = 1 with the output): save s[i]; when full, first
        free the one whose two neighbours are closest relative to ``(i - p + 1) **
        SPREAD_TILT`` (never s[1], the anchor)."""
        A = self.units.internal
        if state.used + A > self.budget:
            marks = [0, *state.tail, i]  # marks[1] is s[1], kept
            best = closest_neighbours(marks, 2, len(marks) - 1, i, SPREAD_TILT)
            state.tail.remove(marks[best])
            out.append(Action(FREE_INTERNAL, marks[best]))
            state.used -= A
        out.append(Action(SAVE_INTERNAL, i))
        state.tail.append(i)
        state.used += A
        if i == 1:  # s[1] restarts step 2 and reverses step 1: h[0] idle
            out.append(Action(FREE_HIDDEN, 0))
            state.used -= self.units.hidden

    def _make_room(self, state: Stored, size: int, out: list[Action], i: int) -> None:
        while state.used + size > self.budget and state.tail:
            out.append(Action(FREE_INTERNAL, self._evict(state, i)))
            state.used -= self.units.internal

    def _evict(self, state: Stored, i: int) -> int:
        if not self.flag:
            return state.tail.popleft()
        # the internal state whose neighbours are closest: the others stay spread out.
        # While the grid is young the newest may go too (step i is a neighbour): a state
        # saved as the grid starts then replaces the one just before it, not an old one
        young = i < YOUNG_GRID * self.first_grid
        marks = sorted({0, *state.grid, *state.tail, *([i] if young else [])})
        index = {p: n for n, p in enumerate(marks)}
        movable = list(state.tail)
        best, gap = movable[0], None
        for p in movable if young else movable[:-1]:
            n = index[p]
            width = marks[n + 1] - marks[n - 1]
            if gap is None or width < gap:
                best, gap = p, width
        state.tail.remove(best)
        return best


def closest_neighbours(marks: list[int], first: int, end: int, now: int, tilt: float) -> int:
    """The index ``n`` in ``first .. end - 1`` of the stored position ``marks[n]`` whose two
    neighbours are closest, relative to ``(now - marks[n] + 1) ** tilt`` (far from the
    current step, wider gaps cost less); the first such index on a tie."""
    best, score = first, None
    for n in range(first, end):
        value = (marks[n + 1] - marks[n - 1]) / (now - marks[n] + 1) ** tilt
        if score is None or value < score:
            best, score = n, value
    return best


class Progress(NamedTuple):
    stored: Stored
    step: int
    answer: tuple[Action, ...]


@dataclass
class Stored:
    """What the policy keeps during the forward: grid positions, tail positions, and the
    units they and h[0] take."""

    grid: list[int]
    tail: deque[int]
    used: int

    def copy(self) -> Stored:
        return Stored(list(self.grid), deque(self.tail), self.used)


__all__ = ["OnlinePlanner", "PlannerStateError"]
