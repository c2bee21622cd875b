"""The paper's recursions (docs/model.md, *model="paper"*): BPTT-HSM, BPTT-ISM, BPTT-MSM.

Memory is in grains (a hidden state ``H`` grains, an internal state ``A``
grains); ``C[t, M]`` is the paper's ``C(t, m)`` with the start state held in one
of the ``M`` grains for the whole sub-problem:

    Q0(t, m)    = t + C(t - 1, m)                                    run to the end
    Q1(t, m, y) = y + C(y, m)     + C(t - y, m - 1)       (HSM, MSM)  save h[y]
    Q2(t, m, y) = y + C(y - 1, m) + C(t - y, m - alpha)   (ISM, MSM)  save s[y]

HSM is never tabulated: its cost and split point come from the closed form.
"""

from __future__ import annotations

from mini_bptt.planning.actions import BACKWARD, FREE_HIDDEN, SAVE_HIDDEN, SAVE_INTERNAL, Action
from mini_bptt.planning.emitter import Emitter
from mini_bptt.planning.engine import BreakpointTables, best_split_option
from mini_bptt.planning.hsm_closed_form import hsm_split
from mini_bptt.planning.table_cache import TableCache
from mini_bptt.planning.table_spec import Progress, Run, Split, TableSpec
from mini_bptt.planning.units import Grains


def paper_spec(strategy: str, grains: Grains) -> TableSpec:
    H, A = grains.hidden, grains.internal
    options: list = [Run("C")]
    if strategy == "msm":
        options.append(Split("C", 0, "C", H))  # Q1
    options.append(Split("C", -1, "C", A))  # Q2
    return TableSpec("C", H, tuple(options))


PAPER_TABLES = TableCache(
    lambda strategy, grains: BreakpointTables((paper_spec(strategy, grains),))
)


def paper_tables(strategy: str, grains: Grains):
    """``with paper_tables(...) as tables:`` the shared, growing tables for the paper's ISM
    or MSM with these grains, held by this thread inside the block (``table_cache``)."""
    return PAPER_TABLES.using(strategy, grains)


def paper_cost(
    tables: BreakpointTables, steps: int, budget: int, progress: Progress | None = None
) -> int:
    """C(steps, budget grains) of the paper's recursion for ISM or MSM; ``budget >= grains.hidden``.
    (HSM has its closed form, ``hsm_cost``.)"""
    tables.ensure(steps, budget, progress)
    return tables.value("C", steps, budget)


def paper_actions(
    strategy: str, steps: int, budget: int, grains: Grains, tables: BreakpointTables | None = None
) -> list[Action]:
    """Actions realising the paper's optimal policy: the start of every sub-problem is held.
    No split leaves a one-step right part (whose saved start would go unused): it costs what
    the run costs, and the run is preferred. (``paper_cost`` fills the tables, with
    progress; here they are only read; HSM needs no tables.)"""
    H = grains.hidden
    if strategy != "hsm":
        tables.ensure(steps, budget)
        spec = tables.specs[0]
    out = Emitter()

    def choose(t: int, m: int) -> tuple[str, int]:
        if strategy == "hsm":
            slots = m // H
            # two steps: the split at y = 1 would cost what the run costs (3 forwards)
            return ("run", 0) if slots == 1 or t == 2 else ("hidden", hsm_split(t, slots))
        option, y = best_split_option(tables, spec, t, m)
        if isinstance(option, Run):
            return "run", 0
        return ("hidden" if option.lo == 0 else "internal"), y

    def solve(a: int, t: int, m: int) -> None:
        if t == 0:
            return
        out.start_at(a)
        kind, y = ("run", 0) if t == 1 else choose(t, m)
        if kind == "run":
            out.forward_to(a + t)
            out.emit(BACKWARD, a + t)
            out.then(lambda: solve(a, t - 1, m))
        elif kind == "hidden":
            out.forward_to(a + y)
            out.emit(SAVE_HIDDEN, a + y)
            out.then(
                lambda: solve(a + y, t - y, m - H),
                lambda: out.emit(FREE_HIDDEN, a + y),
                lambda: solve(a, y, m),
            )
        else:
            out.forward_to(a + y)
            out.emit(SAVE_INTERNAL, a + y)
            out.then(
                lambda: solve(a + y, t - y, m - grains.internal),
                lambda: out.reverse_saved_internal(a + y),
                lambda: solve(a, y - 1, m),
            )

    return out.run(lambda: solve(0, steps, budget))
