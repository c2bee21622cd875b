"""Budget sliders: move one and the optimal plan at that budget is shown.

``budget_slider`` plans and draws again as it moves (a live notebook with ipywidgets);
``budget_slider_html`` draws a grid of budgets at once and needs no kernel (static pages).
"""

from __future__ import annotations

from fractions import Fraction

from mini_bptt.common import arguments
from mini_bptt.planning.plan import least_budget, make_request, plan
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


MAX_SLIDER_BUDGETS = 60  # pictures precomputed: each is a PNG of a few tens of kB


def budget_slider_html(
    steps: int,
    *,
    alpha: float = 1,
    strategy: str = "msm",
    model: str = "optimal",
    internal_has_output: bool = True,
    budgets: int = 24,
) -> str:
    """A budget slider that needs no kernel: the optimal plans for a grid of budgets, drawn
    now, and a few lines of plain JavaScript that show the one the slider points at.

    For static pages (the documentation site) and notebooks alike
    (``IPython.display.HTML``). The page may open it at a budget with ``#budget=M`` in
    its address (the nearest budget of the grid).

    Parameters
    ----------
    steps : int
        Sequence length T (each budget plans and draws once, now).
    alpha, strategy, model, internal_has_output
        As for ``plan``.
    budgets : int
        How many budgets, spread evenly from the strategy's least to full BPTT's peak
        (whole grains), at most ``MAX_SLIDER_BUDGETS``.

    Returns
    -------
    str
        Self-contained HTML: the slider, a line with the budget, the forward count and the
        peak, and the picture of that plan.

    Raises
    ------
    TypeError, ValueError
        As for ``plan``, and for ``budgets`` outside 2..``MAX_SLIDER_BUDGETS``.
    ImportError
        Without matplotlib.

    Examples
    --------
    >>> html = budget_slider_html(8, alpha=2, budgets=3)
    >>> html.count('"forward_count"'), 'type="range"' in html
    (3, True)
    """
    import base64
    import html as html_text
    import io
    import json

    count = arguments.positive_int("budgets", budgets, minimum=2)
    if count > MAX_SLIDER_BUDGETS:
        raise ValueError(f"budgets must be from 2 to {MAX_SLIDER_BUDGETS}, got {count}")
    # names any bad argument now, before a picture is drawn
    request = make_request(steps, "100%", alpha, strategy, model, internal_has_output)
    grains = request.problem.grains
    options = dict(
        alpha=alpha, strategy=strategy, model=model, internal_has_output=internal_has_output
    )
    top, bottom = request.problem.budget, least_budget(request.problem, strategy)
    picked = sorted({round(bottom + k * (top - bottom) / (count - 1)) for k in range(count)})
    plt = _pyplot()
    frames = []
    for grain_budget in picked:
        memory = Fraction(grain_budget, grains.hidden)
        chosen = plan(steps, memory, **options)
        fig, (upper, lower) = plt.subplots(2, 1, figsize=(8, 4.2), sharex=True)
        plot_plan(chosen, ax=upper)
        plot_memory(chosen, ax=lower)
        fig.tight_layout()
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=72)
        plt.close(fig)
        frames.append(
            {
                "memory": float(memory),
                "forward_count": chosen.forward_count,
                "peak_memory": float(chosen.peak_memory),
                "image": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
            }
        )
    ident = f"budget-slider-{strategy}-{steps}-{grains.internal}-{grains.hidden}"
    first = len(frames) // 2
    what = html_text.escape(f"{strategy} ({model}), T = {steps}, alpha = {float(alpha):g}")
    return _SLIDER_PAGE.format(
        ident=ident,
        what=what,
        last=len(frames) - 1,
        first=first,
        image=frames[first]["image"],
        frames=json.dumps(frames),
    )


# {{ and }} are literal braces of the JavaScript; {ident} and the like are filled in
_SLIDER_PAGE = """<div class="budget-slider" id="{ident}">
<label>memory <input type="range" min="0" max="{last}" step="1" value="{first}"></label>
<span class="budget-slider-text"></span> <small>{what}</small><br>
<img alt="the optimal plan at this budget" src="{image}" style="max-width:100%">
<script>
(function () {{
  var root = document.getElementById("{ident}");
  var frames = {frames};
  var slider = root.querySelector("input"), text = root.querySelector("span");
  var image = root.querySelector("img");
  function show() {{
    var f = frames[Number(slider.value)];
    text.textContent = f.memory + " units: " + f.forward_count + " forwards, peak " +
      f.peak_memory + " units";
    image.src = f.image;
  }}
  slider.addEventListener("input", show);
  var asked = /budget=([0-9.]+)/.exec(window.location.hash);
  if (asked) {{
    var best = 0;
    frames.forEach(function (f, k) {{
      if (Math.abs(f.memory - asked[1]) < Math.abs(frames[best].memory - asked[1])) best = k;
    }});
    slider.value = best;
  }}
  show();
}})();
</script>
</div>"""
