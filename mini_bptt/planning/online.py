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

The policy: a grid of hidden states and a tail of internal states, ``M`` units in all.

* **The start.** With ``internal_has_output`` and ``alpha = 1`` (an internal state as
  large as a hidden one), step 1 saves s[1] and frees h[0], and s[1] is kept to the end:
  it restarts step 2 (it holds h[1]) and reverses step 1 at once, so it serves every use
  of h[0] and more, for the same units (the *anchor*). For larger alpha the anchor would
  hold ``alpha - 1`` units more for the whole loop; h[0] is kept.
* While the start and s[1..i] fit, every s[i] is saved, nothing else (``first_grid - 1``
  steps: ``M / alpha`` with the anchor, ``(M - 1) / alpha`` without).
* From step ``first_grid`` on, h[i] joins the grid when it is at least
  ``max(d, SPACING * i / G)`` steps after the last grid state (``d = first_grid / 2``); the
  grid holds at most ``G = GRID_SHARE`` of the memory beyond the start. When it is full, the
  state freed is the one whose two neighbours are closest relative to
  ``(i - p + 1) ** TILT`` (``p`` its position): far from the current step, wider gaps
  cost less, since the optimal reversal reaches them last, with the most memory free.
* s[i] is saved while one internal state fits beside the grid; to make room the tail
  frees, with ``internal_has_output``, the internal state (not the newest, not the anchor) whose
  neighbours among all stored states are closest, so that those kept stay spread out as
  restart points; without it, the oldest (the tail stays a run ending at step i, each
  read at once by the reversal).

The constants were chosen by measuring every T <= 400 at a few (alpha, M);
``bench/bench_online.py`` measures the result on the whole grid.

Exact guarantee: for ``T <= first_grid`` every s[1..T-1] is stored, the reversal costs
nothing and ``forward_count = T = C(T, M)`` (ratio 1); ``first_grid`` is ``floor(M /
alpha) + 1`` with the anchor, else ``floor((M - 1) / alpha) + 1``. Beyond, the ratio to
the offline optimum is measured, not proved (``bench/results/bench_online.json``); the
reversal itself is optimal for the stored set up to the limits stated in ``reversal``
(its ``depth`` and ``drops`` are bounded for ``T > FULL_DEPTH_STEPS``).

Planner memory during the forward: the grid (at most ``G`` positions), the tail (at most
``M / alpha`` positions) and a few counters: O(M). ``finish`` writes the first sweep by
running the same deterministic rules again from a fresh planner, so no record of the
actions is kept during the forward.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

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
from mini_bptt.planning.units import budget_grains, grains_for

GRID_SHARE = 0.9  # of the memory beyond h[0], the most the grid of hidden states takes
SPACING = 0.5  # grid states at least SPACING * i / G steps apart ...
FIRST_STRIDE = 0.5  # ... and at least FIRST_STRIDE * first_grid
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
        if i >= self.first_grid and self.grid_capacity and self._grid_point(state, i):
            if len(state.grid) == self.grid_capacity:
                out.append(Action(FREE_HIDDEN, self._thin_grid(state, i)))
                state.used -= H
            self._make_room(state, H, out)
            out.append(Action(SAVE_HIDDEN, i))
            state.grid.append(i)
            state.used += H
        held = H * len(state.grid) + (A if self.anchored else H)  # besides the tail's
        if (i == 1 and self.anchored) or self.budget - held >= A:
            self._make_room(state, A, out)
            out.append(Action(SAVE_INTERNAL, i))
            state.tail.append(i)
            state.used += A
        if i == 1 and self.anchored:  # s[1] restarts step 2 and reverses step 1: h[0] idle
            out.append(Action(FREE_HIDDEN, 0))
            state.used -= H
        self.progress = Progress(state, i, tuple(out))
        return out

    def finish(self, steps: int) -> Plan:
        """The plan of the whole trace, after the forward of step ``steps`` = T, the last.

        A call that raises (a ``ResourceLimitError`` for a reversal past the limits, an
        interrupt) leaves the planner unfinished: it may be called again."""
        steps = arguments.count("steps", steps)
        self._require_next(steps)
        sweep = self._first_sweep(steps)
        with optimal_tables("msm", self.units, self.flag) as tables:
            actions = self.reversal_at(steps, tables).actions()
        plan = Plan(
            steps=steps,
            memory=self.memory,
            alpha=self.alpha,
            internal_has_output=self.flag,
            strategy="online",
            model="optimal-reversal",
            actions=tuple(sweep + actions),
        )
        self.finished = True
        return plan

    def reversal_at(self, steps: int, tables: BreakpointTables) -> Reversal:
        """The reversal ``finish(steps)`` would take from what is stored now, without
        finishing (``tables``: the optimal model's MSM tables for these grains and flag,
        held by the caller, ``with optimal_tables("msm", grains, flag) as tables``)."""
        small = steps <= FULL_DEPTH_STEPS
        return Reversal(
            steps,
            {*self.grid} if self.anchored and self.done >= 1 else {0, *self.grid},
            set(self.tail),
            self.budget,
            self.units,
            self.flag,
            tables,
            None if small else DEPTH,
            None if small else DROPS,
        )

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
        last = state.grid[-1] if state.grid else self.first_grid - 1
        return i - last >= max(self.stride, int(SPACING * i / self.grid_capacity))

    def _thin_grid(self, state: Stored, now: int) -> int:
        """Free the grid state whose two neighbours are closest, relative to its distance
        from the current step to the power ``TILT``: far from the end, gaps may be wider."""
        marks = [0, *state.grid, now]
        best, score = 1, None
        for n in range(1, len(marks) - 2):
            value = (marks[n + 1] - marks[n - 1]) / (now - marks[n] + 1) ** TILT
            if score is None or value < score:
                best, score = n, value
        return state.grid.pop(best - 1)

    def _make_room(self, state: Stored, size: int, out: list[Action]) -> None:
        while state.used + size > self.budget and len(state.tail) > self.anchored:
            out.append(Action(FREE_INTERNAL, self._evict(state)))
            state.used -= self.units.internal

    def _evict(self, state: Stored) -> int:
        if not self.flag:
            return state.tail.popleft()
        # the internal state whose neighbours are closest: the others stay spread out
        marks = sorted({0, *state.grid, *state.tail})
        index = {p: n for n, p in enumerate(marks)}
        movable = list(state.tail)[int(self.anchored) :]  # never s[1] when anchored
        best, gap = movable[0], None
        for p in movable[:-1]:
            n = index[p]
            width = marks[n + 1] - marks[n - 1]
            if gap is None or width < gap:
                best, gap = p, width
        state.tail.remove(best)
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
