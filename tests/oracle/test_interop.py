"""checkpoint-schedules' schedules are valid in our model and cost what our optimum says."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import mini_bptt as mb
from mini_bptt.oracle.interop import (
    from_checkpoint_schedule,
    mixed_actions,
    multistage_actions,
    revolve_actions,
    to_checkpoint_schedule,
)
from mini_bptt.planning.plan import Plan
from tests.helpers import from_short, make_problem

CASES = [(steps, snapshots) for steps in range(1, 41) for snapshots in range(1, 9)]


@pytest.mark.parametrize("convert", [revolve_actions, multistage_actions])
def test_binomial_schedules_are_valid_and_hsm_optimal(convert):
    for steps, snapshots in CASES:
        verdict = mb.check(convert(steps, snapshots), steps=steps, memory=snapshots)
        assert verdict.valid, (steps, snapshots, verdict.error)
        assert verdict.forward_count == mb.cost(steps, snapshots, strategy="hsm")


def test_mixed_schedules_are_valid_and_equal_our_optimal_model():
    for steps, snapshots in CASES:
        verdict = mb.check(
            mixed_actions(steps, snapshots),
            steps=steps,
            memory=snapshots,
            alpha=1,
            internal_has_output=False,
        )
        assert verdict.valid, (steps, snapshots, verdict.error)
        assert verdict.forward_count == verdict.optimal_forward_count


@pytest.mark.parametrize("convert", [revolve_actions, multistage_actions, mixed_actions])
@pytest.mark.parametrize("cell_name", ["rnn", pytest.param("lstm", marks=pytest.mark.slow)])
def test_converted_plans_give_bitwise_equal_gradients(convert, cell_name):
    for steps in range(1, 41):
        cell, xs, h0, head = make_problem(cell_name, steps, 2, seed=steps)
        reference = mb.full_bptt(cell, xs, h0, head)
        for snapshots in range(1, 9):
            plan = Plan(
                steps=steps,
                memory=snapshots,
                alpha=1,
                internal_has_output=convert is not mixed_actions,
                strategy="checkpoint-schedules",
                model="external",
                actions=tuple(convert(steps, snapshots)),
            )
            result = mb.execute(plan, cell, xs, h0, head)
            assert np.array_equal(result.dh0, reference.dh0), (steps, snapshots)
            assert all(np.array_equal(result.grads[k], reference.grads[k]) for k in reference.grads)


# -- exporting our plans ------------------------------------------------------------------------

EXPORT_CASES = [
    (strategy, model, output, alpha, steps, memory)
    for strategy in mb.STRATEGIES
    for model in (mb.MODELS if strategy in ("hsm", "ism", "msm") else ("optimal",))
    for output in (False, True)
    for alpha in (1, 7 / 3)
    for steps in (1, 2, 3, 4, 5, 7, 10, 16, 25, 40)
    for memory in ("100%", "30%", "10%", 1, 3)
]


def _plan_or_none(strategy, model, output, alpha, steps, memory):
    if model == "paper" and strategy != "hsm" and not output:
        return None  # the paper's ISM and MSM restart from internal states by definition
    try:
        return mb.plan(
            steps, memory, alpha=alpha, strategy=strategy, model=model, internal_has_output=output
        )
    except mb.InfeasibleMemoryError:
        return None


# every seventh case in the everyday run (a stride prime to the 5 budgets and 8 snapshot
# counts, so each kind is drawn), all of them in the full run
EVERY = [7, pytest.param(1, marks=pytest.mark.slow)]


@pytest.mark.parametrize("every", EVERY)
def test_every_plan_without_internal_restores_exports_and_reads_back_identically(every):
    exported = refused = 0
    for case in EXPORT_CASES[::every]:
        plan = _plan_or_none(*case)
        if plan is None:
            continue
        restores = [i for i, a in enumerate(plan.actions) if a.op == "restore_internal"]
        if restores:  # adjoint data cannot restart their forward: refused, at that action
            with pytest.raises(ValueError, match=f"plan action {restores[0]} \\(restore_internal"):
                to_checkpoint_schedule(plan)
            refused += 1
            continue
        back = from_checkpoint_schedule(to_checkpoint_schedule(plan))
        assert back == list(plan.actions), case
        again = Plan(
            steps=plan.steps,
            memory=plan.memory,
            alpha=plan.alpha,
            internal_has_output=plan.internal_has_output,
            strategy="imported",
            model="external",
            actions=tuple(back),
        )
        assert (again.forward_count, again.peak_memory) == (plan.forward_count, plan.peak_memory)
        exported += 1
    # both branches are exercised, not skipped (1,112 and 122 of all the cases)
    assert exported > 1000 // every and refused > 100 // every
    # every strategy exports when planned with internal_has_output=False
    for strategy in mb.STRATEGIES:
        plan = mb.plan(20, "100%", strategy=strategy, internal_has_output=False)
        assert from_checkpoint_schedule(to_checkpoint_schedule(plan)) == list(plan.actions)


def _their_schedules(cases):
    """(internal_has_output, snapshots, schedule) for each schedule kind and case."""
    import checkpoint_schedules as cs

    for steps, snapshots in cases:
        yield True, snapshots, cs.Revolve(steps, snapshots)
        yield True, snapshots, cs.MultistageCheckpointSchedule(steps, snapshots, 0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Numba not available", RuntimeWarning)
            mixed = cs.MixedCheckpointSchedule(steps, snapshots, storage=cs.StorageType.RAM)
        yield False, snapshots, mixed


@pytest.mark.parametrize("every", EVERY)
def test_their_schedules_read_in_and_export_back_unchanged(every):
    """The other direction: checkpoint-schedules -> our plan -> checkpoint-schedules."""
    count = 0
    for output, snapshots, schedule in _their_schedules(CASES[::every]):
        original = list(schedule)
        plan = Plan(
            steps=schedule.max_n,
            memory=snapshots,
            alpha=1,
            internal_has_output=output,
            strategy="checkpoint-schedules",
            model="external",
            actions=tuple(from_checkpoint_schedule(original)),
        )
        assert _plain(to_checkpoint_schedule(plan)) == _plain(original), original
        count += 1
    assert count == 3 * len(CASES[::every])


def _plain(items) -> list[tuple]:
    """Actions as tuples of plain values (the mixed schedule's steps are NumPy integers)."""
    return [
        (type(i).__name__, *(a if hasattr(a, "name") else int(a) for a in i.args)) for i in items
    ]


def _run_in_their_terms(schedule, steps: int) -> tuple[int, int]:
    """Execute a schedule under checkpoint-schedules' own rules, written from their docs with
    no code of ours: a forward starts where the forward state in WORK is; a reverse needs
    the step's adjoint data in WORK; a load needs the data in storage. Returns (forward
    steps, most data items held in storage at once)."""
    import checkpoint_schedules as cs

    stored: set[tuple[str, int]] = set()  # ("ics", n) restart data, ("adj", n) adjoint data
    forward_at: int | None = 0  # the forward state in WORK is the start of this step
    adjoint_in_work: set[int] = set()
    next_reverse = steps - 1
    forwards = most = 0
    for item in schedule:
        if isinstance(item, cs.Forward):
            assert forward_at == item.n0, f"{item}: the forward state is at {forward_at}"
            if item.write_ics:
                stored.add(("ics", item.n0))
            for n in range(item.n0, item.n1):
                forwards += 1
                adjoint_in_work = set()
                if item.write_adj_deps and item.storage == cs.StorageType.WORK:
                    adjoint_in_work = {n}
                elif item.write_adj_deps:
                    stored.add(("adj", n))
            forward_at = item.n1
        elif isinstance(item, cs.Reverse):
            for n in range(item.n1 - 1, item.n0 - 1, -1):
                assert n == next_reverse and n in adjoint_in_work, f"{item}: no data for {n}"
                adjoint_in_work.discard(n)
                next_reverse -= 1
        elif isinstance(item, cs.Copy | cs.Move):
            key = ("adj", item.n) if item.n == next_reverse else ("ics", item.n)
            if key not in stored:
                key = ("ics", item.n) if key[0] == "adj" else ("adj", item.n)
            assert key in stored, f"{item}: nothing stored at {item.n}"
            if item.to_storage == cs.StorageType.WORK and key[0] == "adj":
                adjoint_in_work.add(item.n)
            elif item.to_storage == cs.StorageType.WORK:
                forward_at, adjoint_in_work = item.n, set()
            if isinstance(item, cs.Move):
                stored.discard(key)
        elif isinstance(item, cs.EndForward):
            assert forward_at == steps
        most = max(most, len(stored))
    assert isinstance(item, cs.EndReverse) and next_reverse == -1
    return forwards, most


def test_exported_schedules_run_under_their_rules_with_our_counts():
    """At alpha = 1 every data item is one unit: their storage peak is our peak."""
    checked = 0
    for case in EXPORT_CASES:
        if case[3] != 1 or case[2]:  # alpha 1, internal_has_output=False
            continue
        plan = _plan_or_none(*case)
        if plan is None:
            continue
        forwards, most = _run_in_their_terms(to_checkpoint_schedule(plan), plan.steps)
        assert forwards == plan.forward_count, case
        # our model holds h[0] (1 unit) from the start; their storage starts empty
        assert max(most, 1) == plan.peak_memory, case
        checked += 1
    assert checked > 200


def test_the_exported_schedule_behaves_as_a_checkpoint_schedule():
    import checkpoint_schedules as cs

    plan = mb.plan(10, 4, alpha=1, strategy="msm", internal_has_output=False)
    schedule = to_checkpoint_schedule(plan)
    assert isinstance(schedule, cs.CheckpointSchedule)
    assert (schedule.max_n, schedule.n, schedule.r, schedule.is_exhausted) == (10, 0, 0, False)
    reversed_steps = 0
    for index, item in enumerate(schedule):  # n: where the forward is; r: steps reversed
        assert item is schedule.items[index]
        if isinstance(item, cs.Forward):
            assert schedule.n == item.n1
        elif isinstance(item, cs.Reverse):
            reversed_steps += item.n1 - item.n0
        elif isinstance(item, cs.Copy | cs.Move) and isinstance(
            schedule.items[index + 1], cs.Forward
        ):
            assert schedule.n == item.n == schedule.items[index + 1].n0
        assert schedule.r == reversed_steps
    assert isinstance(item, cs.EndReverse) and (schedule.r, schedule.is_exhausted) == (10, True)
    assert schedule.uses_storage_type(cs.StorageType.RAM)
    assert not schedule.uses_storage_type(cs.StorageType.DISK)


def test_export_refuses_what_their_vocabulary_cannot_say():
    with pytest.raises(TypeError, match="plan must be a mini_bptt Plan, got list"):
        to_checkpoint_schedule([])
    with_output = mb.plan(7, 5, alpha=2, strategy="ism")
    index = [a.op for a in with_output.actions].index("restore_internal")
    with pytest.raises(ValueError, match=f"plan action {index} .*internal_has_output=False"):
        to_checkpoint_schedule(with_output)
    for text, index, why in [
        # h[1] saved, then the forward restarts from h[0]: no forward leaves h[1] storing it
        ("F1 SH1 RH0 F1 F2 B2 XH1 RH0 F1 B1", 1, "restart data only as a forward leaves it"),
        # s[1] saved after another action: their adjoint data is written by its forward
        ("F1 XH0 SI1 F2 B2 B1", 2, "adjoint data only during its forward"),
    ]:
        plan = Plan(2, 4, 1, False, "hand", "hand", from_short(text))
        with pytest.raises(ValueError, match=f"plan action {index} .*{why}"):
            to_checkpoint_schedule(plan)


# -- storage levels: disk is refused unless counted in the one budget ---------------------------

DISK_CASES = [(steps, ram, disk) for steps in (10, 20, 40) for ram in (1, 2) for disk in (1, 2, 4)]


def _disk_schedules():
    """(name, steps, schedule) for real schedules that keep data on disk."""
    import checkpoint_schedules as cs

    for steps, ram, disk in DISK_CASES:
        yield f"HRevolve({steps}, {ram}, {disk})", steps, cs.HRevolve(steps, ram, disk)
    for steps in (10, 20, 40):
        for ram in (1, 2):
            yield f"DiskRevolve({steps}, {ram})", steps, cs.DiskRevolve(steps, ram)
        for period, binomial in ((3, 1), (5, 2), (8, 3)):
            for level in (cs.StorageType.DISK, cs.StorageType.RAM):
                schedule = cs.TwoLevelCheckpointSchedule(period, binomial, binomial_storage=level)
                yield f"TwoLevel({period}, {binomial}, {level.name}) of {steps}", steps, schedule


def _uses_disk(items) -> bool:
    import checkpoint_schedules as cs

    return any(cs.StorageType.DISK in item.args for item in items)


def _stored_peak(items) -> int:
    """The most restart-data items held at once, from checkpoint-schedules' own docs: a
    forward with write_ics stores the state it starts from on its level, Move deletes from
    the level it names, Copy deletes nothing; one position held on two levels counts
    once. (These schedules keep adjoint data only in WORK.)"""
    import checkpoint_schedules as cs

    levels: dict[int, set] = {}
    most = 1  # h[0], held before the first forward stores it
    for item in items:
        if isinstance(item, cs.Forward):
            assert not (item.write_adj_deps and item.storage != cs.StorageType.WORK)
            assert item.write_ics or levels  # each of these stores h[0] on its first forward
            if item.write_ics:
                levels.setdefault(item.n0, set()).add(item.storage)
        elif isinstance(item, cs.Move):
            levels[item.n].discard(item.from_storage)
        elif isinstance(item, cs.EndReverse):
            break
        most = max(most, sum(1 for held in levels.values() if held))
    return most


def _items(schedule, steps: int) -> list:
    """A schedule's actions to its first EndReverse, finalizing an online one at ``steps``."""
    import checkpoint_schedules as cs

    items = []
    for item in schedule:
        if isinstance(item, cs.Forward) and schedule.max_n is None and item.n1 >= steps:
            schedule.finalize(steps)
        items.append(item)
        if isinstance(item, cs.EndReverse):
            return items
    raise AssertionError("the schedule ended without EndReverse")


def test_disk_storage_is_refused_by_default_naming_the_action_and_the_level():
    refused = 0
    for name, steps, schedule in _disk_schedules():
        items = _items(schedule, steps)
        if not _uses_disk(items):  # small cases need no disk at all
            continue
        first = next(
            (index, item) for index, item in enumerate(items) if "StorageType.DISK" in repr(item)
        )
        with pytest.raises(ValueError) as caught:
            from_checkpoint_schedule(items)
        message = str(caught.value)
        assert message == (
            f"schedule action {first[0]}, {first[1]!r}, stores restart data on "
            "StorageType.DISK, which mini_bptt does not count: its budget is one memory "
            "level; pass count_disk=True to count disk data in it like memory"
        ), name
        refused += 1
    assert refused >= 30


def test_counted_disk_storage_is_checked_in_the_one_budget():
    """With count_disk=True: every forward is theirs, the peak is their storage's (both
    levels, h[0] included) and the plan is valid with exactly that memory, not one less."""
    import checkpoint_schedules as cs

    within_their_snapshots = 0
    for name, steps, schedule in _disk_schedules():
        items = _items(schedule, steps)
        actions = from_checkpoint_schedule(items, count_disk=True, steps=steps)
        peak = _stored_peak(items)
        verdict = mb.check(actions, steps=steps, memory=peak)
        assert verdict.valid, (name, verdict.error)
        assert verdict.peak_memory == peak, name
        assert verdict.forward_count == sum(  # an online forward ends where the sequence does
            min(item.n1, steps) - item.n0 for item in items if isinstance(item, cs.Forward)
        ), name
        if peak > 1:
            tight = mb.check(actions, steps=steps, memory=peak - 1)
            assert not tight.valid and "over the budget of" in tight.error, name
        if name.startswith("TwoLevel"):  # the period checkpoints, h[0] one of them, and b more
            period, binomial = (int(word) for word in name[9:].split(",")[:2])
            assert peak <= -(-steps // period) + binomial, name
        elif name.startswith("HRevolve"):
            ram, disk = (int(word) for word in name[9:-1].split(",")[1:])
            within_their_snapshots += peak <= ram + disk
    # HRevolve keeps disk data it copied back to RAM, so one budget of ram + disk is not
    # always enough: both outcomes occur
    assert 0 < within_their_snapshots < len(DISK_CASES)


@pytest.mark.parametrize("make", ["hrevolve", "twolevel"])
def test_counted_disk_schedules_give_bitwise_equal_gradients(make):
    import checkpoint_schedules as cs

    steps = 23
    cell, xs, h0, head = make_problem("rnn", steps, 2, seed=1)
    schedule = (
        cs.HRevolve(steps, 1, 2)
        if make == "hrevolve"
        else cs.TwoLevelCheckpointSchedule(5, 2, binomial_storage=cs.StorageType.RAM)
    )
    actions = from_checkpoint_schedule(schedule, count_disk=True, steps=steps)
    plan = Plan(steps, 100, 1, True, "checkpoint-schedules", "external", tuple(actions))
    result, reference = mb.execute(plan, cell, xs, h0, head), mb.full_bptt(cell, xs, h0, head)
    assert np.array_equal(result.dh0, reference.dh0)
    assert all(np.array_equal(result.grads[k], reference.grads[k]) for k in reference.grads)


def test_an_online_schedule_needs_its_length_and_stops_at_the_first_reverse():
    import checkpoint_schedules as cs

    def two_level():
        return cs.TwoLevelCheckpointSchedule(4, 1, binomial_storage=cs.StorageType.RAM)

    with pytest.raises(ValueError, match=r"^TwoLevelCheckpointSchedule learns its length only"):
        from_checkpoint_schedule(two_level(), count_disk=True)
    schedule = two_level()
    actions = from_checkpoint_schedule(schedule, count_disk=True, steps=10)
    assert schedule.max_n == 10  # finalized by the importer, at the end of the forward
    assert [a.op for a in actions].count("backward") == 10
    assert mb.check(actions, steps=10, memory=4).valid  # h[0], h[4], h[8], one binomial
    with pytest.raises(ValueError, match="^steps=9 but the schedule's max_n is 10"):
        from_checkpoint_schedule(cs.Revolve(10, 3), steps=9)
    assert from_checkpoint_schedule(cs.Revolve(10, 3), steps=10) == revolve_actions(10, 3)


@pytest.mark.parametrize(
    "keywords, error, match",
    [
        ({"count_disk": "yes"}, TypeError, "^count_disk must be True or False, got 'yes'$"),
        ({"count_disk": 1}, TypeError, "^count_disk must be True or False, got 1$"),
        ({"steps": 0}, ValueError, "^steps must be an integer >= 1, got 0$"),
        ({"steps": "10"}, TypeError, "^steps must be an integer >= 1, got '10'$"),
        ({"steps": 2.0}, TypeError, "^steps must be an integer >= 1, got 2.0$"),
    ],
)
def test_bad_importer_keywords_are_named(keywords, error, match):
    import checkpoint_schedules as cs

    with pytest.raises(error, match=match):
        from_checkpoint_schedule(cs.Revolve(10, 3), **keywords)


def test_loads_deletes_and_copies_on_disk_are_named_too():
    import checkpoint_schedules as cs

    DISK, RAM, WORK, NONE = (
        cs.StorageType.DISK,
        cs.StorageType.RAM,
        cs.StorageType.WORK,
        cs.StorageType.NONE,
    )
    start = [cs.Forward(0, 2, True, False, RAM)]
    for item, verb in [
        (cs.Copy(0, DISK, WORK), "loads data from StorageType.DISK"),
        (cs.Move(0, DISK, NONE), "deletes data from StorageType.DISK"),
        (cs.Copy(0, RAM, DISK), "copies data to StorageType.DISK"),
    ]:
        with pytest.raises(
            ValueError, match=rf"^schedule action 1, {re.escape(repr(item))}, {verb}"
        ):
            from_checkpoint_schedule([*start, item])
    with pytest.raises(ValueError, match="a copy between two storage levels"):
        from_checkpoint_schedule([*start, cs.Copy(0, RAM, DISK)], count_disk=True)
