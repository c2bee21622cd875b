"""The divide-and-conquer of BPTT-HSM (the paper's Fig. 1), read off a real plan.

From the start state the plan runs forward to ``y`` and saves ``h[y]``; it reverses the
right part ``y..t`` with one slot fewer, frees ``h[y]``, then reverses the left part
``0..y`` with all ``m`` slots again. Each part is split the same way, down to single
steps, or run to its end when that is cheaper. The figure draws that recursion as parsed
from the plan's actions, beside the plan itself with the top split's three phases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mini_bptt as mb
from mini_bptt.figures._io import figure, save, write_csv
from mini_bptt.planning.hsm_closed_form import hsm_cost
from mini_bptt.viz import plot_plan

TITLE = "Divide and conquer: an optimal BPTT-HSM plan and its splits"
STEPS, MEMORY = 20, 4


@dataclass(frozen=True)
class Part:
    """One sub-problem of the plan: reverse steps ``start+1..end`` from ``h[start]`` with
    ``memory`` slots (``h[start]``'s included). ``split`` is the ``y`` whose ``h[y]`` it
    saves, or None when it runs to ``end`` and reverses that step from the core.
    ``first``/``last`` bound its actions; ``forwards`` counts its forward actions."""

    start: int
    end: int
    memory: int
    split: int | None
    depth: int
    first: int
    last: int
    forwards: int
    children: tuple[Part, ...]

    def walk(self) -> Iterator[Part]:
        """This part, then its sub-parts in the order the plan reverses them."""
        yield self
        for child in self.children:
            yield from child.walk()


def split_tree(plan: mb.Plan) -> Part:
    """The recursion of a BPTT-HSM plan of the paper's shape, parsed from its actions.

    Raises ``ValueError`` at the first action that does not fit that shape."""
    actions = plan.actions

    def expect(i: int, op: str, step: int) -> None:
        if i >= len(actions) or (actions[i].op, actions[i].step) != (op, step):
            raise ValueError(f"action {i}: expected {op} {step}, got {actions[i : i + 1]}")

    def solve(i: int, start: int, end: int, memory: int, depth: int) -> tuple[Part, int]:
        first = i
        if i < len(actions) and actions[i].op == "restore_hidden":
            expect(i, "restore_hidden", start)
            i += 1
        position, run = start, i
        while i < len(actions) and actions[i].op == "forward" and position < end:
            expect(i, "forward", position + 1)
            position, i = position + 1, i + 1
        ahead = i - run
        if position == end:  # run to the end; reverse it from the core
            expect(i, "backward", end)
            children: tuple[Part, ...] = ()
            i += 1
            if end - start > 1:
                rest, i = solve(i, start, end - 1, memory, depth + 1)
                children = (rest,)
            forwards = ahead + sum(c.forwards for c in children)
            return Part(start, end, memory, None, depth, first, i, forwards, children), i
        expect(i, "save_hidden", position)
        right, i = solve(i + 1, position, end, memory - 1, depth + 1)
        expect(i, "free_hidden", position)
        left, i = solve(i + 1, start, position, memory, depth + 1)
        forwards = ahead + right.forwards + left.forwards
        part = Part(start, end, memory, position, depth, first, i, forwards, (right, left))
        return part, i

    root, end = solve(0, 0, plan.steps, round(plan.memory), 0)
    if end != len(actions):
        raise ValueError(f"actions {end}.. are outside the recursion")
    return root


def _draw_tree(ax, root: Part) -> None:
    from matplotlib.ticker import MaxNLocator  # matplotlib is optional: imported on use

    colours = {"split": "#cfe8d5", "run": "#d6e0f0", "step": "#eeeeee"}
    for part in root.walk():
        kind = "step" if part.end - part.start == 1 else "run" if part.split is None else "split"
        ax.add_patch(_rectangle(part.start, part.depth, part.end - part.start, colours[kind]))
        if part.end - part.start >= 2:
            ax.text(
                (part.start + part.end) / 2,
                part.depth + 0.4,
                f"m={part.memory}",
                ha="center",
                va="center",
                fontsize="x-small",
            )
        if part.split is not None:
            ax.plot([part.split] * 2, [part.depth, part.depth + 0.8], color="#55a868", lw=2.5)
    depth = max(p.depth for p in root.walk())
    ax.set_xlim(-0.5, root.end + 0.5)
    ax.set_ylim(depth + 2.2, -0.2)  # the whole sequence on top, room for the legend below
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time step (green bar: the split y, h[y] saved)")
    ax.set_ylabel("recursion depth")
    ax.set_title(
        "the plan's sub-problems: right part (m - 1) first, then left (m)", fontsize="medium"
    )
    ax.plot([], [], color="#55a868", lw=2.5, label="split at y: save h[y]")
    for kind, label in (("split", "split part"), ("run", "run to its end"), ("step", "one step")):
        ax.add_patch(_rectangle(0, 0, 0, colours[kind], label=label))
    ax.legend(fontsize="x-small", loc="lower center", ncol=2)


def _rectangle(x: float, y: float, width: float, colour: str, label: str | None = None):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), width, 0.8, facecolor=colour, edgecolor="#555555", lw=0.6, label=label)


def _draw_phases(ax, root: Part) -> None:
    from matplotlib.ticker import MaxNLocator

    right, left = root.children
    y, t, m = root.split, root.end, root.memory
    phases = (
        (root.first, right.first, f"1. forward to y={y}, save h[{y}]", "#55a868"),
        (right.first, left.first, f"2. right part: C({t - y}, {m - 1})", "#dd8452"),
        (left.first, root.last, f"3. left part: C({y}, {m})", "#8172b2"),
    )
    for first, last, label, colour in phases:
        ax.axvspan(first - 0.5, last - 0.5, color=colour, alpha=0.12, label=label)
    ax.axhline(y, color="#55a868", linestyle="--", lw=1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="x-small", frameon=False)


def run(out: Path, quick: bool) -> dict:
    plan = mb.plan(STEPS, MEMORY, strategy="hsm", model="paper")
    root = split_tree(plan)
    parts = list(root.walk())
    rows = [
        (
            p.start,
            p.end,
            p.memory,
            "" if p.split is None else p.split,
            p.depth,
            p.first,
            p.last,
            p.forwards,
            hsm_cost(p.end - p.start, p.memory),
        )
        for p in parts
    ]
    write_csv(
        out / "divide_and_conquer.csv",
        (
            "start",
            "end",
            "memory",
            "split_y",
            "depth",
            "first_action",
            "end_action",
            "forward_count",
            "recursion_C",
        ),
        rows,
    )
    fig, axes = figure(ncols=2, size=(6.2, 4.4))
    _draw_tree(axes[0][0], root)
    plot_plan(plan, ax=axes[0][1])
    _draw_phases(axes[0][1], root)
    save(fig, out / "divide_and_conquer.png")
    t, m, y = root.end, root.memory, root.split
    return {
        "steps": t,
        "memory": m,
        "split": y,
        "forward_count": plan.forward_count,
        "recursion_at_split": y + hsm_cost(t - y, m - 1) + hsm_cost(y, m),
        "parts": len(parts),
        "parts_off_the_recursion": sum(r[7] != r[8] for r in rows),
    }
