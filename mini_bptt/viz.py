"""Pictures of plans, memory and costs (matplotlib, imported only when a function is called).

Used by the paper figures, the CLI's ``plan --show`` and the tutorials.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from mini_bptt.planning.plan import Plan, parse_memory, run_replay
from mini_bptt.planning.units import units_for

# one colour per kind of action, shared by every picture
COLOURS = {
    "forward": "#4c72b0",
    "backward": "#c44e52",
    "save_hidden": "#55a868",
    "save_internal": "#8172b2",
}


def _pyplot():
    try:  # with no display matplotlib falls back to Agg by itself
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("drawing needs matplotlib: pip install 'mini_bptt[figures]'") from exc
    return plt


def has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("MPLBACKEND"))


def memory_timeline(plan: Plan) -> list[float]:
    """Saved units after each action of ``plan`` (from the shared replay)."""
    units = units_for(plan.alpha)
    memory = parse_memory(plan.memory, plan.steps, units)
    replay = run_replay(plan.actions, plan.steps, units, memory, plan.internal_has_output)
    return [units.to_memory(u) for u in replay.timeline]


def plot_plan(plan: Plan, ax=None):
    """Time step against action order, like the paper's policy pictures.

    Forwards trace the cursor, backwards the reversed steps; saves are marked.
    """
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    order = {op: ([], []) for op in COLOURS}
    for index, action in enumerate(plan.actions):
        if action.op in order:
            order[action.op][0].append(index)
            order[action.op][1].append(action.step)
    styles = {
        "forward": dict(marker=".", s=8),
        "backward": dict(marker="x", s=14),
        "save_hidden": dict(marker="o", s=40, facecolors="none"),
        "save_internal": dict(marker="s", s=40, facecolors="none"),
    }
    for op, (xs, ys) in order.items():
        kwargs = dict(styles[op])
        colour_key = "edgecolors" if kwargs.get("facecolors") == "none" else "color"
        kwargs[colour_key] = COLOURS[op]
        ax.scatter(xs, ys, label=op.replace("_", " "), **kwargs)
    ax.set_xlabel("action order")
    ax.set_ylabel("time step")
    ax.set_title(
        f"{plan.strategy} ({plan.model}): T={plan.steps}, memory={plan.memory}, "
        f"{plan.forward_count} forwards"
    )
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_memory(plan_or_timeline: Plan | Sequence[float], budget: float | None = None, ax=None):
    """Saved units after each action, with the budget as a dashed line."""
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(8, 2.5))[1]
    if isinstance(plan_or_timeline, Plan):
        plan = plan_or_timeline
        timeline = memory_timeline(plan)
        if budget is None:
            budget = float(parse_memory(plan.memory, plan.steps, units_for(plan.alpha)))
    else:
        timeline = list(plan_or_timeline)
    ax.step(range(len(timeline)), timeline, where="post", color="#333333")
    if budget is not None:
        ax.axhline(float(budget), linestyle="--", color="#c44e52", label="budget")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel("action order")
    ax.set_ylabel("saved units")
    return ax


def plot_costs(curves: dict[str, tuple[Sequence, Sequence]], ax=None, xlabel="memory (units)"):
    """Forward evaluations per step against memory, one line per named curve (x, y)."""
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for name, (xs, ys) in curves.items():
        ax.plot([float(Fraction(x)) for x in xs], ys, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("forward evaluations per step")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


def show_plan(plan: Plan, path: str | None = None) -> None:
    """Draw ``plan`` and its memory timeline; save to ``path`` or show on screen."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    plot_plan(plan, ax=top)
    plot_memory(plan, ax=bottom)
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=120)
    else:
        plt.show()
    plt.close(fig)
