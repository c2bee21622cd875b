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
