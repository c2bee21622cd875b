"""Tutorials are stored without outputs (they are executed by nbmake in the test run)."""

import json
from pathlib import Path

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "tutorials").glob("*.ipynb"))


def test_six_tutorials_stored_without_outputs():
    assert len(TUTORIALS) == 6
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
