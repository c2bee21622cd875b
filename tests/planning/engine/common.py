"""What the engine's tests share: the table sets the planner builds and some it does not,
both engines filled, and every entry of a table read out."""

from __future__ import annotations

import numpy as np

from mini_bptt.planning.dp_optimal import optimal_specs
from mini_bptt.planning.dp_paper import paper_spec
from mini_bptt.planning.engine import BreakpointTables, sizing
from mini_bptt.planning.engine.reference import DPTables
from mini_bptt.planning.table_spec import Run, Single, Split, TableSpec

ENGINES = [DPTables, BreakpointTables]
ALPHAS = [1, 1.5, 2, 7 / 3, 4.5, 5]

# The breakpoint argument holds for any options, not only the planner's: table sets whose
# splits have no run to tie with, a larger least split point, columns that turn feasible
# again, a split with no shift
UNUSUAL_TABLE_SETS = {
    "internal split only": (TableSpec("C", 1, (Split("C", -1, "C", 2),)),),
    "hidden split only": (TableSpec("C", 1, (Split("C", 0, "C", 1),)),),
    "split from y = 3": (TableSpec("C", 1, (Run("C"), Split("C", -1, "C", 3, y_min=3))),),
    "columns that turn feasible again, read by splits": (
        # D is filled first in each row, so a split reading D's row t - 3 must find it in
        # D's ring of recent rows, which has moved on by then; the Singles need more than
        # the width: they only give rows 2 (and 3) an option
        TableSpec("D", 1, (Run("D"), Split("D", 0, "D", 1))),
        TableSpec("F2", 0, (Single("D", 50), Split("D", 0, "D", 1, y_min=2))),
        TableSpec("F3", 0, (Single("D", 50), Split("D", 0, "D", 1, y_min=3))),
        TableSpec("E", 0, (Run("E"), Split("F3", 0, "F2", 1), Split("F2", -1, "F3", 1))),
    ),
    # two sets from a random search over small table sets: the first needs right-part
    # breakpoints at row 2, the second left-part candidates in a split's least column
    "three tables, splits reading each other (1)": (
        TableSpec("A", 2, (Run("A"), Single("A", 2), Split("A", -1, "C", 2))),
        TableSpec("B", 2, (Run("B"), Single("B", 2), Split("A", -1, "A", 2, y_min=2))),
        TableSpec("C", 2, (Single("C", 1), Split("B", 0, "A", 1))),
    ),
    "three tables, splits reading each other (2)": (
        TableSpec(
            "A", 1, (Single("C", 2), Split("C", 0, "B", 1), Split("C", -1, "A", 3), Single("A", 1))
        ),
        TableSpec("B", 1, (Single("C", 2), Split("B", -1, "B", 2, y_min=2), Split("C", 0, "C", 0))),
        TableSpec("C", 1, (Single("B", 1), Single("B", 2), Split("B", -1, "A", 0), Single("B", 3))),
    ),
    "two tables, a split with no shift": (
        TableSpec("A", 1, (Split("A", 0, "B", 1), Single("B", 2))),
        TableSpec("B", 0, (Run("B"), Split("B", -1, "A", 0))),
    ),
    # a left-part breakpoint that is the unique minimum on the first row it may be
    # (B[6, 2]): a candidate offered one row late changes B, C and A
    "three tables, a left breakpoint needed on its first row": (
        TableSpec("A", 0, (Single("C", 1), Split("C", 0, "A", 2, y_min=2))),
        TableSpec("B", 0, (Run("B"), Split("A", -1, "C", 0, y_min=3))),
        TableSpec("C", 2, (Run("C"), Split("B", -1, "A", 1, y_min=2))),
    ),
    # B is quadratic in every column (only Run is feasible), so its columns turn dense and
    # A's right part never does: A is bisected only where its right part is convex too
    "a split whose left part alone is dense": (
        TableSpec("A", 1, (Run("A"), Split("B", 0, "A", 1))),
        TableSpec("B", 1, (Run("B"), Single("A", 50))),
    ),
}


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
