"""The public API documents itself: Parameters, Returns, Raises and an example, run here."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import warnings

import pytest

import mini_bptt as mb
from mini_bptt import viz

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(mb.__path__, "mini_bptt.")
    if not info.ispkg and info.name != "mini_bptt.__main__"  # importing it runs the CLI
)
CLASSES = [
    mb.Plan,
    mb.Problem,
    mb.Action,
    mb.RNNCell,
    mb.LSTMCell,
    mb.MSEHead,
    mb.SoftmaxHead,
    mb.Recorder,
]
FUNCTIONS = [
    mb.plan,
    mb.cost,
    mb.execute,
    mb.check,
    mb.full_bptt,
    mb.compare_gradients,
    mb.resource_limits,
    mb.RNNCell.from_weights,
    mb.RNNCell.weights,
    viz.memory_timeline,
    viz.plot_plan,
    viz.plot_memory,
    viz.plot_costs,
    viz.show_plan,
    viz.plan_frames,
    viz.animate_plan,
    viz.save_animation,
    viz.budget_slider,
    viz.plan_html,
]


# the animation's examples draw a GIF: seconds, and tests/users/test_viz.py draws one too
EVERYDAY_MODULES = [
    pytest.param(name, marks=pytest.mark.slow) if name == "mini_bptt.viz.animation" else name
    for name in MODULES
]


@pytest.mark.parametrize("name", EVERYDAY_MODULES)
def test_every_docstring_example_runs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    module = importlib.import_module(name)
    with warnings.catch_warnings():  # an animation made in an example is not rendered
        warnings.filterwarnings("ignore", "Animation was deleted", UserWarning)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, name


@pytest.mark.parametrize("thing", FUNCTIONS + CLASSES, ids=lambda t: t.__qualname__)
def test_public_docstrings_have_every_section(thing):
    text = inspect.getdoc(thing) or ""
    sections = ["Parameters", "Raises", "Examples"]
    if thing not in CLASSES:
        sections.append("Returns")
    if thing is mb.RNNCell.weights:
        sections.remove("Parameters")  # it takes none
    missing = [s for s in sections if f"{s}\n---" not in text]
    assert not missing, (thing.__qualname__, missing)
    assert ">>>" in text


def test_the_examples_are_many():
    finder = doctest.DocTestFinder()
    examples = sum(
        len(test.examples)
        for name in MODULES
        for test in finder.find(importlib.import_module(name))
    )
    assert examples >= 60
