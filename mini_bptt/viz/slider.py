"""A budget slider for live notebooks: move it and the optimal plan is drawn again."""

from __future__ import annotations

from fractions import Fraction

from mini_bptt.planning.plan import plan
from mini_bptt.planning.problem import Problem
from mini_bptt.viz.plots import _pyplot, plot_memory, plot_plan


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
    problem = Problem.of(steps, 1, alpha, internal_has_output)  # names a bad steps or alpha
    full = float(problem.full_bptt_peak)
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
        step=float(Fraction(1, problem.grains.hidden)),
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
