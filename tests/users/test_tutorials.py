"""Tutorials are stored without outputs (they are executed by nbmake in the test run)."""

import json
import math
from pathlib import Path

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "tutorials").glob("*.ipynb"))


def test_eight_tutorials_stored_without_outputs():
    assert len(TUTORIALS) == 8
    for path in TUTORIALS:
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
        assert any("plt.show()" in "".join(c["source"]) for c in notebook["cells"]), path.name


# the modules a reader may import from: the package root and the documented public modules
PUBLIC_MODULES = {
    "mini_bptt",
    "mini_bptt.viz",
    "mini_bptt.training",
    "mini_bptt.planning.recursions",
    "mini_bptt.planning.hsm_closed_form",
    "mini_bptt.planning.units",
    "mini_bptt.oracle.interop",
}


def test_tutorials_import_only_public_names():
    import re

    for path in TUTORIALS:
        code = "".join(
            "".join(c["source"])
            for c in json.loads(path.read_text())["cells"]
            if c["cell_type"] == "code"
        )
        for module, names in re.findall(r"^from (mini_bptt[\w.]*) import ([\w, ]+)", code, re.M):
            assert module in PUBLIC_MODULES, (path.name, module)
            assert not any(n.strip().startswith("_") for n in names.split(",")), (path.name, names)


def test_each_tutorial_teaches_in_the_same_shape():
    """What the reader will be able to do, maths in LaTeX, and 2-3 exercises at the end,
    each with its checker."""
    for path in TUTORIALS:
        cells = json.loads(path.read_text())["cells"]
        text = ["".join(c["source"]) for c in cells]
        assert "**After this notebook you can**" in text[0], path.name
        assert any(
            "$" in t for t, c in zip(text, cells, strict=True) if c["cell_type"] == "markdown"
        )
        checks = [t for t in text if 'check("' in t]
        number = path.name[:2]
        assert 2 <= len(checks) <= 3, path.name
        assert all(f'check("{number}.' in t and "= None" in t for t in checks), path.name


def test_every_solution_passes_its_checker_and_a_wrong_answer_does_not(capsys):
    import sys

    folder = str(TUTORIALS[0].parent)
    sys.path.insert(0, folder)
    try:
        import exercises
        import solutions
    finally:
        sys.path.remove(folder)
    asked = {
        "".join(c["source"]).split('check("')[1][:4]
        for path in TUTORIALS
        for c in json.loads(path.read_text())["cells"]
        if 'check("' in "".join(c["source"])
    }
    assert asked == set(exercises.CHECKERS) == set(solutions.SOLUTIONS)
    for exercise, answer in solutions.SOLUTIONS.items():
        assert exercises.check(exercise, answer) is True, exercise
        assert exercises.check(exercise, "a wrong answer") is False, exercise
        assert exercises.check(exercise, None) is False, exercise
    out = capsys.readouterr().out
    assert out.count("right!") == len(solutions.SOLUTIONS)


def _exercises():
    """The tutorials' ``exercises`` module, imported as a notebook imports it."""
    import importlib
    import sys

    folder = str(TUTORIALS[0].parent)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module("exercises")
    finally:
        sys.path.remove(folder)


def _segment_saving_its_last_step(a, b):
    # also saves s[b], which the core still holds when step b is reversed
    actions = [("restore_hidden", a)]
    for i in range(a + 1, b + 1):
        actions += [("forward", i), ("save_internal", i)]
    for i in range(b, a, -1):
        actions += [("backward", i), ("free_internal", i)]
    return actions


def _one_hidden_state_too_many(T):
    # also saves h[T-1], which nothing restores: step T is reversed from the core
    actions = []
    for i in range(1, T + 1):
        actions.append(("forward", i))
        if i < T:
            actions.append(("save_hidden", i))
    actions.append(("backward", T))
    for i in range(T - 1, 0, -1):
        actions += [("restore_hidden", i - 1), ("forward", i), ("backward", i)]
    return actions


def _c_with_one_save(t):
    # saves once: the left part gets its slot back, and leaves it unused
    return min(
        [t * (t + 1) // 2]
        + [y + (t - y) * (t - y + 1) // 2 + y * (y + 1) // 2 for y in range(1, t)]
    )


def _internal_state_beside_h0(T):
    # recomputes from s[1] but keeps h[0]: 1 + alpha units
    actions = [("forward", 1), ("save_internal", 1)]
    for i in range(T, 1, -1):
        actions += [("restore_internal", 1)] + [("forward", j) for j in range(2, i + 1)]
        actions.append(("backward", i))
    return actions + [("backward", 1)]


PLAUSIBLY_WRONG = {
    "02.1": _segment_saving_its_last_step,
    "02.2": _one_hidden_state_too_many,
    "03.1": _c_with_one_save,
    "03.2": lambda m, a: math.comb(m + a, a),  # where the most runs of a step reach a + 1
    "04.1": _internal_state_beside_h0,
    "04.2": 6,  # a whole number of units, and ISM does win there, but not first
    "05.1": (20, "budget"),  # the index in the plan, before the deletion shifted it
    "05.2": [  # the optimal HSM plan: it fits the 2 units
        ("forward", 1),
        ("save_hidden", 1),
        ("forward", 2),
        ("forward", 3),
        ("backward", 3),
        ("restore_hidden", 1),
        ("forward", 2),
        ("backward", 2),
        ("free_hidden", 1),
        ("restore_hidden", 0),
        ("forward", 1),
        ("backward", 1),
    ],
    "06.1": lambda ratio, beta: ratio * (1 + beta),  # forgets to take the reverse steps back out
    "06.2": lambda T, p: math.log(p / (1 - p)),  # sigmoid(b) >= p: one step, not T
    "08.1": lambda m, a: math.floor((m - 1) / a) + 1,  # keeps h[0] through the sweep
    "08.2": lambda T: 2 * T,  # runs step T again too, though the core holds s[T]
}


def test_each_checker_rejects_a_plausible_wrong_answer_with_a_hint(capsys):
    exercises = _exercises()
    for exercise, answer in PLAUSIBLY_WRONG.items():
        assert exercises.check(exercise, answer) is False, exercise
        verdict = capsys.readouterr().out
        # rejected by the exercise's own test, not for the answer's type
        assert "not yet. Hint:" in verdict and "answer with" not in verdict, verdict


def test_each_checker_says_in_words_that_nothing_is_answered_yet(capsys):
    exercises = _exercises()
    for exercise in exercises.CHECKERS:
        assert exercises.check(exercise, None) is False
        assert capsys.readouterr().out == f"exercise {exercise}: not answered yet\n"
