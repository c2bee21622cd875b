"""Audit of real checkpointing tools against the oracle: writes docs/audit.md (issue 30).

Rows: PyTorch's ``torch.utils.checkpoint.checkpoint_sequential`` (several T and segment
counts, ``use_reentrant`` True and False), equinox's ``while_loop(kind="checkpointed",
checkpoints=c)`` (several T and c), and checkpoint-schedules' Revolve, Multistage, Mixed,
HRevolve (RAM only, and with disk levels counted), DiskRevolve and TwoLevel (several T and
snapshot counts). For each: valid or not (the first broken rule), forwards, the least
memory of a trace making its calls, the optimum at that memory and the ratio, and the
gradient agreement where the tool computes gradients. This script measures the rows and
writes the JSON; ``bench/audit_page.py`` renders the page from the JSON alone, so it can be
rebuilt without the frameworks (``--page-only``).

Run: python bench/audit_tools.py              (all rows; needs torch, jax and equinox:
                                               pip install ".[test,torch,jax]")
     python bench/audit_tools.py --quick      (a small grid of each, seconds)
     python bench/audit_tools.py --parts schedules   (only checkpoint-schedules' rows)
     python bench/audit_tools.py --page-only  (docs/audit.md from bench/results/audit.json)
Writes bench/results/audit.json (``--out``) and docs/audit.md (``--page``), each whole or
not at all; progress on stderr.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import importlib.util
import json
import math
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
from audit_page import PARTS, render_page  # bench/, next to this script

import mini_bptt as mb
from mini_bptt.machine import describe
from mini_bptt.oracle.trace_file import atomic_path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "bench" / "results" / "audit.json"
DEFAULT_PAGE = ROOT / "docs" / "audit.md"
PACKAGES = ("mini_bptt", "numpy", "checkpoint-schedules", "torch", "jax", "equinox")

# each part's grid, in full and for --quick: the schedules' T values and snapshot counts
# (each s < T), the frameworks' (T, segments) and (T, c) cases
GRIDS = {
    "schedules": {"full": ((10, 30, 100, 300), (2, 3, 5, 10)), "quick": ((10, 30), (2, 3))},
    "torch": {"full": ((12, 3), (60, 4), (60, 8), (100, 10), (200, 14)), "quick": ((12, 3),)},
    "equinox": {"full": ((10, 2), (30, 3), (60, 5), (100, 10), (200, 10)), "quick": ((10, 2),)},
}
TWO_LEVEL_PERIOD = 10


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def units(value) -> float | None:
    """A number of units for JSON (exact: budgets are multiples of half a unit here)."""
    return None if value is None else float(Fraction(value))


def judged_calls(calls: list, steps: int, *, alpha, internal_has_output: bool, budget=None) -> dict:
    """The columns that come from a call log: its least-memory trace (``trace_from_calls``),
    its forwards, the optimum at that memory for its class and for any plan, and, with a
    ``budget``, whether it fits it (the first broken rule when not)."""
    row: dict = {"alpha": units(alpha), "internal_has_output": internal_has_output}
    try:
        trace = mb.trace_from_calls(
            calls, steps=steps, alpha=alpha, internal_has_output=internal_has_output
        )
    except mb.PlanError as error:  # no valid trace makes these calls
        return {**row, "valid": False, "error": f"call log: {error}"}
    least = trace.peak_memory
    same_class = mb.cost(
        steps,
        least,
        alpha=alpha,
        strategy=trace.strategy,
        internal_has_output=internal_has_output,
    )
    any_plan = trace.optimal_forward_count
    row.update(
        valid=True,
        error="",
        forwards=trace.forward_count,
        least_memory=units(least),
        trace_class=trace.strategy,
        optimum_class=same_class,
        optimum_any=any_plan,
        ratio_class=round(trace.forward_count / same_class, 4),
        ratio_any=None if any_plan is None else round(trace.forward_count / any_plan, 4),
    )
    if budget is not None:
        verdict = mb.check(
            trace.actions, steps, budget, alpha=alpha, internal_has_output=internal_has_output
        )
        row.update(budget=units(budget), valid=verdict.valid, error=verdict.error)
    return row


# ---- checkpoint-schedules ------------------------------------------------------------


def schedule_makers(cs) -> dict[str, tuple[Callable, bool]]:
    """name -> (make(T, s), count_disk): the schedules audited, each for T steps and s
    snapshots, and whether its disk data is counted in our one-level budget."""
    ram = cs.StorageType.RAM
    return {
        "Revolve": (lambda t, s: cs.Revolve(t, s), False),
        "MultistageCheckpointSchedule": (
            lambda t, s: cs.MultistageCheckpointSchedule(t, s, 0),
            False,
        ),
        "MixedCheckpointSchedule": (
            lambda t, s: cs.MixedCheckpointSchedule(t, s, storage=ram),
            False,
        ),
        "HRevolve (RAM only)": (lambda t, s: cs.HRevolve(t, s, 0), False),
        "HRevolve (1 in RAM, s-1 on disk)": (lambda t, s: cs.HRevolve(t, 1, s - 1), True),
        "DiskRevolve": (lambda t, s: cs.DiskRevolve(t, s), True),
        "TwoLevelCheckpointSchedule": (
            lambda t, s: cs.TwoLevelCheckpointSchedule(TWO_LEVEL_PERIOD, s, binomial_storage=ram),
            True,
        ),
    }


def claimed_budget(name: str, steps: int, snapshots: int) -> int:
    """The budget schedule ``name`` claims in our units: its snapshots, ``h[0]`` one of them,
    and for TwoLevel also its periodic checkpoints on disk, one every TWO_LEVEL_PERIOD steps."""
    if name == "TwoLevelCheckpointSchedule":
        return math.ceil(steps / TWO_LEVEL_PERIOD) + snapshots
    return snapshots


def schedule_rows(steps_grid, snapshots_grid, names: list[str] | None = None) -> list[dict]:
    """One row per schedule, T and snapshot count s < T, from the schedule's own actions
    (``from_checkpoint_schedule``), judged with alpha = 1 and ``internal_has_output=False``
    (their adjoint data cannot restart the forward; their mixed schedule counts both kinds
    of data as one unit)."""
    import warnings

    import checkpoint_schedules as cs

    from mini_bptt.oracle.interop import from_checkpoint_schedule

    rows = []
    for name, (make, count_disk) in schedule_makers(cs).items():
        if names is not None and name not in names:
            continue
        for steps in steps_grid:
            for snapshots in (s for s in snapshots_grid if s < steps):
                budget = claimed_budget(name, steps, snapshots)
                with warnings.catch_warnings():  # the mixed schedule: numba not installed
                    warnings.filterwarnings("ignore", "Numba not available", RuntimeWarning)
                    schedule = make(steps, snapshots)
                    online = schedule.max_n is None
                    actions = from_checkpoint_schedule(
                        schedule, count_disk=count_disk, steps=steps if online else None
                    )
                calls = [(a.op, a.step) for a in actions if a.op in ("forward", "backward")]
                in_budget = mb.check(actions, steps, budget, alpha=1, internal_has_output=False)
                everything = 2 * steps + 1  # every hidden and internal state at once
                unbounded = mb.check(actions, steps, everything, alpha=1, internal_has_output=False)
                error = in_budget.error
                if not unbounded.valid:
                    error += f" (with any budget: {unbounded.error})"
                row = {
                    "part": "schedules",
                    "tool": name,
                    "steps": steps,
                    "setting": {"snapshots": snapshots},
                    "count_disk": count_disk,
                    **judged_calls(calls, steps, alpha=1, internal_has_output=False),
                    "budget": units(budget),
                    "valid": in_budget.valid,
                    "error": error,
                    "own_peak": units(unbounded.peak_memory) if unbounded.valid else None,
                    "gradients": None,
                }
                rows.append(row)
                log_row(row)
    return rows


# ---- the frameworks: one LSTM problem, gradients against mb.full_bptt ------------------

BATCH, INPUTS, HIDDEN = 4, 8, 16


def lstm_problem(steps: int):
    """Inputs, initial state [h | c] and targets of an LSTM run (float64, seeded by T)."""
    rng = np.random.default_rng(steps)
    xs = rng.normal(size=(steps, BATCH, INPUTS))
    state0 = rng.normal(scale=0.5, size=(BATCH, 2 * HIDDEN))
    return xs, state0, rng.normal(size=(steps, BATCH, HIDDEN))


def largest_difference(theirs: dict, plain: dict) -> float:
    """max over arrays of ``max |theirs - plain| / max |plain|``: checkpointed against plain."""
    return max(
        float(np.max(np.abs(theirs[k] - plain[k])) / np.max(np.abs(plain[k]))) for k in plain
    )


def against_full_bptt(cell, xs, state0, targets, grads: dict) -> float:
    """The largest relative error of ``grads`` (every array named) against mb.full_bptt."""
    reference = mb.full_bptt(cell, xs, state0, mb.MSEHead(targets))
    verdict = mb.compare_gradients(reference, grads, cell=cell)
    return max(a.max_rel_error for a in verdict.arrays)


def framework_row(
    row: dict, calls: list, cell, problem: tuple, grads: dict, plain: dict, *, budget=None
) -> dict:
    """``row`` (part, tool, steps, setting) with the columns of a framework's call log, judged
    with ``cell``'s alpha and ``internal_has_output=True``, and its gradients' largest errors
    against the same framework without checkpointing and against mb.full_bptt on ``problem``
    (``lstm_problem``'s inputs, initial state and targets); logged as progress."""
    judged = judged_calls(
        calls, row["steps"], alpha=cell.alpha, internal_has_output=True, budget=budget
    )
    errors = {
        "plain": largest_difference(grads, plain),
        "full_bptt": against_full_bptt(cell, *problem, grads),
    }
    row = {**row, **judged, "gradients": errors}
    log_row(row)
    return row


def torch_rows(cases) -> list[dict]:
    """``checkpoint_sequential`` over T ``torch.nn.LSTMCell`` steps in ``segments``, in both
    modes: its calls logged by ``mini_bptt.oracle.torch_hooks.CallLog.wrap_sequence``."""
    import torch
    from torch.utils.checkpoint import checkpoint_sequential

    from mini_bptt.oracle.torch_hooks import CallLog

    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(INPUTS, HIDDEN).double()
    ours = mb.LSTMCell.from_weights(
        **{name: p.detach().numpy() for name, p in cell.named_parameters()}
    )
    H = HIDDEN

    def step_for(x, target):
        def step(state):  # state = [h | c | loss so far]: the loss rides along the sequence
            h, c = cell(x, (state[:, :H], state[:, H : 2 * H]))
            loss = state[:, 2 * H :] + 0.5 * ((h - target) ** 2).sum(dim=1, keepdim=True)
            return torch.cat([h, c, loss], dim=1)

        return step

    def gradients(functions, state0, segments=None, reentrant=None) -> dict:
        cell.zero_grad(set_to_none=True)
        start = torch.cat([torch.tensor(state0), torch.zeros(BATCH, 1)], 1).requires_grad_()
        if segments is None:
            out = start
            for function in functions:
                out = function(out)
        else:
            out = checkpoint_sequential(functions, segments, start, use_reentrant=reentrant)
        out[:, 2 * H :].sum().backward()
        grads = {name: p.grad.numpy().copy() for name, p in cell.named_parameters()}
        return {**grads, "dh0": start.grad[:, :H].numpy(), "dc0": start.grad[:, H : 2 * H].numpy()}

    rows = []
    for steps, segments in cases:
        problem = xs, state0, targets = lstm_problem(steps)
        functions = [
            step_for(torch.tensor(x), torch.tensor(t)) for x, t in zip(xs, targets, strict=True)
        ]
        plain = gradients(functions, state0)
        for reentrant in (True, False):
            call_log = CallLog()
            grads = gradients(call_log.wrap_sequence(functions), state0, segments, reentrant)
            row = {
                "part": "torch",
                "tool": f"checkpoint_sequential(use_reentrant={reentrant})",
                "steps": steps,
                "setting": {"segments": segments},
            }
            rows.append(framework_row(row, call_log.calls, ours, problem, grads, plain))
    return rows


def equinox_rows(cases) -> list[dict]:
    """equinox's ``while_loop(kind="checkpointed", checkpoints=c)`` over T LSTM steps, its
    body logged by ``mini_bptt.oracle.jax_hooks.CallLog.wrap``; differentiated under jit."""
    import equinox.internal as eqxi
    import jax
    import jax.numpy as jnp

    from mini_bptt.oracle.jax_hooks import CallLog

    was_x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)  # float64, as mb.full_bptt
    try:
        ours = mb.LSTMCell(INPUTS, HIDDEN, seed=0)
        params = {k: jnp.asarray(v) for k, v in ours.params.items()}
        rows = []
        for steps, checkpoints in cases:
            problem = xs, state0, targets = lstm_problem(steps)
            body = lstm_body(jnp, jnp.asarray(xs), jnp.asarray(targets))
            plain = jax_gradients(jax, jnp, body, steps, params, state0, None)
            call_log = CallLog()
            logged = call_log.wrap(body, step=lambda carry: carry[0] + 1)
            run = functools.partial(eqxi.while_loop, kind="checkpointed", checkpoints=checkpoints)
            grads = jax_gradients(jax, jnp, logged, steps, params, state0, run)
            row = {
                "part": "equinox",
                "tool": 'while_loop(kind="checkpointed")',
                "steps": steps,
                "setting": {"checkpoints": checkpoints},
                "runs_of_step_T": call_log.calls.count(("forward", steps)),
            }
            rows.append(
                framework_row(row, call_log.calls, ours, problem, grads, plain, budget=checkpoints)
            )
        return rows
    finally:
        jax.config.update("jax_enable_x64", was_x64)


def lstm_body(jnp, xs, targets):
    """``body(carry) -> carry``, carry = (steps done, [h | c], loss so far, params): one
    step of mb.LSTMCell's equations and mb.MSEHead's loss."""
    H = HIDDEN
    sigmoid = lambda z: 1 / (1 + jnp.exp(-z))  # noqa: E731

    def body(carry):
        i, state, loss, p = carry
        z = xs[i] @ p["W_xh"].T + state[:, :H] @ p["W_hh"].T + p["b"]
        gate, forget = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H])
        c = forget * state[:, H:] + gate * jnp.tanh(z[:, 2 * H : 3 * H])
        h = sigmoid(z[:, 3 * H :]) * jnp.tanh(c)
        loss = loss + 0.5 * jnp.sum((h - targets[i]) ** 2)
        return i + 1, jnp.concatenate([h, c], axis=1), loss, p

    return body


def jax_gradients(jax, jnp, body, steps: int, params: dict, state0, loop) -> dict:
    """Gradients of the loss over ``steps`` of ``body``: by ``loop(cond, body, carry,
    max_steps=steps)``, or, with ``loop`` None, a plain ``lax.scan`` (no checkpointing)."""

    def loss(params, state):
        carry = (jnp.asarray(0), state, jnp.asarray(0.0), params)
        if loop is None:
            carry = jax.lax.scan(lambda c, _: (body(c), None), carry, None, length=steps)[0]
        else:
            carry = loop(lambda c: c[0] < steps, body, carry, max_steps=steps)
        return carry[2]

    dparams, dstate = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, jnp.asarray(state0))
    return {**{k: np.asarray(v) for k, v in dparams.items()}, "dh0": np.asarray(dstate)}


def log_row(row: dict) -> None:
    """One finished row as progress on stderr."""
    setting = " ".join(f"{name}={value}" for name, value in row["setting"].items())
    log(
        f"{row['part']}: {row['tool']} T={row['steps']} {setting} valid={row['valid']} "
        f"forwards={row.get('forwards')} least memory={row.get('least_memory')}"
    )


# ---- the JSON and the command line ----------------------------------------------------


def measure(part: str, quick: bool) -> tuple[dict, list[dict]]:
    """The setup and the rows of one part, on its full grid or (``quick``) its small one."""
    grid = GRIDS[part]["quick" if quick else "full"]
    if part == "schedules":
        setup = {"alpha": 1, "internal_has_output": False, "period": TWO_LEVEL_PERIOD}
        return setup, schedule_rows(*grid)
    alpha = mb.LSTMCell(INPUTS, HIDDEN).alpha
    setup = {"inputs": INPUTS, "hidden": HIDDEN, "batch": BATCH, "alpha": alpha}
    return setup, (torch_rows if part == "torch" else equinox_rows)(grid)


def versions() -> dict[str, str | None]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def write_whole(path: Path, text: str) -> None:
    """``text`` to ``path``, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small grid of each tool")
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}"
    )
    parser.add_argument("--page-only", action="store_true", help="render the page from --out")
    parser.add_argument("--out", type=Path, default=DEFAULT_JSON, help="the JSON results")
    parser.add_argument("--page", type=Path, default=DEFAULT_PAGE, help="the Markdown page")
    args = parser.parse_args(argv)
    if args.page_only:
        data = json.loads(args.out.read_text(encoding="utf-8"))
        write_whole(args.page, render_page(data))
        return 0
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)}; accepted: {', '.join(PARTS)}")
    for part, package, extra in (("torch", "torch", "torch"), ("equinox", "equinox", "jax")):
        if part in parts and importlib.util.find_spec(package) is None:
            parser.error(
                f"--parts {part} needs {package}: pip install '.[{extra}]', or leave it out "
                f"(--parts schedules), or render the page alone (--page-only)"
            )
    start = time.perf_counter()
    rows, setup = [], {}
    for part in (p for p in PARTS if p in parts):  # in the page's order, whatever --parts says
        setup[part], part_rows = measure(part, args.quick)
        rows += part_rows
    data = {
        "command": " ".join(
            ["python bench/audit_tools.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "machine": describe(),
        "versions": versions(),
        "parts": parts,
        "seconds": round(time.perf_counter() - start, 1),
        "setup": setup,
        "rows": rows,
    }
    write_whole(args.out, json.dumps(data, indent=1) + "\n")
    write_whole(args.page, render_page(data))
    log(f"wrote {args.out} and {args.page} in {data['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
