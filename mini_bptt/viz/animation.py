"""Stepping through a plan: one frame per action, as a matplotlib animation, HTML or GIF."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mini_bptt.oracle.trace_file import atomic_path
from mini_bptt.planning.actions import Action
from mini_bptt.planning.plan import Plan
from mini_bptt.planning.replay import Replay
from mini_bptt.viz.plots import COLOURS, _pyplot
from mini_bptt.viz.reasons import action_reasons

MAX_ANIMATED_ACTIONS = 3000  # one frame per action: past this a GIF or an HTML page is huge


@dataclass(frozen=True)
class Frame:
    """What the model holds after one action (``index``) of a plan; memory in hidden-state
    units. ``core`` is the step whose internal state is in the core (None: empty);
    ``reason`` says why the action is there (``reasons.action_reasons``)."""

    index: int
    action: Action
    cursor: int
    core: int | None
    hidden: tuple[int, ...]
    internal: tuple[int, ...]
    next_backward: int
    used: float
    forward_count: int
    reason: str


def plan_frames(plan: Plan) -> list[Frame]:
    """The model's state after each action of ``plan`` (from the shared replay).

    Parameters
    ----------
    plan : Plan

    Returns
    -------
    list of Frame
        One per action: the cursor, the core, what is saved, the next step to reverse,
        the saved units, the forwards so far and why the action is there.

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
    grains = plan.problem.grains
    replay = Replay(plan.steps, grains, None, plan.internal_has_output)
    reasons = action_reasons(plan.actions, plan.steps)
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
                used=replay.used / grains.hidden,
                forward_count=replay.forward_count,
                reason=reasons[index],
            )
        )
    return frames


def animate_plan(plan: Plan, interval: int = 300):
    """A matplotlib animation of ``plan``, one frame per action.

    Top: the steps 0..T with the cursor (black triangle), the core (hollow square), saved
    hidden states (green circles), saved internal states (purple squares) and the steps
    already reversed (red band). Bottom: the saved units against the budget (dashed line).
    The title names the action; the line under the picture says why it is there. In a
    notebook,
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
    budget = float(plan.problem.memory_units)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 4.0), gridspec_kw={"height_ratios": [2.2, 1]}
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
    top.legend(loc="lower center", ncol=4, fontsize="small", frameon=False)
    width = max(budget, max(f.used for f in frames)) * 1.08
    bottom.set_xlim(0, width)
    bottom.set_ylim(0, 1)
    bottom.set_yticks([])
    bottom.set_xlabel("saved units (h[0] included)")
    bar = bottom.barh([0.5], [0], height=0.5, color=COLOURS["forward"])[0]
    bottom.axvline(budget, linestyle="--", color=COLOURS["backward"], linewidth=2)
    label = bottom.set_title("", fontsize="small", loc="left")
    title = top.set_title("")
    reason = fig.text(0.5, 0.01, "", ha="center", va="bottom", fontsize="small", wrap=True)

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
        reason.set_text(frame.reason)
        return hidden, internal, core, cursor, reversed_band, bar, label, title, reason

    draw(len(frames) - 1)  # the longest texts, for the layout
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the reason under the picture
    animation = FuncAnimation(fig, draw, frames=len(frames), interval=interval, blit=False)
    animation.frame_count = len(frames)
    plt.close(fig)  # shown through to_jshtml or saved, not by pyplot
    return animation


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
