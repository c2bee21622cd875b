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
