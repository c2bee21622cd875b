"""The ``optimal`` model (docs/model.md, *model="optimal"*): the true minimum number of
forward evaluations under the action rules, for HSM, ISM and MSM.

Three kinds of sub-problem "reverse ``t`` steps after position ``a`` with ``M``
grains free" (a hidden state is ``H`` grains, an internal state ``A``) differ only in how
the start state h[a] is available:

    S[t, M]  h[a] is saved, counted in M, and freed at its last use
    P[t, M]  the cursor is at h[a] but nothing holds it: keeping it costs a save
    R[t, M]  h[a] comes free from a saved s[a] held outside (internal_has_output)

Splitting at the first state saved during the first sweep from ``a``
(``X`` = R when the internal state has the output, else P):

    S = min( t + S[t-1, M]                               run to the end
             y + S[y, M] + P[t-y, M-H]                   run y steps, h[a] kept for the left part
             1 + X[t-1, M-A]                             save s[a+1], h[a] freed: last use
             y + S[y-1, M] + X[t-y, M-H-A] )      y >= 2 save s[y]; step y reversed from it
    P = min( S[t, M]  (save h[a]),   1 + X[t-1, M-A] )
    R = min( t + R[t-1, M],  y + R[y, M] + P[t-y, M],
             1 + R[t-1, M-A],  y + R[y-1, M] + R[t-y, M-A] )

HSM allows no internal saves (then S = P and it equals the binomial closed
form), ISM no hidden saves except the initial h[0]. Tests prove S[T, m] equal to
an exhaustive search over all valid plans for every small case.

The tables leave out the last option of S and of R. Running y - 1 steps with h[a]
kept for the left part, and then P's own save of s[y], costs

    (y-1) + S[y-1, M] + P[t-y+1, M-H]  <=  y + S[y-1, M] + X[t-y, M-H-A]

because P[t', M'] <= 1 + X[t'-1, M'-A]; the two emit the same actions (for R: P[t-y+1, M]
<= 1 + R[t-y, M-A] with X = R). The plain recursions in ``recursions`` keep every
option, and the tests compare them with these tables entry by entry.
"""

from __future__ import annotations

from mini_bptt.planning.actions import (
    BACKWARD,
    FORWARD,
    FREE_HIDDEN,
    SAVE_HIDDEN,
    SAVE_INTERNAL,
    Action,
)
from mini_bptt.planning.emitter import Emitter
from mini_bptt.planning.engine import BreakpointTables, best_split_option
from mini_bptt.planning.table_cache import TableCache
from mini_bptt.planning.table_spec import (
    Progress,
    Run,
    Same,
    Single,
    Split,
    TableSpec,
)
from mini_bptt.planning.units import Grains


def optimal_specs(strategy: str, grains: Grains, internal_has_output: bool) -> dict[str, TableSpec]:
    H, A = grains.hidden, grains.internal
    hidden_ok, internal_ok = strategy in ("hsm", "msm"), strategy in ("ism", "msm")
    X = "R" if internal_has_output else "P"
    s_options: list = [Run("S"), Split("S", 0, "P", H)]
    # P tries its own Single first: saving h[a] only for S to free it at once is a
    # wasted pair of actions, at the same cost
    p_options: list = [Single(X, A)] if internal_ok else []
    specs = {}
    if hidden_ok:
        p_options.append(Same("S"))
    if internal_ok:
        s_options.append(Single(X, A))
    specs["S"] = TableSpec("S", H, tuple(s_options))
    if internal_ok and internal_has_output:
        r_options = (Run("R"), Split("R", 0, "P", 0), Single("R", A))
        specs["R"] = TableSpec("R", 0, r_options)
    specs["P"] = TableSpec("P", 0, tuple(p_options))
    return specs


OPTIMAL_TABLES = TableCache(
    lambda strategy, grains, internal_has_output: BreakpointTables(
        tuple(optimal_specs(strategy, grains, internal_has_output).values())
    )
)


def optimal_tables(strategy: str, grains: Grains, internal_has_output: bool):
    """``with optimal_tables(...) as tables:`` the shared, growing tables for one strategy,
    unit size and output flag, held by this thread inside the block (``table_cache``)."""
    return OPTIMAL_TABLES.using(strategy, grains, internal_has_output)


def optimal_cost(
    tables: BreakpointTables, steps: int, budget: int, progress: Progress | None = None
) -> int:
    """Minimum forward count for ``steps`` with ``budget >= grains.hidden`` grains (h[0]
    included)."""
    tables.ensure(steps, budget, progress)
    return tables.value("S", steps, budget)


def optimal_actions(
    tables: BreakpointTables, steps: int, budget: int, grains: Grains
) -> list[Action]:
    """Actions of a plan reaching ``optimal_cost``; each task mirrors one option above.
    (``optimal_cost`` fills the tables, with progress; here they are only read.)"""
    tables.ensure(steps, budget)
    out = Emitter()
    emit_segment(out, tables, grains, "S", 0, steps, budget)
    return out.actions


def emit_segment(
    out: Emitter, tables: BreakpointTables, grains: Grains, kind: str, a: int, t: int, m: int
) -> None:
    """Emit the plan of table ``kind`` (S, P or R) for the ``t`` steps after position ``a``
    with ``m`` grains: the whole sequence (``optimal_actions``) or one segment of a reversal
    from a stored set (``reversal.Reversal.actions``). The tables must be filled that far."""
    if t == 0:
        return
    specs = tables.by_name
    H, A = grains.hidden, grains.internal

    def sub(kind: str, a: int, t: int, m: int):
        if kind == "P":
            return lambda: solve_p(a, t, m)
        return lambda: solve_start(kind, a, t, m)

    def save_then_reverse(kind: str, y: int, t: int, m: int):
        """Save s[y]; solve the part right of y as ``kind``; reverse y from s[y]."""
        out.emit(SAVE_INTERNAL, y)
        out.then(sub(kind, y, t, m), lambda: out.reverse_saved_internal(y))

    def solve_start(kind: str, a: int, t: int, m: int) -> None:
        """S (h[a] saved, this task frees it) or R (s[a] saved outside, restart for free)."""
        owns_start = kind == "S"
        held = H if owns_start else 0  # what the start occupies while the right part runs
        out.start_at(a)
        if t == 1:
            if owns_start:
                out.emit(FREE_HIDDEN, a)  # its last use is the next forward, from the cursor
            out.emit(FORWARD, a + 1)
            out.emit(BACKWARD, a + 1)
            return
        option, y = best_split_option(tables, specs[kind], t, m)
        if isinstance(option, Run):
            out.forward_to(a + t)
            out.emit(BACKWARD, a + t)
            out.then(sub(kind, a, t - 1, m))
        elif isinstance(option, Single):
            if owns_start:
                out.emit(FREE_HIDDEN, a)  # its last use is the next forward, from the cursor
            out.emit(FORWARD, a + 1)
            save_then_reverse(option.table, a + 1, t - 1, m - A)
        else:  # the split: run y steps, h[a] kept for the left part
            out.forward_to(a + y)
            out.then(sub("P", a + y, t - y, m - held), sub(kind, a, y, m))

    def solve_p(a: int, t: int, m: int) -> None:  # cursor at h[a], nothing holds it
        if t == 1:
            out.emit(FORWARD, a + 1)
            out.emit(BACKWARD, a + 1)
            return
        option, _ = best_split_option(tables, specs["P"], t, m)
        if isinstance(option, Same):
            out.emit(SAVE_HIDDEN, a)
            out.then(sub("S", a, t, m))
        else:
            out.emit(FORWARD, a + 1)
            save_then_reverse(option.table, a + 1, t - 1, m - A)

    out.run(sub(kind, a, t, m))
