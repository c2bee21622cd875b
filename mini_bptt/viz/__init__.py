"""Pictures of plans, memory and costs (matplotlib, imported only when a function is called).

Used by the paper figures, the CLI's ``plan --show`` and ``--animate``, and the tutorials.
``plots``: still pictures; ``animation``: a plan stepped through action by action, with
``reasons`` saying why each action is there;
``slider``: budget sliders, for live notebooks and for static pages.
"""

from mini_bptt.viz.animation import (
    MAX_ANIMATED_ACTIONS,
    Frame,
    animate_plan,
    plan_frames,
    plan_html,
    save_animation,
)
from mini_bptt.viz.plots import (
    COLOURS,
    has_display,
    memory_timeline,
    plot_costs,
    plot_memory,
    plot_plan,
    show_plan,
)
from mini_bptt.viz.reasons import action_reasons
from mini_bptt.viz.slider import MAX_SLIDER_BUDGETS, budget_slider, budget_slider_html

__all__ = [
    "COLOURS",
    "MAX_ANIMATED_ACTIONS",
    "MAX_SLIDER_BUDGETS",
    "Frame",
    "action_reasons",
    "animate_plan",
    "budget_slider",
    "budget_slider_html",
    "has_display",
    "memory_timeline",
    "plan_frames",
    "plan_html",
    "plot_costs",
    "plot_memory",
    "plot_plan",
    "save_animation",
    "show_plan",
]
