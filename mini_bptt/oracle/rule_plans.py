"""Plans that together exercise every rule of docs/model.md (*Actions*): a test set for
another implementation of checkpointed BPTT.

``rule_covering_plans`` picks, from the planner's plans and two rewrites of them that keep
to the rules (``early_restores``, ``core_saved_after_restore``), a small set that takes
every path named in ``rule_patterns.PATTERNS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from mini_bptt.common import arguments
from mini_bptt.common.arguments import ResourceLimitError
from mini_bptt.oracle.rule_patterns import (
    MAX_STEPS,
    MIN_STEPS,
    PATTERNS,
    RESTORES,
    moments,
    only_core_holds,
    plan_patterns,
)
from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_INTERNAL,
    RESTORE_INTERNAL,
    SAVE_INTERNAL,
    Action,
)
from mini_bptt.planning.plan import InfeasibleMemoryError, plan
from mini_bptt.planning.plan_value import Plan
from mini_bptt.planning.replay import Replay
from mini_bptt.planning.units import grains_for

# -- the set ------------------------------------------------------------------------------------


def rule_covering_plans(steps: int, *, alpha: int | float | Fraction = 1) -> tuple[Plan, ...]:
    """A few valid plans that together take every path of ``PATTERNS``: the set to run
    another implementation against.

    The candidates are the planner's plans: the fixed shapes (``bptt``, ``recompute``,
    ``chen``, ``chen-recursive``) and HSM, ISM and MSM with both models, both values of
    ``internal_has_output`` and budgets from ``h[0]`` alone to full BPTT's peak; and two
    rewrites of each that keep to the rules: ``early_restores`` (the same saves, frees and
    forwards, each restore taken earlier) and ``core_saved_after_restore`` (then one core
    saved right after a restore_internal). The plan that takes the most patterns not yet
    taken is chosen, the one with fewer actions on a tie, until every pattern is taken; then
    each plan whose patterns the others all take is dropped, longest first. So removing any
    plan of the set loses a pattern.

    Parameters
    ----------
    steps : int
        Sequence length T, from 5 (fewer steps leave no room for some patterns) to 100
        (the candidates are planned afresh on each call: about a second at T = 50 for a
        small-denominator alpha).
    alpha : int, float or Fraction
        Internal-state size in hidden-state units, as for ``plan``.

    Returns
    -------
    tuple of Plan
        Valid plans, each within its own ``memory``; ``plan_patterns`` of each says which
        patterns it takes. The ``strategy`` label says where a plan comes from ("msm",
        "msm+early_restores", ...).

    Raises
    ------
    TypeError, ValueError
        For a ``steps`` or ``alpha`` out of range, named; ``ResourceLimitError`` (a
        ValueError) when the candidates' DP tables would pass the limits of
        ``resource_limits`` (an alpha of large denominator or size).

    Examples
    --------
    >>> import mini_bptt as mb
    >>> from mini_bptt.oracle.rule_plans import PATTERNS, plan_patterns, rule_covering_plans
    >>> plans = rule_covering_plans(8, alpha=2)
    >>> set().union(*map(plan_patterns, plans)) == set(PATTERNS)
    True
    >>> all(mb.check(p.actions, p.steps, p.memory, alpha=p.alpha,
    ...              internal_has_output=p.internal_has_output).valid for p in plans)
    True
    """
    steps = arguments.count("steps", steps, minimum=MIN_STEPS, maximum=MAX_STEPS)
    grains_for(alpha)  # the planner's own check, before any plan is made
    try:
        candidates = [(p, plan_patterns(p)) for p in _candidates(steps, alpha)]
    except ResourceLimitError as exc:
        raise ResourceLimitError(
            f"rule_covering_plans(steps={steps}, alpha={arguments.shown(alpha)}) plans ISM and "
            f"MSM candidates: {exc}"
        ) from None
    # fewer actions first: the cover prefers the earlier of two that take as many patterns
    candidates.sort(key=lambda c: len(c[0].actions))
    chosen = smallest_cover(candidates, set(PATTERNS))
    if chosen is None:
        taken = set().union(*(t for _, t in candidates))
        raise ValueError(
            f"no candidate plan for steps={steps}, alpha={arguments.shown(alpha)} takes "
            f"{', '.join(sorted(set(PATTERNS) - taken))}"
        )
    return tuple(chosen)


def smallest_cover(candidates: Sequence[tuple], universe: set) -> list | None:
    """Items that together take all of ``universe``, none of them redundant; None if all
    the candidates together do not.

    ``candidates`` are ``(item, taken)`` pairs, ``taken`` a set, in order of preference.
    Greedy: the item that takes the most not yet taken, the earlier on a tie, until all is
    taken. Greedy can leave an item that later ones made redundant (``{1,2,3,4}`` first,
    then ``{1,2,5}`` and ``{3,4,6}``), so then each is dropped, the least preferred first,
    if the others still take everything.
    """
    chosen: list[tuple] = []
    uncovered = set(universe)
    while uncovered:
        best = max(candidates, key=lambda c: len(c[1] & uncovered), default=None)
        if best is None or not best[1] & uncovered:
            return None
        chosen.append(best)
        uncovered -= best[1]
    rank = {id(c): k for k, c in enumerate(candidates)}
    for entry in sorted(chosen, key=lambda c: -rank[id(c)]):
        others = [c for c in chosen if c is not entry]
        if set().union(*(c[1] for c in others)) >= universe:
            chosen = others
    return [item for item, _ in chosen]


def _candidates(steps: int, alpha) -> list[Plan]:
    """The planner's plans over strategies, models, flags and budgets, and their rewrites."""
    grains = grains_for(alpha)
    H, A = grains.hidden, grains.internal
    full = grains.whole_grains(1 + grains.alpha * (steps - 1))
    budgets = sorted(
        {H, 2 * H, 3 * H, H + A, 2 * H + A, 3 * H + A, H + 2 * A, 2 * H + 2 * A}
        | {max(H, full * percent // 100) for percent in (10, 20, 30, 50, 75, 100)}
    )
    found: list[Plan] = []
    seen: set[tuple[Action, ...]] = set()

    def keep(candidate: Plan | None) -> None:
        if candidate is not None and candidate.actions not in seen:
            seen.add(candidate.actions)
            found.append(candidate)

    for strategy in ("bptt", "recompute", "chen", "chen-recursive"):  # one shape each
        for output in (True, False):
            keep(plan(steps, "100%", alpha=alpha, strategy=strategy, internal_has_output=output))
    for strategy in ("hsm", "ism", "msm"):
        for model in ("optimal", "paper"):
            for output in (True, False):
                if model == "paper" and strategy != "hsm" and not output:
                    continue  # the paper's ISM and MSM restart from internal states
                for budget in budgets:
                    try:
                        base = plan(
                            steps,
                            Fraction(budget, H),
                            alpha=alpha,
                            strategy=strategy,
                            model=model,
                            internal_has_output=output,
                        )
                    except InfeasibleMemoryError:
                        continue
                    early = early_restores(base)
                    keep(base)
                    keep(early)
                    keep(core_saved_after_restore(early))
    return found


def early_restores(base: Plan) -> Plan | None:
    """``base`` with each restore taken before the backward and free_internal actions just
    before it, as far as the rules allow: past a backward that reads the core, a
    restore_hidden (which empties the core) stops; a restore_internal keeps the core and
    passes. The saved items after each action are the same, so the budget, the peak and
    the forward count are ``base``'s. None when no restore moves."""
    actions: list[Action] = []
    from_saved: list[bool] = []  # per action kept: a backward whose s[i] is saved then
    replay = Replay(base.steps, base.problem.grains, None, base.internal_has_output)
    moved = False
    for index, action in enumerate(base.actions):
        from_saved_now = action.op == BACKWARD and action.step in replay.internal
        replay.apply(index, action.op, action.step)
        if action.op not in RESTORES:
            actions.append(action)
            from_saved.append(from_saved_now)
            continue
        at = len(actions)
        while at and (
            actions[at - 1].op == FREE_INTERNAL
            or (
                actions[at - 1].op == BACKWARD
                and (action.op == RESTORE_INTERNAL or from_saved[at - 1])
            )
        ):
            if actions[at - 1].op == FREE_INTERNAL and actions[at - 1].step == action.step:
                break  # never happens in a valid plan; kept so the rewrite is always valid
            at -= 1
        moved |= at < len(actions)
        actions.insert(at, action)
        from_saved.insert(at, False)
    if not moved:
        return None
    return _variant(base, "early_restores", actions)


def core_saved_after_restore(base: Plan | None) -> Plan | None:
    """``base`` with, at its first ``restore_internal j; backward c; forward j+1`` where
    only the core holds ``s[c]`` (``c != j + 1``), the core saved right after the restore
    and reversed from that saved copy after the forward, then freed:
    ``restore_internal j; save_internal c; forward j+1; backward c; free_internal c``.
    The budget is ``base``'s, or the new peak if that is higher (by at most one internal
    state). None when ``base`` is None or has no such place."""
    if base is None:
        return None
    found = moments(base)
    for k, m in enumerate(found[:-2]):
        backward, forward = found[k + 1], found[k + 2]
        if (
            m.op == RESTORE_INTERNAL
            and backward.op == BACKWARD
            and only_core_holds(backward)
            and forward.op == FORWARD
            and forward.step == m.step + 1 != backward.step
        ):
            c = backward.step
            actions = list(base.actions)
            actions[k + 1 : k + 3] = [
                Action(SAVE_INTERNAL, c),
                actions[k + 2],
                Action(BACKWARD, c),
                Action(FREE_INTERNAL, c),
            ]
            budget = max(base.problem.budget, m.used + base.problem.grains.internal)
            return _variant(base, "core_saved_after_restore", actions, budget)
    return None


def _variant(base: Plan, name: str, actions: list[Action], budget: int | None = None) -> Plan:
    """A rewrite of ``base``: its steps, alpha and flag, ``budget`` grains (default:
    ``base``'s memory as given), and a label saying where it comes from."""
    grains = base.problem.grains
    memory = base.memory if budget is None else Fraction(budget, grains.hidden)
    return Plan(
        steps=base.steps,
        memory=memory,
        alpha=base.alpha,
        internal_has_output=base.internal_has_output,
        strategy=f"{base.strategy}+{name}",
        model=base.model,
        actions=tuple(actions),
    )
