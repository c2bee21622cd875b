"""What the engine's tests share: the table sets the planner builds, both engines filled,
and every entry of a table read out."""

from __future__ import annotations

import numpy as np

from mini_bptt.planning.dp_optimal import optimal_specs
from mini_bptt.planning.dp_paper import paper_spec
from mini_bptt.planning.engine import BreakpointTables, sizing
from mini_bptt.planning.engine.reference import DPTables

ENGINES = [DPTables, BreakpointTables]
ALPHAS = [1, 1.5, 2, 7 / 3, 4.5, 5]


def configurations():
    """(model, strategy, internal_has_output) of every table the planner builds."""
    paper = [("paper", s, True) for s in ("ism", "msm")]
    return paper + [("optimal", s, f) for s in ("hsm", "ism", "msm") for f in (True, False)]


def specs_of(model: str, strategy: str, output: bool, units):
    if model == "paper":
        return (paper_spec(strategy, units),)
    return tuple(optimal_specs(strategy, units, output).values())


def use_blocks(monkeypatch, rows: int) -> None:
    """Blocks of ``rows`` rows for tables of any width."""
    monkeypatch.setattr(sizing, "BLOCK", rows)
    monkeypatch.setattr(sizing, "NARROW_BLOCK", rows)


def both_engines(specs, steps: int, width: int, **hooks) -> tuple[DPTables, BreakpointTables]:
    """The full search and the breakpoint engine (given ``hooks``), both filled to ``steps``
    and ``width``."""
    full, fast = DPTables(specs), BreakpointTables(specs, **hooks)
    full.ensure(steps, width)
    fast.ensure(steps, width)
    return full, fast


def entries(tables, name: str, steps: int, width: int) -> np.ndarray:
    """Every entry ``[t, M]`` for t <= steps, M <= width; infeasible ones as -1."""
    values = np.array(
        [[tables.value(name, t, m) for m in range(width + 1)] for t in range(steps + 1)]
    )
    return np.where(values >= tables.inf, -1, values)


def assert_engines_agree(specs, steps: int, width: int, **hooks) -> BreakpointTables:
    """Fill both engines to ``steps`` and ``width``, check every entry of every table is
    equal, and return the breakpoint engine."""
    full, fast = both_engines(specs, steps, width, **hooks)
    for spec in specs:
        expected = entries(full, spec.name, steps, width)
        assert np.array_equal(entries(fast, spec.name, steps, width), expected), spec.name
    return fast


def assert_nonconvex_rows_are_the_last_rows_not_convex(fast: BreakpointTables) -> None:
    """``nonconvex`` against its definition, over every row searched at once: the last row
    whose entry and neighbours are neither finite with a second difference >= 0 nor all
    infinite."""
    for name, table in fast.tab.items():
        rows = np.minimum(table[:, : fast.searched + 2].astype(np.int64), fast.inf)
        triples = np.stack([rows[:, :-2], rows[:, 1:-1], rows[:, 2:]])  # rows 1..searched
        finite, infinite = (triples < fast.inf).all(axis=0), (triples >= fast.inf).all(axis=0)
        convex = finite & (triples[2] - 2 * triples[1] + triples[0] >= 0)
        found = fast.table_breakpoints[name].nonconvex
        for column in range(fast.cols):
            bad = 1 + np.flatnonzero(~(convex | infinite)[column])
            assert found[column] == max(bad, default=-1), (name, column)
