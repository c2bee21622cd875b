"""Pictures of plans, memory and costs (matplotlib, imported only when a function is called).

Used by the paper figures, the CLI's ``plan --show`` and the tutorials.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from mini_bptt.common import arguments
from mini_bptt.oracle.trace_file import atomic_path
from mini_bptt.planning.actions import Action
from mini_bptt.planning.plan import Plan, bptt_peak, parse_memory, plan, run_replay
from mini_bptt.planning.replay import Replay
from mini_bptt.planning.units import units_for

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
    units = units_for(plan.alpha)
    memory = parse_memory(plan.memory, plan.steps, units)
    replay = run_replay(plan.actions, plan.steps, units, memory, plan.internal_has_output)
    return [units.to_memory(u) for u in replay.timeline]


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
            budget = float(parse_memory(plan.memory, plan.steps, units_for(plan.alpha)))
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


# -- stepping through a plan ------------------------------------------------------------------

MAX_ANIMATED_ACTIONS = 3000  # one frame per action: past this a GIF or an HTML page is huge


@dataclass(frozen=True)
class Frame:
    """What the model holds after one action (``index``) of a plan; memory in hidden-state
    units. ``core`` is the step whose internal state is in the core (None: empty)."""

    index: int
    action: Action
    cursor: int
    core: int | None
    hidden: tuple[int, ...]
    internal: tuple[int, ...]
    next_backward: int
    used: float
    forward_count: int


def plan_frames(plan: Plan) -> list[Frame]:
    """The model's state after each action of ``plan`` (from the shared replay).

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    list of Frame
        One per action: the cursor, the core, what is saved, the next step to reverse,
        the saved units and the forwards so far.

    Raises
    ------
    PlanError
        If the plan breaks a rule (a ``Plan`` never does).

    Examples
    --------
    >>> import mini_bptt as mb
    >>> frame = plan_frames(mb.plan(3, 2, strategy="hsm"))[1]
    >>> frame.action, frame.hidden, frame.cursor
    (Action(op='save_hidden', step=1), (0, 1), 1)
    """
    units = units_for(plan.alpha)
    replay = Replay(plan.steps, units, None, plan.internal_has_output)
    frames = []
    for index, action in enumerate(plan.actions):
        replay.apply(index, action.op, action.step)
        frames.append(
            Frame(
                index=index,
                action=action,
                cursor=replay.cursor,
                core=replay.core,
                hidden=tuple(sorted(replay.hidden)),
                internal=tuple(sorted(replay.internal)),
                next_backward=replay.next_backward,
                used=replay.used / units.hidden,
                forward_count=replay.forward_count,
            )
        )
    return frames


def animate_plan(plan: Plan, interval: int = 300):
    """A matplotlib animation of ``plan``, one frame per action.

    Top: the steps 0..T with the cursor (black triangle), the core (hollow square), saved
    hidden states (green circles), saved internal states (purple squares) and the steps
    already reversed (red band). Bottom: the saved units against the budget (dashed line).
    The title names the action. In a notebook,
    ``IPython.display.HTML(plan_html(plan))`` shows it with a player;
    ``save_animation`` writes a GIF.

    Parameters
    ----------
    plan : Plan
    interval : int
        Milliseconds per frame.

    Returns
    -------
    matplotlib.animation.FuncAnimation
        With ``frame_count`` frames, one per action.

    Raises
    ------
    TypeError
        If ``plan`` is not a ``Plan``.
    ValueError
        If it has more than ``MAX_ANIMATED_ACTIONS`` actions.
    ImportError
        Without matplotlib.

    Examples
    --------

    >>> import mini_bptt as mb
    >>> animation = animate_plan(mb.plan(6, 3, strategy="hsm"))
    >>> animation.frame_count
    28
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a mini_bptt Plan, got {type(plan).__name__}")
    if len(plan.actions) > MAX_ANIMATED_ACTIONS:
        raise ValueError(
            f"plan has {len(plan.actions)} actions; animations take up to "
            f"{MAX_ANIMATED_ACTIONS} (one frame each): plan fewer steps"
        )
    plt = _pyplot()
    from matplotlib.animation import FuncAnimation
    from matplotlib.patches import Rectangle

    frames = plan_frames(plan)
    budget = float(parse_memory(plan.memory, plan.steps, units_for(plan.alpha)))
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 3.6), gridspec_kw={"height_ratios": [2.2, 1]}
    )
    steps = plan.steps
    top.set_xlim(-0.8, steps + 0.8)
    top.set_ylim(-1.2, 1.6)
    top.set_yticks([])
    top.set_xlabel("position (h[i]; step i goes from h[i-1] to h[i])")
    top.plot([0, steps], [0, 0], color="#999999", linewidth=1, zorder=0)
    reversed_band = top.add_patch(
        Rectangle((steps + 0.5, -1.2), 0, 2.8, color=COLOURS["backward"], alpha=0.15)
    )
    hidden = top.scatter([], [], s=70, color=COLOURS["save_hidden"], label="saved hidden state")
    internal = top.scatter(
        [], [], s=70, marker="s", color=COLOURS["save_internal"], label="saved internal state"
    )
    core = top.scatter(
        [], [], s=150, marker="s", facecolors="none", edgecolors="#333333", label="core"
    )
    cursor = top.scatter([], [], s=90, marker="v", color="black", label="cursor")
    top.legend(loc="lower center", ncol=4, fontsize="x-small", frameon=False)
    width = max(budget, max(f.used for f in frames)) * 1.08
    bottom.set_xlim(0, width)
    bottom.set_ylim(0, 1)
    bottom.set_yticks([])
    bottom.set_xlabel("saved units (h[0] included)")
    bar = bottom.barh([0.5], [0], height=0.5, color=COLOURS["forward"])[0]
    bottom.axvline(budget, linestyle="--", color=COLOURS["backward"], linewidth=2)
    label = bottom.set_title("", fontsize="small", loc="left")
    title = top.set_title("")

    def points(positions, y):
        return [[p, y] for p in positions] or np.empty((0, 2))

    def draw(k: int):
        frame = frames[k]
        hidden.set_offsets(points(frame.hidden, 0.35))
        internal.set_offsets(points(frame.internal, -0.35))
        core.set_offsets(points([] if frame.core is None else [frame.core], -0.35))
        cursor.set_offsets(points([frame.cursor], 0.95))
        reversed_band.set_x(frame.next_backward + 0.5)  # steps next_backward+1..T are done
        reversed_band.set_width(steps - frame.next_backward)
        bar.set_width(frame.used)
        label.set_text(f"saved: {frame.used:g} of {budget:g} units")
        title.set_text(
            f"action {k + 1}/{len(frames)}: {frame.action.op} {frame.action.step}   "
            f"({frame.forward_count} forwards so far)"
        )
        return hidden, internal, core, cursor, reversed_band, bar, label, title

    draw(len(frames) - 1)  # the longest texts, for the layout
    fig.tight_layout()
    animation = FuncAnimation(fig, draw, frames=len(frames), interval=interval, blit=False)
    animation.frame_count = len(frames)
    plt.close(fig)  # shown through to_jshtml or saved, not by pyplot
    return animation


def budget_slider(
    steps: int,
    *,
    alpha: float = 1,
    strategy: str = "msm",
    model: str = "optimal",
    internal_has_output: bool = True,
):
    """A slider over the budget that redraws the optimal plan and its cost (live notebooks).

    Parameters
    ----------
    steps : int
        Sequence length T (up to a few hundred: each move plans and draws again).
    alpha, strategy, model, internal_has_output
        As for ``plan``.

    Returns
    -------
    ipywidgets.VBox
        Display it as a notebook cell's result; ``.children[0]`` is the slider, in
        hidden-state units from 1 (h[0] alone) to full BPTT's peak, and ``.children[1]``
        the picture (or why a budget is too small for the strategy).

    Raises
    ------
    ImportError
        Without ipywidgets (``pip install ipywidgets``) or matplotlib.
    TypeError, ValueError
        As for ``plan``.

    Examples
    --------
    >>> slider = budget_slider(12, alpha=2).children[0]
    >>> slider.min, slider.max, slider.step
    (1.0, 23.0, 1.0)
    """
    try:
        import ipywidgets
    except ImportError as exc:
        raise ImportError("the budget slider needs ipywidgets: pip install ipywidgets") from exc
    plt = _pyplot()
    units = units_for(alpha)
    full = float(bptt_peak(arguments.positive_int("steps", steps), units))
    options = dict(
        alpha=alpha, strategy=strategy, model=model, internal_has_output=internal_has_output
    )
    plan(steps, full, **options)  # names a bad argument now, not at the first move
    smallest = 1.0  # h[0] alone

    def draw(memory: float) -> None:
        try:
            chosen = plan(steps, memory, **options)
        except ValueError as exc:  # below the strategy's smallest budget
            print(exc)
            return
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
        plot_plan(chosen, ax=top)
        plot_memory(chosen, ax=bottom)
        fig.tight_layout()
        plt.show()

    slider = ipywidgets.FloatSlider(
        value=full / 4,
        min=smallest,
        max=full,
        step=float(Fraction(1, units.hidden)),
        description="memory",
    )
    out = ipywidgets.Output()

    def redraw(change=None) -> None:
        if change is not None:  # a move: replace the picture
            out.clear_output(wait=True)
        with out:
            draw(slider.value)

    slider.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([slider, out])


# matplotlib's player draws its buttons with Font Awesome from a CDN; these need no network
_PLAYER_SYMBOLS = {  # characters that every font has: arrows and bars
    "fa fa-fast-backward": "|\u25c0\u25c0",
    "fa fa-step-backward": "|\u25c0",
    "fa fa-play fa-flip-horizontal": "\u25c0",
    "fa fa-pause": "||",
    "fa fa-play": "\u25b6",
    "fa fa-step-forward": "\u25b6|",
    "fa fa-fast-forward": "\u25b6\u25b6|",
    "fa fa-minus": "\u2212",
    "fa fa-plus": "+",
}


def plan_html(plan: Plan, interval: int = 300) -> str:
    """``animate_plan(plan)`` as self-contained HTML and JavaScript, with a player whose
    buttons need no network: for notebooks (``IPython.display.HTML``) and web pages.

    Parameters
    ----------
    plan : Plan
    interval : int
        Milliseconds per frame.

    Returns
    -------
    str
        The HTML of the player, its frames embedded as PNG images.

    Raises
    ------
    TypeError, ValueError, ImportError
        As ``animate_plan``.

    Examples
    --------
    >>> import mini_bptt as mb
    >>> html = plan_html(mb.plan(3, 2, strategy="hsm"))
    >>> "new Animation(" in html, "font-awesome" in html
    (True, False)
    """
    html = animate_plan(plan, interval).to_jshtml()
    html = re.sub(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">', "", html)
    for icon, symbol in _PLAYER_SYMBOLS.items():
        html = html.replace(f'<i class="{icon}"></i>', symbol)
    return html


def save_animation(plan: Plan, path: str, fps: float = 4) -> int:
    """Write ``animate_plan(plan)`` to ``path`` as a GIF, one frame per action.

    Parameters
    ----------
    plan : Plan
    path : str
        The GIF to write.
    fps : float
        Frames per second.

    Returns
    -------
    int
        The number of frames written.

    Raises
    ------
    TypeError, ValueError, ImportError
        As ``animate_plan``; ``OSError`` if ``path`` cannot be written.

    Examples
    --------
    >>> import os, tempfile, mini_bptt as mb
    >>> save_animation(mb.plan(3, 2, strategy="hsm"), os.path.join(tempfile.mkdtemp(), "p.gif"))
    12
    """
    animation = animate_plan(plan)
    with atomic_path(path) as partial:  # the previous GIF stays until this one is whole
        animation.save(str(partial), writer="pillow", fps=fps)
    return animation.frame_count
