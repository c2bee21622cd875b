"""Still pictures: a plan's actions, its memory over time, cost curves."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from mini_bptt.oracle.trace_file import atomic_path
from mini_bptt.planning.plan import Plan
from mini_bptt.planning.plan_value import run_replay

# one colour per kind of action, shared by every picture
COLOURS = {
    "forward": "#4c72b0",
    "backward": "#c44e52",
    "save_hidden": "#55a868",
    "save_internal": "#8172b2",
    "restore_hidden": "#55a868",
    "restore_internal": "#8172b2",
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
    """Saved units after each action of ``plan`` (from the shared replay).

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    list of float
        Hidden-state units saved after each action (``h[0]``'s unit counts from the start).

    Raises
    ------
    PlanError
        If the plan breaks a rule (a ``Plan`` never does).

    Examples
    --------
    >>> import mini_bptt as mb
    >>> memory_timeline(mb.plan(3, 2, strategy="hsm"))[:3]
    [1, 2, 2]
    """
    problem = plan.problem
    replay = run_replay(
        plan.actions, plan.steps, problem.grains, problem.budget, plan.internal_has_output
    )
    return [problem.grains.in_units(g) for g in replay.timeline]


def plot_plan(plan: Plan, ax=None):
    """Time step against action order, like the paper's policy pictures.

    Forwards trace the cursor, backwards the reversed steps; saves are marked.

    Parameters
    ----------
    plan : Plan
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ImportError
        Without matplotlib (``pip install 'mini_bptt[figures]'``).

    Examples
    --------
    >>> import mini_bptt as mb
    >>> plot_plan(mb.plan(10, 3, strategy="hsm")).get_xlabel()
    'action order'
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
        "restore_hidden": dict(marker="<", s=30),  # the forward restarts here: the jumps
        "restore_internal": dict(marker="<", s=30),
    }
    for op, (xs, ys) in order.items():
        if not xs:  # only the kinds of action this plan has
            continue
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
    # beside the axes, not on the first forward sweep
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    return ax


def plot_memory(plan_or_timeline: Plan | Sequence[float], budget: float | None = None, ax=None):
    """Saved units after each action, with the budget as a dashed line.

    Parameters
    ----------
    plan_or_timeline : Plan or sequence of float
        A plan, or a timeline of saved units (e.g. ``Result.memory_timeline``).
    budget : float, optional
        The line to draw; a plan's own budget when None.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ImportError
        Without matplotlib.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> plot_memory(mb.plan(10, 3, strategy="hsm")).get_ylabel()
    'saved units'
    """
    plt = _pyplot()
    ax = ax or plt.subplots(figsize=(8, 2.5))[1]
    if isinstance(plan_or_timeline, Plan):
        plan = plan_or_timeline
        timeline = memory_timeline(plan)
        if budget is None:
            budget = float(plan.problem.memory_units)
    else:
        timeline = list(plan_or_timeline)
    ax.step(range(len(timeline)), timeline, where="post", color="#333333")
    if budget is not None:
        ax.axhline(float(budget), linestyle="--", color="#c44e52", label="budget")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    ax.set_xlabel("action order")
    ax.set_ylabel("saved units")
    return ax


def plot_costs(curves: dict[str, tuple[Sequence, Sequence]], ax=None, xlabel="memory (units)"):
    """Forward evaluations per step against memory, one line per named curve.

    Parameters
    ----------
    curves : dict
        Name -> (memory values, forwards per step).
    ax : matplotlib Axes, optional
    xlabel : str

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ImportError
        Without matplotlib.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> memory = range(2, 10)
    >>> ax = plot_costs({"hsm": (memory, [mb.cost(100, m, strategy="hsm") / 100 for m in memory])})
    >>> [line.get_label() for line in ax.get_lines()]
    ['hsm']
    """
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
    """Draw ``plan`` and its memory timeline; save to ``path`` or show on screen.

    Parameters
    ----------
    plan : Plan
    path : str, optional
        A PNG (or any format matplotlib writes) to save; on screen when None.

    Returns
    -------
    None

    Raises
    ------
    ImportError
        Without matplotlib; ``OSError`` if ``path`` cannot be written.

    Examples
    --------
    >>> import os, tempfile, mini_bptt as mb
    >>> path = os.path.join(tempfile.mkdtemp(), "plan.png")
    >>> show_plan(mb.plan(10, 3, strategy="hsm"), path=path)
    >>> os.path.getsize(path) > 10_000
    True
    """
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    plot_plan(plan, ax=top)
    plot_memory(plan, ax=bottom)
    fig.tight_layout()
    try:
        if path:
            with atomic_path(path) as partial:  # the previous picture stays until this one is whole
                fig.savefig(partial, dpi=120)
        else:
            plt.show()
    finally:
        plt.close(fig)
