"""The mechanism of ``call_log.trace_from_calls``: what a call log forces a trace to keep,
the gaps between forward calls where it is saved and restored, and the least-peak choice
of hidden or internal states (``call_log``'s docstring has the argument).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    FREE_INTERNAL,
    RESTORE_HIDDEN,
    RESTORE_INTERNAL,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    Action,
)
from mini_bptt.planning.replay import PlanError
from mini_bptt.planning.units import Grains


@dataclass(eq=False)
class Kept:
    """One state the trace keeps: h[step] or s[step] of one computation of ``step``.

    Saved in gap ``save`` (gap g is just before call g; -1: h[0], saved from the start),
    held until ``end`` (a backward call, or the gap of its last restore), internal on gaps
    up to ``internal_until`` and hidden after it (``internal_until == save``: hidden all
    along; ``== end``: internal all along; between: turned into h[step] in that gap).
    A ``choice`` may stay internal longer than ``floor``: up to ``turn_gap`` (the first
    restart gap after it is saved, or after the backward that reads it), or to its end.
    """

    step: int
    save: int
    end: int
    read_by_backward: bool  # its last use is a backward (it is freed right after it)
    internal_until: int
    choice: bool = False
    floor: int = 0
    turn_gap: int | None = None

    @property
    def saved_internal(self) -> bool:
        return self.internal_until > self.save

    def internal_at(self, gap: int) -> bool:
        return self.save < gap <= self.internal_until


def kept_states(
    log: list[tuple[str, int]], steps: int, internal_has_output: bool
) -> tuple[list[Kept], dict[int, Kept]]:
    """The states every trace of ``log`` must keep (the module docstring says why), and the
    state each restarting forward restores (by the gap before it). PlanError at the first
    call no trace can make."""
    cursor = 0  # the step whose output the cursor holds: where the last forward left it
    core = None  # the step whose internal state the core holds
    latest: dict[int, int] = {}  # step -> call index of its latest forward
    restarts: dict[int, int] = {}  # gap of a restarting forward -> its source forward (-1: h[0])
    reads: dict[int, int] = {}  # backward call reading a saved s -> the forward that computed it
    next_backward = steps
    for index, (op, step) in enumerate(log):
        if not next_backward:  # backward 1 ended the run
            raise refused(index, op, step, ONE_RUN)
        if op == FORWARD:
            if cursor != step - 1:
                if step > 1 and step - 1 not in latest:
                    why = f"forward {step} needs the cursor at h[{step - 1}], and no earlier "
                    why += f"call computed step {step - 1}, so no saved state can put it there"
                    raise refused(index, op, step, why)
                restarts[index] = latest.get(step - 1, -1)
            cursor = core = step
            latest[step] = index
            continue
        if step != next_backward:
            why = f"backward must reverse steps in order T..1; the next step is {next_backward}"
            raise refused(index, op, step, why + out_of_order_hint(step, next_backward, latest))
        if core != step:
            if step not in latest:
                why = f"backward {step} needs s[{step}], and no earlier forward {step} computed it"
                raise refused(index, op, step, why)
            reads[index] = latest[step]
        next_backward -= 1
    if next_backward:
        why = f"the log ends before steps {next_backward}..1 are reversed"
        raise refused(len(log), "end", "-", why + unfinished_hint(log, next_backward))
    following, ahead = {}, None  # the first forward after each call: where its states go
    for index in range(len(log) - 1, -1, -1):
        following[index] = ahead
        ahead = index if log[index][0] == FORWARD else ahead
    internal = {  # each read by one backward: internal from its save to that backward
        source: Kept(log[source][1], save=following[source], end=call, read_by_backward=True,
                      internal_until=call)
        for call, source in reads.items()
    }  # fmt: skip
    restore_gaps = sorted(restarts)
    read_at = {source: call for call, source in reads.items()}
    hidden: dict[int, Kept] = {}
    restored: dict[int, Kept] = {}
    for gap, source in sorted(restarts.items()):
        read = internal.get(source)
        if internal_has_output and read is not None:
            restored[gap] = read  # s[k] is kept for its backward anyway
            if gap > read_at[source]:  # a restart after that backward: the exception above
                read.end, read.read_by_backward, read.choice = gap, False, True
            continue
        if source not in hidden:
            save = -1 if source < 0 else following[source]
            choice = internal_has_output and source >= 0  # h[k], or s[k] if that is lower
            step = 0 if source < 0 else log[source][1]
            hidden[source] = Kept(step, save, gap, read_by_backward=False,
                                   internal_until=save, choice=choice, floor=save)  # fmt: skip
        hidden[source].end = gap
        restored[gap] = hidden[source]
    for kept in hidden.values():
        if kept.choice:
            kept.turn_gap = next_restart(restore_gaps, kept.save, kept.end)
    for source, kept in internal.items():
        if kept.choice:  # internal up to its backward, then until a restart gap at least
            kept.turn_gap = next_restart(restore_gaps, read_at[source], kept.end)
            kept.floor = kept.internal_until = kept.end if kept.turn_gap is None else kept.turn_gap
    return list(internal.values()) + list(hidden.values()), restored


ONE_RUN = (
    "a call after backward 1 completed the run: a log holds one run (a forward sweep and its "
    "backward), so use a new log, or clear it, for each run, an evaluation pass after the "
    "training step included"
)


def refused(index: int, op: str, step: object, why: str) -> PlanError:
    """The PlanError of a call log, at ``calls[index]`` (the caller's list), or at its end."""
    error = PlanError(index, op, step, why)
    where = (
        f"calls[{index}] ({op} {step})"
        if op != "end"
        else f"the end of calls (index {index} = len(calls))"
    )
    error.args = (f"{where}: {why}",)
    return error


def out_of_order_hint(step: int, expected: int, latest: dict[int, int]) -> str:
    """Why a backward may come out of order in a real loop: a ``steps`` too large, or a
    second backward pass over the same graph (a backward of an earlier step before the
    later ones are reversed)."""
    if expected not in latest:  # then nothing was reversed yet: expected is steps
        reached = max(latest, default=0)
        return (
            f"; no forward computed step {expected}, the forwards reached step {reached} "
            f"only: is steps={expected} right?"
        )
    if step < expected:
        return (
            f"; backward {step} comes while steps {expected}..{step + 1} are still to be "
            "reversed: did the loop run backward more than once over its graph (a loss per "
            "part)? One backward must cover the whole loss (add the losses first)"
        )
    return ""


def unfinished_hint(log: list[tuple[str, int]], unreversed: int) -> str:
    """Why a real loop's log may stop short of backward 1."""
    if not any(op == BACKWARD for op, _ in log):
        return "; no backward was logged: was the loss differentiated through the logged steps?"
    return (
        f"; the backward stopped after step {unreversed + 1}: the gradient may not reach "
        f"step {unreversed}'s input state (differentiate with respect to it, or to something "
        "the steps read, and make sure the loss depends on them)"
    )


def next_restart(restore_gaps: list[int], after: int, before: int) -> int | None:
    """The first restart gap after ``after``, if it comes before ``before``."""
    later = bisect.bisect_right(restore_gaps, after)
    found = restore_gaps[later] if later < len(restore_gaps) else None
    return found if found is not None and found < before else None


class Gaps:
    """The peak of the trace for a choice of internal states. It is reached in a gap before
    a forward call: after a call the load only falls until the next such gap."""

    def __init__(self, count: int, kept: list[Kept], restored: dict[int, Kept], grains: Grains):
        self.count, self.kept, self.restored = count, kept, restored
        self.hidden, self.internal = grains.hidden, grains.internal
        self.forward_gaps = sorted({k.save for k in kept if k.save >= 0} | set(restored))
        self.saved_at: dict[int, list[Kept]] = {}
        for k in kept:
            self.saved_at.setdefault(k.save, []).append(k)

    def loads(self) -> tuple[list[int], dict[int, int]]:
        """Grains held as each gap starts (after the free of a backward's state), and the
        grains each gap gains back by turning internal states hidden."""
        change = [0] * (self.count + 2)
        turned: dict[int, int] = {}
        for k in self.kept:
            size = self.internal if k.saved_internal else self.hidden
            change[k.save + 1] += size
            if k.saved_internal and k.internal_until < k.end:  # hidden after its turn
                change[k.internal_until + 1] += self.hidden - self.internal
                turned[k.internal_until] = turned.get(k.internal_until, 0) + size - self.hidden
                size = self.hidden
            change[k.end + 1] -= size
        held, total = [], 0
        for delta in change[: self.count + 1]:
            total += delta
            held.append(total)
        return held, turned

    def peak(self, gap: int, entering: int, turned: int) -> int:
        """The fullest moment of ``gap`` (``gap_actions`` has the order): the hidden saves
        first (the cursor is about to move), then the turns, which free ``turned`` grains,
        then the restore; an internal save waits until an internal state restored for the
        last time is freed (``restore_internal`` keeps the core), else goes before it."""
        saved = self.saved_at.get(gap, ())
        hidden_saves = sum(self.hidden for k in saved if not k.saved_internal)
        internal_saves = sum(self.internal for k in saved if k.saved_internal)
        source = self.restored.get(gap)
        if source is not None and last_restore(source, gap) and source.internal_at(gap):
            internal_saves = max(0, internal_saves - self.internal)
        return entering + hidden_saves + max(0, internal_saves - turned)

    def highest(self) -> int:
        held, turned = self.loads()
        peaks = [self.peak(g, held[g], turned.get(g, 0)) for g in self.forward_gaps]
        return max([self.hidden, *peaks])

    def fits(self, budget: int) -> bool:
        """Whether some choice of internal states keeps every gap within ``budget``; if so,
        leave the least one (every choice that fits keeps at least these internal)."""
        for k in self.kept:
            if k.choice:
                k.internal_until = k.floor
        while True:
            held, turned = self.loads()
            over = [
                g for g in self.forward_gaps if self.peak(g, held[g], turned.get(g, 0)) > budget
            ]
            if not over:
                return True
            # states made internal this round only raise the loads: deciding on the loads
            # from before the round forces nothing that is not forced
            for gap in over:
                still_over = self.peak(gap, held[gap], turned.get(gap, 0)) > budget
                if still_over and not self._force(gap, held[gap], turned.get(gap, 0), budget):
                    return False

    def _force(self, gap: int, entering: int, turned: int, budget: int) -> bool:
        """Make internal what every choice within ``budget`` makes internal at ``gap``: the
        state saved there (it then waits for the free of an internal state restored there),
        and if that is not enough, the state restored there for the last time (making only
        that one internal adds to the gap, so any fitting choice has both). False when there
        is nothing left to make internal: then no choice fits."""
        saved = next((k for k in self.saved_at.get(gap, ()) if k.choice), None)
        if saved is not None and not saved.saved_internal:
            saved.internal_until = saved.end if saved.turn_gap is None else saved.turn_gap
            if self.peak(gap, entering, turned) <= budget:
                return True
        source = self.restored.get(gap)
        if source is None or not source.choice or not last_restore(source, gap):
            return False
        if source.internal_at(gap):
            return False
        source.internal_until = source.end  # whether that is enough, the next round tells
        return True


def last_restore(k: Kept, gap: int) -> bool:
    return not k.read_by_backward and k.end == gap


def choose_least_peak(
    log: list[tuple[str, int]], kept: list[Kept], restored: dict[int, Kept], grains: Grains
) -> int:
    """Set which restart states are kept internal so that the peak is least, and return
    that peak in grains (bisection: a peak that fits stays fitting when raised)."""
    gaps = Gaps(len(log), kept, restored, grains)
    low, high = grains.hidden, gaps.highest()  # all hidden fits its own peak
    if not any(k.choice for k in kept):
        return high
    while low < high:
        middle = (low + high) // 2
        if gaps.fits(middle):
            high = middle
        else:
            low = middle + 1
    gaps.fits(low)
    return low


def gap_actions(gap: int, saved, turning, restored: dict[int, Kept]) -> list[Action]:
    """The actions of the gap before forward call ``gap``."""
    actions = [Action(SAVE_HIDDEN, k.step) for k in saved if not k.saved_internal]
    internal_saves = [Action(SAVE_INTERNAL, k.step) for k in saved if k.saved_internal]
    source = restored.get(gap)
    # the restored state turns last, so the cursor stays where the forward needs it
    for k in sorted(turning, key=lambda k: k is source):
        actions += [
            Action(RESTORE_INTERNAL, k.step),
            Action(FREE_INTERNAL, k.step),
            Action(SAVE_HIDDEN, k.step),
        ]
    if source is None or source in turning:
        return actions + internal_saves
    last = last_restore(source, gap)
    internal = source.internal_at(gap)
    restore = Action(RESTORE_INTERNAL if internal else RESTORE_HIDDEN, source.step)
    free = [Action(FREE_INTERNAL if internal else FREE_HIDDEN, source.step)] if last else []
    if internal and last:  # restore_internal keeps the core: free first, then save it
        return actions + [restore, *free, *internal_saves]
    return actions + internal_saves + [restore, *free]
