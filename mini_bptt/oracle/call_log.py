"""Rebuild a trace from a call log: the order of forward and backward calls a framework made.

``trace_from_calls(calls, steps=T)`` returns the valid trace of least peak memory that makes
exactly those calls, in that order and no others, with saves, restores and frees inserted
(docs/model.md, *Traces from call logs*, defines it and the ties). The claim, and why it
holds:

* **What every trace must keep.** A backward j that does not read the core (the last
  forward before it is not forward j) reads a saved s[j]. The core held s[j] only from the
  latest forward j to the next forward, so every trace keeps s[j] from that next forward
  on. A forward i that does not follow forward i-1 restarts from step k = i-1: it needs
  h[k] or s[k] saved, and the cursor and the core leave h[k] and s[k] at the first forward
  after the latest forward k and never come back without a restore, so every trace keeps
  one of them (size at least 1 unit) from there on; h[0] cannot be saved again once freed.
  Before a forward, the states kept from the previous forward must be saved before the
  cursor moves (hidden) or the core is emptied (internal: by ``restore_hidden`` or the
  forward itself).
* **This trace keeps only that**, each state saved at its last chance (just before the
  next forward) and freed right after its last use. So at every forward call, and at the
  fullest moment of every gap before one, any trace holds at least what this one holds
  with the same choice of h[k] or s[k] for each restart; after backward calls the load
  only falls.
* **The one choice.** With ``internal_has_output``, a restart state kept as s[k] costs
  ``alpha - 1`` more units while kept but can lower two gaps by a unit: the gap of its
  last restore (``restore_internal`` keeps the core, so s[k] is freed before the new
  internal state is saved) and the gap where it is saved (saved after the state restored
  there is freed). Made internal for the gap where it is saved, it turns back into h[k]
  for nothing at the next restart gap, if that comes before its last use
  (``restore_internal``, ``free_internal``, ``save_hidden``: the cursor holds it
  meanwhile). For a candidate peak, every gap above it forces its own states internal
  (the saved one first, then the restored one: nothing else can lower it), and everything
  else only grows with internal states; so the forced set is in every choice that fits,
  and it fits if any does. Bisection finds the least peak.

**One run per log.** A log is one run: a forward sweep and its backward, ending with
backward 1. A call after it (an evaluation pass through the same hooked steps, or a second
training step) is refused, though ``mb.check`` accepts a trace that goes on after its last
backward: a log of two runs would get a valid trace of both, counted as one loop. The claim
is over the logs accepted. A pass *before* the run cannot be told from restarts of the
run: log only the run you check.

One kind of log is outside the claim: with ``internal_has_output``, a forward k+1 after
backward k that restarts from the computation of step k whose s[k] backward k read (a
forward of a step already reversed). Such an s[k] is kept on after its backward and turns
into h[k] at the next restart gap (or stays internal, the same choice as above); a trace
that moves the cursor away and back to turn it elsewhere can be lower, rarely.
``tests/oracle/test_call_log.py`` compares the peak with an exhaustive search over every
valid trace (``tests/oracle/call_log_search.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from mini_bptt.common import arguments
from mini_bptt.oracle.call_log_gaps import Kept, choose_least_peak, gap_actions, kept_states
from mini_bptt.planning import limits
from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    Action,
)
from mini_bptt.planning.plan import cost_within
from mini_bptt.planning.plan_value import Plan, to_action
from mini_bptt.planning.units import grains_for

MODEL = "call-log"  # the model label of a trace rebuilt from a call log


@dataclass(frozen=True)
class CallLogPlan(Plan):
    """A ``Plan`` rebuilt from a call log by ``trace_from_calls``.

    ``strategy`` is the class of the trace by what it saves (``"hsm"``: hidden states
    only, or nothing; ``"ism"``: internal states only; ``"msm"``: both), ``model`` is
    ``"call-log"``, ``memory`` is the trace's own peak. ``optimal_forward_count`` is
    ``mb.cost(steps, peak_memory, alpha=..., internal_has_output=...)``: the fewest forwards
    any plan needs within the same memory (None, with ``optimum_note`` saying why, when
    its DP would pass the ``check_seconds`` limit).
    """

    optimal_forward_count: int | None = field(init=False)
    optimum_note: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        best, why = cost_within(limits.current().check_seconds, self.problem, strategy="msm")
        object.__setattr__(self, "optimal_forward_count", best)
        object.__setattr__(self, "optimum_note", f"optimum not computed: {why}" if why else "")


def trace_from_calls(
    calls: Iterable,
    *,
    steps: int,
    alpha: int | float | Fraction = 1,
    internal_has_output: bool = True,
) -> CallLogPlan:
    """The valid trace of least peak memory that makes exactly ``calls``, in order.

    Parameters
    ----------
    calls : iterable
        ``("forward", i)`` and ``("backward", i)`` pairs (or ``Action`` s, or
        ``{"op", "step"}`` dicts with those ops), in the order the framework made them:
        one run, ending with backward 1 (the module docstring says why).
    steps : int
        Sequence length T: steps run from 1 to T.
    alpha : int, float or Fraction
        Internal-state size in hidden-state units.
    internal_has_output : bool
        Whether a saved internal state can restart the forward (``restore_internal``).

    Returns
    -------
    CallLogPlan
        A ``Plan`` (``forward_count``, ``peak_memory``, ``actions`` as usual; ``memory`` is
        its peak), with the class of the trace in ``strategy`` and the optimum at that
        memory in ``optimal_forward_count``.

    Raises
    ------
    PlanError
        At the first call that no valid trace can make, or that comes after backward 1
        ended the run (``calls[index]``, and why, with the likely cause in a real loop:
        ``steps`` too large, two backward passes, a second run), or at index ``len(calls)``
        when the log ends before every step is reversed.
    TypeError, ValueError
        For bad arguments, named; ``ResourceLimitError`` past the ``actions`` limit.

    Examples
    --------
    >>> from mini_bptt.oracle.call_log import trace_from_calls
    >>> calls = [("forward", 1), ("forward", 2), ("backward", 2), ("forward", 1),
    ...          ("backward", 1)]
    >>> trace = trace_from_calls(calls, steps=2)
    >>> [f"{a.op} {a.step}" for a in trace.actions][2:5]
    ['backward 2', 'restore_hidden 0', 'free_hidden 0']
    >>> trace.peak_memory, trace.strategy, trace.forward_count, trace.optimal_forward_count
    (1, 'hsm', 3, 2)
    >>> trace_from_calls(calls + [("forward", 1)], steps=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    mini_bptt.planning.replay.PlanError: calls[5] (forward 1): a call after backward 1 ...
    """
    steps = arguments.count("steps", steps)
    grains = grains_for(alpha)
    arguments.boolean("internal_has_output", internal_has_output)
    log = _read(calls, steps)
    kept, restored = kept_states(log, steps, internal_has_output)
    peak = choose_least_peak(log, kept, restored, grains)
    actions = _actions(log, kept, restored)
    saves = {a.op for a in actions} & {SAVE_HIDDEN, SAVE_INTERNAL}
    kind = "msm" if len(saves) == 2 else "ism" if SAVE_INTERNAL in saves else "hsm"
    return CallLogPlan(
        steps=steps,
        memory=Fraction(peak, grains.hidden),  # the Plan's replay holds it to this
        alpha=alpha,
        internal_has_output=internal_has_output,
        strategy=kind,
        model=MODEL,
        actions=tuple(actions),
    )


def _read(calls: Iterable, steps: int) -> list[tuple[str, int]]:
    """The log as (op, step) pairs; refuses bad input naming it, and a log past the
    ``actions`` limit before reading on (a generator may never end)."""
    if isinstance(calls, str | bytes) or not isinstance(calls, Iterable):
        raise TypeError(
            "calls must be an iterable of ('forward', i) and ('backward', i) pairs or "
            f"Actions, got {arguments.shown(calls)}"
        )
    limit = limits.current().actions
    log = []
    for index, item in enumerate(calls):
        if index >= limit:
            limits.require_actions(index + 1, "the call log")
        try:
            action = to_action(item)
        except TypeError:
            raise TypeError(
                f"calls[{index}] must be a ('forward', i) or ('backward', i) pair or an Action, "
                f"got {arguments.shown(item)}"
            ) from None
        op, step = action.op, action.step
        if op not in (FORWARD, BACKWARD):
            raise ValueError(
                f"calls[{index}] has op {arguments.shown(op)}; a call log accepts only "
                "'forward' and 'backward' (the saves, restores and frees are inserted)"
            )
        integer = isinstance(step, int) and not isinstance(step, bool)
        if not integer or not 1 <= step <= steps:
            raise (ValueError if integer else TypeError)(
                f"calls[{index}] has step {arguments.shown(step)}; "
                f"a step is an integer from 1 to {arguments.shown(steps)} (steps)"
            )
        log.append((op, step))
    return log


def _actions(
    log: list[tuple[str, int]], kept: list[Kept], restored: dict[int, Kept]
) -> list[Action]:
    """The trace: the calls, and in each gap before a forward the saves, turns and restore
    in the order ``Gaps.peak`` counts; a state read by a backward is freed right after it."""
    saved_at: dict[int, list[Kept]] = {}
    turns_at: dict[int, list[Kept]] = {}
    freed_after = {k.end: k for k in kept if k.read_by_backward}
    for k in kept:
        saved_at.setdefault(k.save, []).append(k)
        if k.saved_internal and k.internal_until < k.end:
            turns_at.setdefault(k.internal_until, []).append(k)
    inserted = sum(2 if k.save >= 0 else 1 for k in kept) + len(restored)
    inserted += 3 * sum(map(len, turns_at.values())) + (-1 not in saved_at)
    limits.require_actions(len(log) + inserted, "the trace of this call log")
    actions = [] if -1 in saved_at else [Action(FREE_HIDDEN, 0)]  # h[0] is never restored
    for gap in range(len(log) + 1):
        if gap - 1 in freed_after:
            actions.append(Action(FREE_INTERNAL, freed_after[gap - 1].step))
        if gap < len(log) and log[gap][0] == FORWARD:
            actions += gap_actions(gap, saved_at.get(gap, ()), turns_at.get(gap, ()), restored)
        if gap < len(log):
            actions.append(Action(*log[gap]))
    return actions


__all__ = ["CallLogPlan", "trace_from_calls"]
