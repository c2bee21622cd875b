"""Threads get the answers one thread gets: plan, cost and check share their DP tables
safely, and each thread (or asyncio task) has its own resource limits."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

import mini_bptt as mb
from mini_bptt.common.resources import current
from mini_bptt.planning.dp_optimal import OPTIMAL_TABLES
from mini_bptt.planning.dp_paper import PAPER_TABLES

THREADS = 8


def random_calls(seed: int, count: int, longest: int) -> list[tuple]:
    """``count`` calls on a few shared table sets, with lengths (up to ``longest``) and
    budgets that make them grow and reallocate in a random order (the paths where an
    unguarded set goes wrong)."""
    chooser = random.Random(seed)
    calls = []
    for _ in range(count):
        kind = chooser.choice(("plan", "cost", "cost", "check"))
        steps = chooser.randint(2, longest)
        memory = chooser.randint(2, 160)
        alpha = chooser.choice((1, 4.5))
        strategy = chooser.choice(("ism", "msm"))
        model = chooser.choice(("optimal", "paper"))
        calls.append((kind, steps, memory, alpha, strategy, model))
    return calls


def run(call: tuple):
    kind, steps, memory, alpha, strategy, model = call
    common = dict(alpha=alpha, strategy=strategy, model=model)
    try:
        if kind == "cost":
            return mb.cost(steps, memory, **common)
        planned = mb.plan(steps, memory, **common)
        if kind == "plan":
            return planned.forward_count, planned.peak_memory, hash(planned.actions)
        verdict = mb.check(planned.actions, steps=steps, memory=memory, alpha=alpha)
        return verdict.valid, verdict.forward_count, verdict.optimal_forward_count
    except mb.InfeasibleMemoryError as exc:
        return str(exc)


@pytest.mark.parametrize(
    ("count", "longest"),
    [(8, 120), *(pytest.param(*case, marks=pytest.mark.slow) for case in [(25, 300), (100, 700)])],
)
def test_eight_threads_of_random_plan_cost_and_check_calls_agree_with_one_thread(count, longest):
    workloads = [random_calls(seed, count, longest) for seed in range(THREADS)]
    OPTIMAL_TABLES.clear()
    PAPER_TABLES.clear()
    serial = [[run(call) for call in calls] for calls in workloads]
    OPTIMAL_TABLES.clear()
    PAPER_TABLES.clear()
    results: list[list | BaseException | None] = [None] * THREADS
    start = threading.Barrier(THREADS)

    def worker(k: int) -> None:
        start.wait()
        try:
            results[k] = [run(call) for call in workloads[k]]
        except BaseException as exc:  # an IndexError in another thread's table is a failure too
            results[k] = exc

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(THREADS):
        assert not isinstance(results[k], BaseException), repr(results[k])
        wrong = [
            (call, got, want)
            for call, got, want in zip(workloads[k], results[k], serial[k], strict=True)
            if got != want
        ]
        assert not wrong, f"thread {k}: {len(wrong)} answers differ, e.g. {wrong[0]}"


def test_a_limits_block_in_one_thread_leaves_the_others_alone():
    entered, leave, seen = threading.Event(), threading.Event(), {}

    def limited() -> None:
        with mb.resource_limits(actions=100):
            entered.set()
            leave.wait(10)
            seen["inside"] = current().actions

    default = current().actions
    thread = threading.Thread(target=limited)
    thread.start()
    assert entered.wait(10)
    seen["other"] = current().actions
    assert len(mb.plan(100, 3, strategy="hsm").actions) > 100  # not refused here
    leave.set()
    thread.join()
    assert seen == {"inside": 100, "other": default}


def test_blocks_left_in_another_order_than_entered_in_two_threads_restore_their_own():
    """Thread A enters, thread B enters, A leaves, B leaves: each saw only its own change,
    and after both the defaults are back (a process-wide stack popped A's entry for B)."""
    steps = [threading.Event() for _ in range(3)]
    seen = {}

    def first() -> None:
        with mb.resource_limits(actions=111):
            steps[0].set()
            steps[1].wait(10)
            seen["a"] = current().actions
        steps[2].set()

    def second() -> None:
        steps[0].wait(10)
        with mb.resource_limits(actions=222):
            steps[1].set()
            steps[2].wait(10)
            seen["b"] = current().actions
        seen["b after"] = current().actions

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    default = current().actions
    assert seen == {"a": 111, "b": 222, "b after": default}


def test_nested_blocks_restore_exactly_what_they_changed():
    with mb.resource_limits(actions=500, seconds=5):
        with mb.resource_limits(actions=50):
            assert (current().actions, current().seconds) == (50, 5)
        assert (current().actions, current().seconds) == (500, 5)


def test_asyncio_tasks_each_have_their_own_limits():
    async def task(actions: int) -> int:
        with mb.resource_limits(actions=actions):
            await asyncio.sleep(0.01)  # the other task enters its block meanwhile
            return current().actions

    async def both() -> list[int]:
        return await asyncio.gather(task(7), task(9))

    assert asyncio.run(both()) == [7, 9]


def test_threads_executing_plans_on_one_cell_get_the_gradients_of_one_thread():
    """The executor keeps its state per call and only reads the cell and the head."""
    import numpy as np

    cell = mb.LSTMCell(input_size=3, hidden_size=5, seed=0)
    rng = np.random.default_rng(1)
    steps, batch = 40, 2
    xs, h0 = rng.normal(size=(steps, batch, 3)), cell.zero_state(batch)
    head = mb.MSEHead(rng.normal(size=(steps, batch, 5)))
    plans = [mb.plan(steps, memory, alpha=cell.alpha) for memory in (20, 30, 45, 60)]
    serial = [mb.execute(p, cell, xs, h0, head).grads for p in plans]
    results: list = [None] * len(plans)

    def worker(k: int) -> None:
        results[k] = [mb.execute(plans[k], cell, xs, h0, head).grads for _ in range(5)]

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k, runs in enumerate(results):
        for grads in runs:
            assert all(np.array_equal(grads[name], serial[k][name]) for name in serial[k])
