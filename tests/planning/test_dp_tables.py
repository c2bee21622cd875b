"""The table engines equal the recursions written out plainly, the fast engine equals the
full search on every entry, and growing or re-typing the tables never changes a value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mini_bptt.planning import dp_breakpoints, limits
from mini_bptt.planning.dp_breakpoints import BreakpointTables, best_split_option
from mini_bptt.planning.dp_optimal import optimal_specs
from mini_bptt.planning.dp_paper import paper_spec
from mini_bptt.planning.dp_tables import DPTables, Run, Single, Split, TableSpec, best_option
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.planning.recursions import optimal_recursion, paper_recursion
from mini_bptt.planning.units import units_for

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
    monkeypatch.setattr(dp_breakpoints, "BLOCK", rows)
    monkeypatch.setattr(dp_breakpoints, "NARROW_BLOCK", rows)


def both_engines(specs, steps: int, width: int) -> tuple[DPTables, BreakpointTables]:
    """The full search and the breakpoint engine, both filled to ``steps`` and ``width``."""
    full, fast = DPTables(specs), BreakpointTables(specs)
    full.ensure(steps, width)
    fast.ensure(steps, width)
    return full, fast


def entries(tables, name: str, steps: int, width: int) -> np.ndarray:
    """Every entry ``[t, M]`` for t <= steps, M <= width; infeasible ones as -1."""
    values = np.array(
        [[tables.value(name, t, m) for m in range(width + 1)] for t in range(steps + 1)]
    )
    return np.where(values >= tables.inf, -1, values)


def assert_engines_agree(specs, steps: int, width: int) -> BreakpointTables:
    """Fill both engines to ``steps`` and ``width``, check every entry of every table is
    equal, and return the breakpoint engine."""
    full, fast = both_engines(specs, steps, width)
    for spec in specs:
        expected = entries(full, spec.name, steps, width)
        assert np.array_equal(entries(fast, spec.name, steps, width), expected), spec.name
    return fast


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("strategy", ["hsm", "ism", "msm"])
@pytest.mark.parametrize("output", [True, False])
@pytest.mark.parametrize("alpha", [1, 2.5, 4])
def test_optimal_tables_equal_the_plain_recursion(engine, strategy, output, alpha):
    units = units_for(alpha)
    tables = engine(tuple(optimal_specs(strategy, units, output).values()))
    tables.ensure(30, 12 * units.hidden)
    S = optimal_recursion(strategy, units, output)
    for t in range(31):
        for m in range(units.hidden, 12 * units.hidden + 1):
            assert tables.value("S", t, m) == S(t, m), (t, m)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("strategy", ["ism", "msm"])
@pytest.mark.parametrize("alpha", [1, 2.5, 4])
def test_paper_tables_equal_the_plain_recursion(engine, strategy, alpha):
    units = units_for(alpha)
    tables = engine((paper_spec(strategy, units),))
    tables.ensure(30, 12 * units.hidden)
    C = paper_recursion(strategy, units)
    for t in range(31):
        for m in range(units.hidden, 12 * units.hidden + 1):
            assert tables.value("C", t, m) == C(t, m), (t, m)


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_breakpoint_engine_equals_the_full_search_on_every_entry(alpha, model, strategy, output):
    """t <= 600 and every budget up to full BPTT's peak 1 + alpha (t - 1)."""
    units = units_for(alpha)
    steps = 600
    width = units.hidden + units.internal * (steps - 1)
    specs = specs_of(model, strategy, output, units)
    full, fast = both_engines(specs, steps, width)
    for spec in specs:
        expected = np.minimum(full.tab[spec.name][: steps + 1, full.off :], full.inf)
        got = np.minimum(fast.tab[spec.name][fast.off :, : steps + 1].T, fast.inf)
        expected = np.where(expected >= full.inf, -1, expected)
        got = np.where(got >= fast.inf, -1, got)
        mismatch = np.argwhere(expected[:, : width + 1] != got[:, : width + 1])
        assert len(mismatch) == 0, f"{spec.name}[t, M] differs at {mismatch[:5].tolist()}"


@pytest.mark.parametrize("alpha", [1, 7 / 3, 5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_both_engines_choose_the_same_split(alpha, model, strategy, output):
    """The same option and the smallest minimising split point, so plans are identical."""
    units = units_for(alpha)
    steps, width = 150, 40 * units.hidden
    specs = specs_of(model, strategy, output, units)
    full, fast = both_engines(specs, steps, width)
    for spec in specs:
        for t in range(2, steps + 1, 7):
            for m in range(spec.min_units, width + 1, 3):
                if full.value(spec.name, t, m) < full.inf:
                    chosen = best_split_option(fast, spec, t, m)
                    assert chosen == best_option(full, spec, t, m), (spec.name, t, m)


def breakpoint_rows(table: np.ndarray, inf: int) -> np.ndarray:
    """``[M, r]``: is row ``r`` of column ``M`` a breakpoint? Every row is, unless its two
    neighbours and itself are all finite and not convex there (second difference <= 0),
    or all infinite. Rows 0 and the last are not interior: False."""
    below, at, above = (table[:, k : table.shape[1] - 2 + k].astype(np.int64) for k in range(3))
    finite = (below < inf) & (at < inf) & (above < inf)
    infinite = (below >= inf) & (at >= inf) & (above >= inf)
    bent = ~((finite & (above - 2 * at + below <= 0)) | infinite)
    return np.pad(bent, ((0, 0), (1, 1)))


@pytest.mark.parametrize("alpha", [1, 7 / 3])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_a_split_is_read_back_over_its_ends_and_every_breakpoint(alpha, model, strategy, output):
    """The split points a plan is read back from are exactly the two ends of the range and
    the interior points where either part's column bends upwards (computed here from the
    full search's tables), with the values of the full search."""
    units = units_for(alpha)
    steps, width = 70, 25 * units.hidden
    specs = specs_of(model, strategy, output, units)
    full, fast = both_engines(specs, steps, width)
    column = {spec.name: full.tab[spec.name][: steps + 1, full.off :].T for spec in specs}
    bends = {name: breakpoint_rows(table, full.inf) for name, table in column.items()}
    for spec in specs:
        for option in (o for o in spec.options if isinstance(o, Split)):
            lo, shift = option.lo, option.shift
            for t in range(option.y_min + 1, steps + 1):
                y_all = np.arange(option.y_min, t)
                inner = (y_all > option.y_min) & (y_all < t - 1)
                for m in range(max(spec.min_units, shift), width + 1):
                    bent = (
                        bends[option.left][m][y_all + lo]
                        | bends[option.right][m - shift][t - y_all]
                    )
                    expected = y_all[~inner | bent]
                    y, values = fast.split_values(option, t, m)
                    assert np.array_equal(y, expected), (spec.name, option, t, m)
                    left, right = column[option.left][m], column[option.right][m - shift]
                    sums = left[y + lo].astype(np.int64) + right[t - y] + y
                    feasible = sums < full.inf
                    assert np.array_equal(values[feasible], sums[feasible])


@pytest.mark.parametrize("alpha", [1, 2.5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_columns_dense_early_give_the_same_entries(monkeypatch, alpha, model, strategy, output):
    """Columns called dense after 4 breakpoints: the middle of most splits is bisected."""
    monkeypatch.setattr(dp_breakpoints, "DENSE_MINIMUM", 4)
    monkeypatch.setattr(dp_breakpoints, "DENSE_FRACTION", 1000)
    units = units_for(alpha)
    steps, width = 200, 60 * units.hidden
    specs = specs_of(model, strategy, output, units)
    fast = assert_engines_agree(specs, steps, width)
    assert any(dense.any() for dense in fast.dense.values())


@pytest.mark.parametrize("alpha", [1, 7 / 3])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_without_dense_columns_the_candidates_alone_give_every_entry(
    monkeypatch, alpha, model, strategy, output
):
    """No column is ever bisected: every split is read from its ends and the breakpoint
    candidates only, which are sorted and merged many times on the way."""
    monkeypatch.setattr(dp_breakpoints, "DENSE_MINIMUM", 10**9)
    units = units_for(alpha)
    steps, width = 300, 80 * units.hidden
    specs = specs_of(model, strategy, output, units)
    fast = assert_engines_agree(specs, steps, width)
    assert not any(dense.any() for dense in fast.dense.values())


def grouped_values(groups, flat: np.ndarray, t0: int, rows: int):
    """(block, column, values on rows t0 .. t0 + rows - 1) of every finished group's
    candidates, evaluated one by one."""
    out = []
    for k in range(groups.finished):
        for column in range(groups.offsets.shape[1] - 1):
            run = slice(groups.offsets[k, column], groups.offsets[k, column + 1])
            for base, const in zip(groups.base[run], groups.const[run], strict=True):
                t = np.arange(t0, t0 + rows)
                values = flat[base + t].astype(np.int64) + int(const) + (t if groups.with_t else 0)
                out.append((k, column, values))
    return out


@pytest.mark.parametrize("alpha", [1, 7 / 3, 5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_group_bounds_hold_for_every_candidate_on_every_row_of_the_block(
    monkeypatch, alpha, model, strategy, output
):
    """The lemma the skipping rests on, checked candidate by candidate: on row t0 + i of
    a block, B times each grouped candidate's value is at least its group's bound plus
    i times the growth, and its rise since row t0 at least i times the growth. Some
    candidates meet both with equality, so a bound or a growth too high is seen."""
    # blocks of 5 rows start on every row of a coarse block of 16 in turn
    monkeypatch.setattr(dp_breakpoints, "BOUND_ROWS", 16)
    monkeypatch.setattr(dp_breakpoints, "BOUND_MINIMUM", 0)
    use_blocks(monkeypatch, 5)
    slack, growth_slack = [], []
    offer_groups = BreakpointTables._offer_groups

    def checking(self, key, option, offer, t0):
        offer_groups(self, key, option, offer, t0)  # finishes the groups due
        far = offer.into
        first, B = self.first_column[key], self.bound_rows
        bounds = self._group_bounds(option, t0, len(far), first)
        sides = zip(self.groups[key], (option.right, option.left), bounds, strict=True)
        for groups, part, (bound, growth) in sides:
            steps = np.arange(len(far))
            for k, column, values in grouped_values(groups, self.flat[part], t0, len(far)):
                at, grows = bound[k, column - first], growth[k, column - first]
                feasible = values < self.inf
                if feasible.all():  # the growth alone, from the block's first row
                    rise = B * (values - values[0]) - steps * grows
                    growth_slack.append(int(rise[1:].min(initial=10**18)))
                if at != dp_breakpoints.NO_BOUND:
                    above = B * values - at - steps * grows
                    slack.append(int(above[feasible].min(initial=10**18)))
        # the growth against the least rise over every row a split point of the block may
        # read on the way (left: y + lo in the block, right: r in the block), found by
        # enumerating them
        rows = np.arange(t0, t0 + len(far) - 1)
        tables = (self.tab[option.right], self.tab[option.left])
        for side, (table, (_, growth)) in enumerate(zip(tables, bounds, strict=True)):
            for k in range(1, self.groups[key][side].finished if len(rows) else 0):
                inner = np.arange(k * B, k * B + B)
                read = rows[:, None] - (inner[None, :] - option.lo if side == 0 else inner[None, :])
                read = read.ravel() + (option.lo if side == 1 else 0)
                columns = np.arange(first, self.cols) - (option.shift if side == 0 else 0)
                rise = table[columns][:, read + 1].astype(np.int64) - table[columns][:, read]
                finite = (table[columns][:, read + 1] < self.inf).all(axis=1)
                least = B * (rise.min(axis=1) + side)  # a right split point's y grows too
                assert (growth[k][finite] <= least[finite]).all(), (k, side)
                # and it is the least rise of the coarse blocks those rows lie in, exactly
                blocks = np.unique(read // B)
                known = np.where(blocks[:, None] < self.chord_blocks, 1, 0)
                name = option.right if side == 0 else option.left
                per_block = self.least_rise[name][blocks][:, columns] * known
                assert np.array_equal(growth[k], B * (per_block.min(axis=0) + side)), (k, side)

    monkeypatch.setattr(BreakpointTables, "_offer_groups", checking)
    units = units_for(alpha)
    fast = BreakpointTables(specs_of(model, strategy, output, units))
    fast.ensure(160, 40 * units.hidden)
    assert all(fast.monotone.values())
    assert min(slack) == 0
    assert min(growth_slack) == 0


def test_candidates_evaluated_a_few_at_a_time_give_every_entry(monkeypatch):
    """With room for the values of two candidates at a time on a block of 96 rows (the
    tables are narrow), every evaluation is cut into many pieces; every entry stays equal
    to the full search's."""
    monkeypatch.setattr(dp_breakpoints, "BLOCK_VALUES", 2 * dp_breakpoints.NARROW_BLOCK)
    pieces = []
    run_values = dp_breakpoints._run_values

    def recording(runs, t0, base, const):
        pieces.append(runs.shape[1] * len(base))
        return run_values(runs, t0, base, const)

    monkeypatch.setattr(dp_breakpoints, "_run_values", recording)
    specs = specs_of("optimal", "msm", True, units_for(2.5))
    assert_engines_agree(specs, steps=300, width=60)
    assert max(pieces) <= dp_breakpoints.BLOCK_VALUES and len(pieces) > 1000


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_columns_with_many_breakpoints_are_bisected_or_offered(
    monkeypatch, model, strategy, output
):
    """Columns called dense after 4 breakpoints (blocks of 8 rows): where both parts of a
    split are convex on the middle, its minimum there is bisected and none of the column's
    candidates is offered; elsewhere the candidates are offered as usual. Both happen, and
    every entry stays equal to the full search's."""
    monkeypatch.setattr(dp_breakpoints, "DENSE_MINIMUM", 4)
    monkeypatch.setattr(dp_breakpoints, "DENSE_FRACTION", 1000)
    use_blocks(monkeypatch, 8)
    bisected_offered, bisected_count, dense_offered = [], [], []
    run = dp_breakpoints._Offer.run

    def recording(self):
        for *_, dst in self.waiting:
            if self.bisected is not None:
                bisected_offered.append(int(self.bisected[dst].sum()))
        run(self)

    begin_block = BreakpointTables._begin_block

    def after_begin(self, t0, t1):
        begin_block(self, t0, t1)
        for (name, option), window in self.window.items():
            first = self.first_column[(name, option)]
            middle = window and window[4]
            left, right = self.dense[option.left], self.dense[option.right]
            s = option.shift
            dense = set(first + np.flatnonzero(left[first:] | right[first - s : self.cols - s]))
            columns = np.arange(self.cols - first)[middle[0]] if middle else []
            bisected = set(first + np.asarray(columns, dtype=int))
            assert bisected <= dense
            bisected_count.append(len(bisected))
            dense_offered.append(len(dense - bisected))

    monkeypatch.setattr(dp_breakpoints._Offer, "run", recording)
    monkeypatch.setattr(BreakpointTables, "_begin_block", after_begin)
    units = units_for(2.5)
    assert_engines_agree(specs_of(model, strategy, output, units), 200, 60 * units.hidden)
    assert sum(bisected_offered) == 0 and len(bisected_offered) > 0
    assert sum(bisected_count) > 0
    if strategy == "msm":  # its dense columns are not all convex
        assert sum(dense_offered) > 0


# The breakpoint argument holds for any options, not only the planner's: table sets whose
# splits have no run to tie with, a larger least split point, columns that turn feasible
# again, a split with no shift
UNUSUAL_TABLE_SETS = {
    "internal split only": (TableSpec("C", 1, (Split("C", -1, "C", 2),)),),
    "hidden split only": (TableSpec("C", 1, (Split("C", 0, "C", 1),)),),
    "split from y = 3": (TableSpec("C", 1, (Run("C"), Split("C", -1, "C", 3, y_min=3))),),
    "columns that turn feasible again, read by splits": (
        # D is filled first in each row, so a split reading D's row t - 3 finds that D's
        # ring of recent rows has moved on (the engine once read a stale row there); the
        # Singles need more than the width: they only give rows 2 (and 3) an option
        TableSpec("D", 1, (Run("D"), Split("D", 0, "D", 1))),
        TableSpec("F2", 0, (Single("D", 50), Split("D", 0, "D", 1, y_min=2))),
        TableSpec("F3", 0, (Single("D", 50), Split("D", 0, "D", 1, y_min=3))),
        TableSpec("E", 0, (Run("E"), Split("F3", 0, "F2", 1), Split("F2", -1, "F3", 1))),
    ),
    # two sets from a random search over small table sets: each caught an engine change
    # that every set above passed (right-part breakpoints only from row 3 on; no left-part
    # candidates in a split's least column)
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
    # from a longer random search: the only set of 3000 in which a left-part breakpoint is
    # the unique minimum on the first row it may be (B[6, 2]): a candidate offered one row
    # late changes B, C and A
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


# 4: columns turn dense within the 150 rows, so the bisection is taken too
@pytest.mark.parametrize("dense_minimum", [4, dp_breakpoints.DENSE_MINIMUM, 10**9])
@pytest.mark.parametrize("name", UNUSUAL_TABLE_SETS)
@pytest.mark.parametrize("block", [1, 5, dp_breakpoints.BLOCK, dp_breakpoints.NARROW_BLOCK])
@pytest.mark.parametrize("bound_rows", [8, dp_breakpoints.BOUND_ROWS])
def test_the_engine_equals_the_full_search_for_table_sets_the_planner_does_not_build(
    monkeypatch, name, dense_minimum, block, bound_rows
):
    """Blocks of 1 and 5 rows move every block boundary, where candidates fall due and the
    windows searched in full start; coarse blocks of 8 rows group the candidates (some
    sets have entries below the row before: no group may be skipped there)."""
    monkeypatch.setattr(dp_breakpoints, "DENSE_MINIMUM", dense_minimum)
    use_blocks(monkeypatch, block)
    monkeypatch.setattr(dp_breakpoints, "BOUND_ROWS", bound_rows)
    monkeypatch.setattr(dp_breakpoints, "BOUND_MINIMUM", 0)  # bound every group
    fast = assert_engines_agree(UNUSUAL_TABLE_SETS[name], steps=150, width=30)
    assert_last_bad_rows_are_the_last_rows_not_convex(fast)
    for table_name, table in fast.tab.items():  # two sets have a table that falls
        rises = np.diff(np.minimum(table[:, :151].astype(np.int64), fast.inf), axis=1)
        assert fast.monotone[table_name] == (rises >= 0).all(), table_name


def assert_last_bad_rows_are_the_last_rows_not_convex(fast: BreakpointTables) -> None:
    """``last_bad`` against its definition, over every row searched at once: the last row
    whose entry and neighbours are neither finite with a second difference >= 0 nor all
    infinite."""
    for name, table in fast.tab.items():
        rows = np.minimum(table[:, : fast.searched + 2].astype(np.int64), fast.inf)
        triples = np.stack([rows[:, :-2], rows[:, 1:-1], rows[:, 2:]])  # rows 1..searched
        finite, infinite = (triples < fast.inf).all(axis=0), (triples >= fast.inf).all(axis=0)
        convex = finite & (triples[2] - 2 * triples[1] + triples[0] >= 0)
        for column in range(fast.cols):
            bad = 1 + np.flatnonzero(~(convex | infinite)[column])
            assert fast.last_bad[name][column] == max(bad, default=-1), (name, column)


@pytest.mark.parametrize("model, strategy, output", configurations())
def test_the_last_rows_not_convex_are_found(model, strategy, output):
    specs = specs_of(model, strategy, output, units_for(2.5))
    fast = BreakpointTables(specs)
    fast.ensure(150, 30)
    assert_last_bad_rows_are_the_last_rows_not_convex(fast)


@pytest.mark.parametrize("option", [Split("C", 0, "C", 1), Split("C", -1, "C", 2, y_min=3)])
def test_the_middle_is_called_convex_only_when_no_row_it_reads_is_a_bad_point(option):
    """For a column whose only point that is not convex is row ``r``: the middle split
    points of a block (those the windows leave out) are bisected exactly when no row they
    read has ``r`` strictly inside, found by enumerating them; and the limit is tight."""
    fast = BreakpointTables((TableSpec("C", 0, (Run("C"), option)),))
    fast.ensure(100, 20)
    t0 = 64
    t1 = t0 + fast.block
    left_inside, right_inside = set(), set()
    for t in range(t0, t1):
        middle = range(t - t0 + option.y_min + 1, t0 - 1)  # up to t0 - 2
        if len(middle) >= 3:
            left_inside |= set(range(middle[0] + option.lo + 1, middle[-1] + option.lo))
            right_inside |= set(range(t - middle[-1] + 1, t - middle[0]))
    column = np.array([10])
    for side, inside in (("left", left_inside), ("right", right_inside)):
        claimed = []
        for r in range(-1, t0 - 1):
            fast.last_bad["C"][:] = -1
            fast.last_bad["C"][column - (option.shift if side == "right" else 0)] = r
            claimed.append(bool(fast._convex_middle(option, column)[0]))
            if claimed[-1]:
                assert r not in inside, (side, r)
        # bisected up to the row just below the first row read inside, and not from it on
        assert claimed == [r < min(inside) for r in range(-1, t0 - 1)], side


@pytest.mark.parametrize("option", [Split("C", 0, "C", 1), Split("C", -1, "C", 2, y_min=3)])
@pytest.mark.parametrize("seed", range(5))
def test_the_bisected_middle_is_the_least_value_over_exactly_the_middle(option, seed):
    """Columns that are convex on the rows the middle split points read and random (often
    far lower) elsewhere: the bisection's result is the least value over exactly those
    split points, found by a loop, at every row of blocks that start on many rows."""
    rng = np.random.default_rng(seed)
    fast = BreakpointTables((TableSpec("C", 0, (Run("C"), option)),))
    fast.ensure(100, 20)
    left_column, s, lo, y_min = 10, option.shift, option.lo, option.y_min
    for t0 in range(40, 68, 3):
        table = fast.tab["C"]
        table[:, :] = rng.integers(0, 50, size=table.shape)  # anything outside the middle
        rows = np.arange(1, t0 - 1)
        for column in (left_column, left_column - s):  # convex: rising steps
            steps = np.sort(rng.integers(-30, 30, size=len(rows)))
            table[column, rows] = 10_000 + np.cumsum(steps)
        minima = fast._middle_minima(option, np.array([left_column]), t0, t0 + fast.block)
        for t in range(t0, t0 + fast.block):
            middle = np.arange(t - t0 + y_min + 1, t0 - 1)
            if len(middle) == 0:
                continue
            values = table[left_column, middle + lo] + middle + table[left_column - s, t - middle]
            assert minima[t - t0, 0] == values.min(), (t0, t)


@pytest.mark.parametrize("alpha", [1, 7 / 3, 5])
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_groups_skipped_by_their_bounds_leave_every_entry_equal(
    monkeypatch, alpha, model, strategy, output
):
    """Coarse blocks of 16 rows and blocks of 4 rows: groups are bounded and some are
    skipped, and every entry stays equal to the full search's."""
    monkeypatch.setattr(dp_breakpoints, "BOUND_ROWS", 16)
    monkeypatch.setattr(dp_breakpoints, "BOUND_MINIMUM", 1)  # bounding turns on on the way
    use_blocks(monkeypatch, 4)
    counts = {"offered": 0, "held": 0}
    selected, offer_groups = dp_breakpoints._Groups.selected, BreakpointTables._offer_groups

    def counting_selected(self, keep):
        chosen = selected(self, keep)
        counts["offered"] += len(chosen[2])
        return chosen

    def counting_offer_groups(self, key, option, offer, t0):
        offer_groups(self, key, option, offer, t0)
        counts["held"] += sum(len(groups.dst) for groups in self.groups[key])

    monkeypatch.setattr(dp_breakpoints._Groups, "selected", counting_selected)
    monkeypatch.setattr(BreakpointTables, "_offer_groups", counting_offer_groups)
    units = units_for(alpha)
    specs = specs_of(model, strategy, output, units)
    fast = assert_engines_agree(specs, steps=300, width=60 * units.hidden)
    assert all(fast.monotone.values())
    assert counts["offered"] < counts["held"]  # some groups were skipped


@pytest.mark.parametrize("engine", ENGINES)
def test_growing_and_retyping_keep_every_value(monkeypatch, engine):
    units = units_for(1.5)
    spec = paper_spec("msm", units)
    fresh = engine((spec,))
    fresh.ensure(80, 30)
    grown = engine((spec,))
    for steps, width in [(5, 3), (30, 4), (31, 20), (80, 30)]:
        grown.ensure(steps, width)
    assert grown.steps == 80 and grown.width >= 30
    longer = engine((spec,))  # more rows at the same width: the rows grow, the width stays
    longer.ensure(10, 30)
    longer.ensure(80, 30)
    assert np.array_equal(entries(longer, "C", 80, 30), entries(fresh, "C", 80, 30))

    # switch to int64 at 50 steps instead of 20,000, to exercise the re-typing cheaply
    def narrow(steps):
        return np.int32 if steps <= 50 else np.int64

    monkeypatch.setattr(limits, "table_dtype", narrow)
    retyped = engine((spec,))
    retyped.ensure(40, 30)
    assert retyped.dtype == np.int32
    retyped.ensure(80, 30)
    assert retyped.dtype == np.int64
    retyped.ensure(10, 5)  # a smaller request keeps the wide tables
    assert retyped.dtype == np.int64 and retyped.steps == 80
    # the arrays are of the type declared: the table-size limit is estimated with its size
    for tables in (fresh, grown, longer, retyped):
        arrays = list(tables.tab.values())
        if engine is DPTables:
            arrays += [*tables.plus_y.values(), tables._buffer]
        assert all(array.dtype == tables.dtype for array in arrays)
    expected = entries(fresh, "C", 80, 30)
    assert np.array_equal(entries(grown, "C", 80, 30), expected)
    assert np.array_equal(entries(retyped, "C", 80, 30), expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_growing_one_row_at_a_time_reaches_every_allocation_boundary(engine):
    """Each request one row longer than the last: one of them is exactly one row beyond
    the rows allocated, every time the tables are full."""
    spec = paper_spec("msm", units_for(2))
    fresh = engine((spec,))
    fresh.ensure(70, 12)
    grown = engine((spec,))
    for steps in range(71):
        grown.ensure(steps, 12)
        assert grown.value("C", steps, 12) == fresh.value("C", steps, 12)
    assert np.array_equal(entries(grown, "C", 70, 12), entries(fresh, "C", 70, 12))


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_report_progress_every_64_rows_and_at_the_last(engine):
    """Row 0 counts as a multiple of 64. A longer request reports the rows it fills: the
    breakpoint engine refills from row 0 when it reallocates, the reference does not."""
    tables = engine((paper_spec("ism", units_for(2)),))
    calls = []
    tables.ensure(130, 6, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 130), (64, 130), (128, 130), (130, 130)]
    calls.clear()
    tables.ensure(400, 6, progress=lambda done, total: calls.append((done, total)))
    rows = [done for done, total in calls if total == 400]
    assert len(rows) == len(calls) and rows[-1] == 400 and rows[-2] == 384
    assert rows[:-1] == list(range(rows[0], 400, 64)) and rows[0] % 64 == 0


def test_the_paper_hsm_recursion_is_the_closed_form():
    C = paper_recursion("hsm", units_for(1))
    assert all(C(t, m) == hsm_cost(t, m) for t in range(0, 40) for m in range(1, 8))
    assert C(5, 0) == float("inf")  # no room for the start state


def test_filled_tables_need_nothing_more_and_one_more_row_or_budget_needs_a_refill():
    units = units_for(2)
    tables = BreakpointTables((paper_spec("msm", units),))
    tables.ensure(50, 20)
    nothing = limits.DPSize(0, 0.0)
    assert tables.size(50, tables.width) == tables.size(10, 5) == nothing
    assert tables.size(tables.capacity, tables.width).table_bytes > 0
    assert tables.size(50, tables.width + 1).table_bytes > 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("model, strategy, output", configurations())
def test_below_budget_zero_every_option_reads_an_infeasible_column(engine, model, strategy, output):
    """An option with shift ``s`` reads column ``M - s``: for ``M < s`` that is one of the
    columns in front of budget 0, which exist and are infeasible in every row, so the
    option cannot reach an entry it does not fit (no bounds check, no wrap-around)."""
    units = units_for(7 / 3)
    specs = specs_of(model, strategy, output, units)
    tables = engine(specs)
    tables.ensure(40, 10 * units.hidden)
    for spec in specs:
        for option in spec.options:
            source = getattr(option, "right", getattr(option, "table", None))
            shift = getattr(option, "shift", 0)
            for m in range(shift):
                assert tables.off + m - shift >= 0, (spec.name, option, m)  # no wrap-around
                read = [tables.value(source, t, m - shift) for t in range(41)]
                assert min(read) >= tables.inf, (spec.name, option, m)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("steps, width", [(0, 1), (1, 1), (1, 2), (2, 1)])
def test_a_fresh_table_answers_its_smallest_requests(engine, steps, width):
    """No row is filled before the first request, however small it is (one unit holds
    only h[0], so every step is recomputed from it)."""
    units = units_for(1)
    tables = engine((paper_spec("msm", units),))
    tables.ensure(steps, width)
    assert tables.value("C", steps, width) == steps * (steps + 1) // 2


def test_the_infeasible_marker_is_above_every_cost_and_its_sums_fit_the_type():
    """int32 tables (up to 20,000 steps) and int64 tables (any length a plan can have): the
    marker exceeds the dearest cost, t(t+1)/2, and two markers plus t still fit the type."""
    for dtype, steps in [(np.int32, 20_000), (np.int64, 10**9)]:
        assert limits.table_dtype(steps) == dtype
        inf = limits.infinity(dtype)
        assert steps * (steps + 1) // 2 < inf
        assert 2 * inf + steps <= np.iinfo(dtype).max


def offer_candidates(candidates, into: np.ndarray, table: np.ndarray, t: int) -> None:
    """Lower ``into`` (rows t, t + 1, ...) by the active candidates reading the one-column
    ``table``, as the engine does."""
    rises = dp_breakpoints._Rises(table.reshape(1, -1), 4)
    rises.update(len(table) - 1)
    never_falls = bool((np.diff(table) >= 0).all())
    offer = dp_breakpoints._Offer(into, t, {"T": table}, {"T": rises}, {"T": never_falls})
    for run in candidates.active():
        offer.add("T", candidates.with_t, *run)
    offer.run()


@pytest.mark.parametrize("with_t", [False, True])
@pytest.mark.parametrize("sizes", [(0, 0), (1, 0), (0, 1), (2, 3), (5000, 1), (5000, 300)])
def test_candidates_lower_each_column_to_their_least_value(with_t, sizes):
    """The candidate store against a loop: a first batch (sorted once it is large), a second
    batch due later (kept unsorted while small), and one not yet due, which must not count.
    A single candidate counts like any other."""
    rng = np.random.default_rng(sum(sizes))
    table = rng.integers(0, 1000, size=312)  # bases up to 290, rows up to t + 2 (whole chunks)
    columns, t = 12, 9
    candidates = dp_breakpoints._Candidates(with_t, np.int64)
    batches = []
    for first_row, size in [(t - 1, sizes[0]), (t, sizes[1]), (t + 1, 4)]:
        batch = (
            rng.integers(0, 290, size),
            rng.integers(-50, 50, size),
            rng.integers(0, columns, size),
        )
        candidates.add(first_row, *batch)
        candidates.activate(min(first_row, t))  # as the engine does, block by block up to t
        batches.append(batch)
    into = np.full((3, columns), 10**6, dtype=np.int64)  # a block of rows t, t + 1, t + 2
    offer_candidates(candidates, into, table, t)
    expected = np.full((3, columns), 10**6)
    for base, const, dst in batches[:2]:
        for b, c, d in zip(base, const, dst, strict=True):
            for k in range(3):
                value = table[b + t + k] + c + (t + k if with_t else 0)
                expected[k, d] = min(expected[k, d], value)
    assert np.array_equal(into, expected)


def test_candidates_with_their_own_first_rows_take_part_when_each_is_due():
    """The engine adds a block's candidates in one batch, each with its own first row; the
    two due last would be each column's least value if they counted too early."""
    table = np.arange(100) * 10
    candidates = dp_breakpoints._Candidates(False, np.int64)
    first_rows, columns = np.array([5, 7, 6, 7]), np.array([0, 0, 1, 1])
    candidates.add(first_rows, np.array([0, 1, 2, 3]), np.array([4, -20, 2, -20]), columns)
    seen = []
    for t in (5, 6, 7):
        candidates.activate(t)
        into = np.full((1, 2), 10**6, dtype=np.int64)
        offer_candidates(candidates, into, table, t)
        seen.append(into[0].tolist())
    # at row t a candidate is worth 10 * (base + t) + const
    assert seen == [[54, 10**6], [64, 82], [60, 80]]


@pytest.mark.parametrize("steps", [0, 4, 5, 33, 49])
def test_the_floor_of_a_run_is_the_least_rise_of_the_chunks_it_lies_in(steps):
    """Chunks of 5 rows, filled up to ``steps``: the floor of every run of 1 to 5 rows is the
    least rise over the chunks of its first and last rise, found by brute force, or unknown
    when one of them is not filled; it is never above a rise the run reads."""
    rng = np.random.default_rng(steps)
    table = rng.integers(-20, 20, size=(3, 50)).cumsum(axis=1)
    rises = dp_breakpoints._Rises(table, 5)
    rises.update(steps)
    for column in range(3):
        for row in range(50):
            for count in range(1, min(5, 50 - row) + 1):
                floor = int(rises.floor(np.array([column * 50 + row]), count)[0])
                chunks = {row // 5, (row + max(count - 2, 0)) // 5}
                if any(5 * k + 5 > steps for k in chunks):
                    assert floor == dp_breakpoints.UNKNOWN_RISE
                    continue
                least = min(np.diff(table[column, 5 * k : 5 * k + 6]).min() for k in chunks)
                assert floor == least
                assert floor <= np.diff(table[column, row : row + count]).min(initial=10**9)


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    falls=st.booleans(),
    with_t=st.booleans(),
    rows=st.integers(1, 5),
    size=st.integers(1, 400),
)
def test_an_offer_lowers_each_column_to_its_least_value_and_skips_only_losers(
    seed, falls, with_t, rows, size
):
    """Random tables that never fall (or do) and random candidates against a loop: the
    offer's result is each column's least value on every row, and every candidate it left
    out is worth no less than that result on every row of the block."""
    rng = np.random.default_rng(seed)
    columns, length, t0 = 4, 60, 30
    steps = rng.integers(-3 if falls else 0, 6, size=(columns, length))
    table = steps.cumsum(axis=1)
    rises = dp_breakpoints._Rises(table, 5)
    rises.update(t0 - 1)  # candidates may read rows of the block, not filled yet
    column, start = rng.integers(0, columns, size), rng.integers(1, length - rows, size)
    base = column * length + start - t0
    const, dst = rng.integers(-40, 40, size), np.sort(rng.integers(0, 3, size))
    into = np.full((rows, 3), 10**6, dtype=np.int64)
    into[:, 2] = rng.integers(100, 300)  # a column with a value found already
    never_falls = bool((np.diff(table[:, :t0], axis=1) >= 0).all())
    offer = dp_breakpoints._Offer(
        into, t0, {"T": table.reshape(-1)}, {"T": rises}, {"T": never_falls}
    )
    evaluated = []
    evaluate = offer._evaluate
    offer._evaluate = lambda sources, chosen: (evaluated.extend(chosen), evaluate(sources, chosen))
    start_value = into.copy()
    offer.add("T", with_t, base, const, dst)
    offer.run()
    t = np.arange(t0, t0 + rows)
    values = table.reshape(-1)[base[None, :] + t[:, None]] + const + (t[:, None] if with_t else 0)
    expected = start_value.copy()
    for k in range(size):
        expected[:, dst[k]] = np.minimum(expected[:, dst[k]], values[:, k])
    assert np.array_equal(into, expected)
    left_out = np.setdiff1d(np.arange(size), np.concatenate(evaluated))
    assert (values[:, left_out] >= into[:, dst[left_out]]).all()


def test_round_one_evaluates_the_least_candidates_at_both_ends_of_the_block():
    """Two candidates of one column: one least on the block's first row, rising by 5 per
    row, the other least on its last row, rising by 1. Both are evaluated first, on every
    row, so the block's value is exact at both ends before any candidate is skipped."""
    rows = 8
    steep, gentle = np.arange(40) * 5, 20 + np.arange(40)
    table = np.concatenate([steep, gentle])
    rises = dp_breakpoints._Rises(table.reshape(2, 40), 8)
    rises.update(39)
    into = np.full((rows, 1), 10**6, dtype=np.int64)
    offer = dp_breakpoints._Offer(into, 0, {"T": table}, {"T": rises}, {"T": True})
    rounds = []
    evaluate = offer._evaluate
    offer._evaluate = lambda sources, chosen: (rounds.append(chosen), evaluate(sources, chosen))
    offer.add("T", False, np.array([0, 40]), np.zeros(2, dtype=np.int64), np.array([0, 0]))
    offer.run()
    assert [sorted(chosen.tolist()) for chosen in rounds[0]] == [[0, 1]]
    assert into[:, 0].tolist() == np.minimum(steep[:rows], gentle[:rows]).tolist()


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sources=st.integers(1, 3), rows=st.integers(1, 2))
def test_the_seeds_are_per_row_and_column_the_first_candidate_with_the_least_value(
    seed, sources, rows
):
    """Against a loop over the sources in order: on each row (one call each), a column's
    seed is the first candidate (of the first source that has one) with the column's least
    value over all sources; ties within and across sources are frequent (values from 0
    to 4)."""
    rng = np.random.default_rng(seed)
    columns = 4
    into = np.zeros((3, columns), dtype=np.int64)
    offer = dp_breakpoints._Offer(into, 0, {}, {}, {})
    listed, values = [], []
    for _ in range(sources):
        size = int(rng.integers(1, 12))
        dst = np.sort(rng.integers(0, columns, size))
        listed.append(("T", False, None, None, dst))
        values.append(rng.integers(0, 5, size=(rows, size)))
    segments = [dp_breakpoints._segments(dst) for *_, dst in listed]
    per_row = [
        offer._seeds(listed, segments, [row_values[row] for row_values in values])
        for row in range(rows)
    ]
    seeds = [np.concatenate(of_source) for of_source in zip(*per_row, strict=True)]
    expected = [set() for _ in range(sources)]
    for row in range(rows):
        for column in range(columns):
            pairs = [
                (int(values[k][row, i]), k, i)
                for k in range(sources)
                for i in np.flatnonzero(listed[k][4] == column)
            ]
            if pairs:
                least = min(value for value, _, _ in pairs)
                _, k, i = next(pair for pair in pairs if pair[0] == least)
                expected[k].add(int(i))
    assert [set(map(int, seed_list)) for seed_list in seeds] == expected


@settings(max_examples=300)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 6),
    scale=st.sampled_from([1, 16]),
    top=st.sampled_from([3, 200, 10_000]),
)
def test_a_group_is_skipped_exactly_when_its_bound_stays_above_on_every_row(seed, rows, scale, top):
    """The skip test of the groups against a row-by-row check: growths on, between and
    beyond the listed ones (negative too), bounds near each column's ceiling, and a
    column where a row is infeasible (never skipped)."""
    rng = np.random.default_rng(seed)
    groups, columns = 7, 5
    upper = rng.integers(0, 2 * top, size=(rows, columns)).cumsum(axis=0) * scale
    growth = rng.integers(-2 * scale, top * scale, size=(groups, columns))
    growth[0] = scale * np.asarray(dp_breakpoints.GROUP_GROWTHS[:columns])
    steps = np.arange(rows)[:, None, None]
    ceiling = (upper[:, None, :] - steps * growth).max(axis=0)
    bound = ceiling + rng.integers(-2, 2, size=(groups, columns))
    upper[rng.integers(rows), columns - 1] = np.iinfo(np.int64).max
    expected = (bound + steps * growth >= upper[:, None, :]).all(axis=0)
    beaten = dp_breakpoints._groups_beaten(bound, growth, upper, scale)
    assert np.array_equal(beaten, expected)
    assert beaten.any() and not beaten.all() and not beaten[:, -1].any()


def test_narrow_tables_fill_longer_blocks_and_every_column_holds_whole_blocks():
    """Tables of at most NARROW_COLUMNS columns fill blocks of NARROW_BLOCK rows, wider
    ones of BLOCK rows; a column stores whole blocks of rows (the chunks of the rises)."""
    spec = paper_spec("msm", units_for(1))
    for width, block in [(100, dp_breakpoints.NARROW_BLOCK), (600, dp_breakpoints.BLOCK)]:
        tables = BreakpointTables((spec,))
        tables.ensure(70, width)
        assert (tables.cols > dp_breakpoints.NARROW_COLUMNS) == (block == dp_breakpoints.BLOCK)
        assert tables.block == block, width
        assert tables.tab["C"].shape[1] % block == 0 and tables.tab["C"].shape[1] > 70


@pytest.mark.parametrize("steps", [10, 5000, 70_000])
@pytest.mark.parametrize("width", [1, 300])
def test_an_allocation_is_whole_rows_and_budgets_that_cover_the_request(steps, width):
    tables = BreakpointTables((paper_spec("msm", units_for(2)),))
    rows, budgets = tables.allocation(steps, width)
    assert type(rows) is int and type(budgets) is int
    assert rows > steps and budgets >= width
