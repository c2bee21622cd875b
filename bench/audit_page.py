"""docs/audit.md from bench/results/audit.json: the page of the audit of real checkpointing
tools against the oracle (``bench/audit_tools.py`` measures the rows).

Every number on the page comes from the JSON (``render_page``), so the page can be rebuilt
without torch, jax or equinox: ``python bench/audit_tools.py --page-only``. The prose says
how each part's rows were obtained; its few numbers (alpha, sizes, the TwoLevel period) are
read from the JSON's ``setup``.
"""

from __future__ import annotations

# the parts of an audit, in the page's order: each has a section, measured or not
PARTS = ("schedules", "torch", "equinox")


def shown(value) -> str:
    """A cell of the page: a count, units (89.5), a ratio, or a dash for none."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    return str(value)


def shown_ratio(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def shown_error(value) -> str:
    return "—" if value is None else f"{value:.1e}"


def verdict(row: dict) -> str:
    return "valid" if row["valid"] else "**no**: " + row["error"].replace("|", "\\|")


def gradient_error(row: dict, against: str) -> float | None:
    """The row's largest gradient error against ``"plain"`` or ``"full_bptt"``, if measured."""
    return (row.get("gradients") or {}).get(against)


STEPS_COLUMN = ("T", lambda r: shown(r["steps"]))


def setting_column(header: str, name: str) -> tuple:
    """The column showing the tool's setting ``name`` (segments, checkpoints, snapshots)."""
    return header, lambda r: shown(r["setting"][name])


TRACE_COLUMNS = [
    ("forwards", lambda r: shown(r.get("forwards"))),
    ("least memory", lambda r: shown(r.get("least_memory"))),
    ("class", lambda r: r.get("trace_class", "—")),
    ("optimum, class", lambda r: shown(r.get("optimum_class"))),
    ("ratio", lambda r: shown_ratio(r.get("ratio_class"))),
    ("optimum, any plan", lambda r: shown(r.get("optimum_any"))),
    ("ratio ", lambda r: shown_ratio(r.get("ratio_any"))),
]
GRADIENT_COLUMNS = [
    ("gradients vs plain run", lambda r: shown_error(gradient_error(r, "plain"))),
    ("vs mb.full_bptt", lambda r: shown_error(gradient_error(r, "full_bptt"))),
]
COLUMNS = {
    "torch": [
        STEPS_COLUMN,
        setting_column("segments", "segments"),
        ("valid", verdict),
        *TRACE_COLUMNS,
        *GRADIENT_COLUMNS,
    ],
    "equinox": [
        STEPS_COLUMN,
        setting_column("c", "checkpoints"),
        ("valid within c", verdict),
        *TRACE_COLUMNS,
        *GRADIENT_COLUMNS,
    ],
    "schedules": [
        STEPS_COLUMN,
        setting_column("s", "snapshots"),
        ("budget", lambda r: shown(r["budget"])),
        ("valid within budget", verdict),
        ("its peak", lambda r: shown(r.get("own_peak"))),
        *TRACE_COLUMNS,
    ],
}


def table(rows: list[dict], columns) -> list[str]:
    lines = ["| " + " | ".join(h.strip() for h, _ in columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    lines += ["| " + " | ".join(cell(r) for _, cell in columns) + " |" for r in rows]
    return lines


def span(values: list) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    low, high = min(values), max(values)
    return shown_ratio(low) if low == high else f"{shown_ratio(low)}–{shown_ratio(high)}"


def summary(rows: list[dict]) -> list[str]:
    lines = [
        "| tool | rows | valid | ratio to the optimum of its class "
        "| ratio to the optimum of any plan | largest gradient error vs mb.full_bptt |",
        "|---|---|---|---|---|---|",
    ]
    for tool in dict.fromkeys(r["tool"] for r in rows):
        mine = [r for r in rows if r["tool"] == tool]
        errors = [gradient_error(r, "full_bptt") for r in mine]
        worst = max((e for e in errors if e is not None), default=None)
        lines.append(
            f"| {tool} | {len(mine)} | {sum(r['valid'] for r in mine)} "
            f"| {span([r.get('ratio_class') for r in mine])} "
            f"| {span([r.get('ratio_any') for r in mine])} | {shown_error(worst)} |"
        )
    return lines


def render_page(data: dict) -> str:
    """docs/audit.md from the JSON alone: every number on it comes from ``data``."""
    tools = ", ".join(f"{name} {version}" for name, version in data["versions"].items() if version)
    machine = data["machine"]
    lines = [
        "# Audit: real checkpointing tools against the oracle",
        "",
        "Written by `bench/audit_tools.py` from `bench/results/audit.json`: every number on "
        "this page is measured by that script, none is typed by hand. To regenerate it, "
        '`pip install ".[test,torch,jax]"` and run `python bench/audit_tools.py`; '
        "`--page-only` renders this page again from the JSON.",
        "",
        f"This run: `{data['command']}`, {data['seconds']} s on {machine['cpu']} "
        f"({machine['cores']} cores), Python {machine['python']}; {tools}.",
        "",
        HOW_TO_READ,
        "",
        "## Summary",
        "",
        *summary(data["rows"]),
    ]
    for part in PARTS:
        rows = [r for r in data["rows"] if r["part"] == part]
        lines += ["", f"## {TITLES[part]}", ""]
        if part not in data["parts"]:
            lines.append("Not measured in this run.")
            continue
        lines.append(HOW[part](data["setup"][part]))
        if part == "equinox" and rows:
            lines += ["", equinox_remark(rows)]
        for tool in dict.fromkeys(r["tool"] for r in rows):
            lines += ["", f"### {tool}", ""]
            lines += table([r for r in rows if r["tool"] == tool], COLUMNS[part])
    return "\n".join(lines) + "\n"


HOW_TO_READ = """## How to read the tables

Each tool is reduced to the order in which it calls one step's forward and backward, and
judged under the rules of [the model](model.md):

- **valid**: whether the tool keeps to the memory it claims: checkpoint-schedules' own
  actions within its snapshots, equinox's least trace within its `c` checkpoints;
  `checkpoint_sequential` claims no budget and is valid when some valid trace makes its
  calls. When not, the first broken rule with its action index, as `mb.check` says it.
- **forwards**: forward evaluations of a step, the first sweep included (each tool runs
  every backward once).
- **least memory**: the least peak, in hidden-state units with `h[0]` included, of any valid
  trace that makes the tool's forward and backward calls in the tool's order
  (`mb.trace_from_calls`, *Traces from call logs* in the model page). It counts states in
  units; it is not a measurement of bytes.
- **class**: what that trace saves: `hsm` hidden states only, `ism` internal states only,
  `msm` both.
- **optimum, class** and **optimum, any plan**: `mb.cost(T, least memory, alpha=...,
  strategy=..., internal_has_output=...)` with the trace's class, and with `"msm"`: the
  fewest forwards of any plan of that class, or of any plan, within the same memory.
  **ratio**: forwards over that optimum (1.000 is optimal).
- **gradients**: where the tool computes gradients, the largest relative error over the
  arrays (per array `max |ours - theirs| / max |ours|`, as `mb.compare_gradients` defines
  it), against the same framework without checkpointing (plain run) and against
  `mb.full_bptt` on the same weights, inputs and loss; float64 throughout."""

TITLES = {
    "schedules": "checkpoint-schedules",
    "torch": "PyTorch: `checkpoint_sequential`",
    "equinox": 'equinox: `while_loop(kind="checkpointed")`',
}


def how_schedules(setup: dict) -> str:
    return f"""**How each row was obtained.** The schedule is built for T steps and s snapshots,
and `mini_bptt.oracle.interop.from_checkpoint_schedule` reads its actions as ours (its
`Forward`, `Reverse`, `Copy` and `Move` become forwards, backwards, saves, restores and
frees: the table is in the testing page, *Storage levels and units*). **valid within
budget** is `mb.check` of those actions with the budget the schedule claims, alpha =
{shown(setup["alpha"])} and `internal_has_output={setup["internal_has_output"]}` (their adjoint
data cannot restart the forward); **its peak** is the peak of the same actions with no
budget. The other columns come from their forward and backward calls alone, as for the
frameworks.

**Snapshots and units.** Every item a schedule keeps in storage is one saved item of ours:
restart data at their `n` is our `h[n]` (1 unit), adjoint data of their step `n` is our
`s[n+1]` (alpha units, and alpha = 1 here: their mixed schedule counts both kinds of data
as one unit). `h[0]` is one of the snapshots: our budget holds it from the start, as their
snapshot counts include the initial state, so `Revolve(T, s)`,
`MultistageCheckpointSchedule(T, s, 0)`, `MixedCheckpointSchedule(T, s)` and
`HRevolve(T, s, 0)` claim `s` units.

**Disk.** Our budget is one memory level, so disk data is counted in it
(`count_disk=True`): `HRevolve(T, 1, s - 1)` and `DiskRevolve(T, s)` claim their RAM and
disk snapshots together, `s`; `TwoLevelCheckpointSchedule({setup["period"]}, s)` (binomial
snapshots in RAM, periodic checkpoints always on disk) claims `ceil(T / {setup["period"]}) + s`.
An item stays counted until the schedule deletes it from every level, and data held on
both levels at once is one item. HRevolve and DiskRevolve never delete the disk data they
copy back to RAM, so they can pass that one budget: the first broken rule says where, and
**its peak** how far. Without `count_disk=True` the importer refuses them, naming the
first action on disk."""


def how_torch(setup: dict) -> str:
    return f"""**How each row was obtained.** A `torch.nn.LSTMCell({setup["inputs"]},
{setup["hidden"]})` in float64 runs T steps on a batch of {setup["batch"]}. Each step is a
function of one tensor, the state `[h | c | loss so far]` (the loss of `mb.MSEHead` rides
along), and the list of the T steps goes to `checkpoint_sequential(steps, segments,
state, use_reentrant=...)`, which keeps the input of each segment, recomputes a segment
when its backward needs it, and runs the last segment without checkpointing.
`mini_bptt.oracle.torch_hooks.CallLog.wrap_sequence` wraps each step: a call of step i
logs `("forward", i)` (the first sweep and every recomputation), and an identity autograd
node on the step's inputs logs `("backward", i)` once step i's backward is complete.
`mb.trace_from_calls` turns the log into the least-memory trace with alpha =
{shown(setup["alpha"])} (`mb.LSTMCell`'s internal state over its hidden state) and
`internal_has_output=True`. Gradients: of the weights and of the initial `h` and `c`,
against the same steps run without checkpointing, and against `mb.full_bptt` with the
same weights (`mb.LSTMCell.from_weights`)."""


def how_equinox(setup: dict) -> str:
    return f"""**How each row was obtained.** One step of an LSTM of the same
sizes ({setup["inputs"]} inputs, {setup["hidden"]} hidden units, batch {setup["batch"]},
float64), written in `jax.numpy` with `mb.LSTMCell`'s equations and weights, is the body of
`equinox.internal.while_loop(cond, body, carry, max_steps=T, kind="checkpointed",
checkpoints=c)`; the carry holds the number of steps done, `[h | c]`, the loss so far and
the weights, and `jax.grad` of the loss runs under `jax.jit`.
`mini_bptt.oracle.jax_hooks.CallLog.wrap` wraps the body: an ordered `jax.debug.callback`
logs `("forward", i)` each time the body runs (the sweep and every rerun), and an
identity with a `jax.custom_vjp` on the carry logs `("backward", i)` when the cotangent
of step i's input is computed, i read from the carry. The log becomes the least-memory
trace as for PyTorch (alpha = {shown(setup["alpha"])}); **valid within c** checks that
trace with `memory = c`. Gradients: of the weights and of the initial `[h | c]`, against
the same body in a plain `jax.lax.scan`, and against `mb.full_bptt`."""


def equinox_remark(rows: list[dict]) -> str:
    """What every equinox row shows, counted from the rows."""
    at_c = sum(r.get("least_memory") == r["setting"]["checkpoints"] for r in rows)
    twice = sum(r["runs_of_step_T"] >= 2 for r in rows)
    return (
        f"In {at_c} of {len(rows)} rows the least memory is `c` itself (`h[0]` is one of the "
        f"units). In {twice} of {len(rows)} rows the log runs step T more than once before its "
        "backward: in the sweep, then again right before its backward."
    )


HOW = {"schedules": how_schedules, "torch": how_torch, "equinox": how_equinox}
