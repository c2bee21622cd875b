"""bench/audit_tools.py, the audit of real checkpointing tools, and its page docs/audit.md
(rendered by bench/audit_page.py).

The checkpoint-schedules rows run here on a small grid (checkpoint-schedules is in
``.[test]``); the PyTorch and equinox rows run where those frameworks are installed
(``pip install ".[test,torch,jax]"``) and are skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

import mini_bptt as mb
from mini_bptt.oracle.interop import from_checkpoint_schedule

ROOT = Path(__file__).resolve().parents[2]


def bench_module(name: str):
    """A module of bench/, imported as its scripts import each other (bench/ on the path)."""
    folder = str(ROOT / "bench")
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)


audit = bench_module("audit_tools")
page = bench_module("audit_page")


@pytest.fixture(scope="module")
def schedule_rows():
    return audit.schedule_rows((10, 30), (2, 3))


def page_tables(page: str) -> dict[str, list[dict[str, str]]]:
    """Each ``### tool`` table of the page as rows of header -> cell (first of a name)."""
    tables: dict[str, list[dict[str, str]]] = {}
    tool = None
    for line in page.splitlines():
        if line.startswith("### "):
            tool, header = line[4:], None
        elif tool and line.startswith("| ") and header is None:
            header = [cell.strip() for cell in line.strip("|").split("|")]
        elif tool and line.startswith("| "):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            row: dict[str, str] = {}
            for name, cell in zip(header, cells, strict=True):
                row.setdefault(name, cell)
            tables.setdefault(tool, []).append(row)
    return tables


def test_every_schedule_and_case_of_the_grid_has_one_row(schedule_rows):
    tools = {r["tool"] for r in schedule_rows}
    assert len(tools) == 7 and {"Revolve", "TwoLevelCheckpointSchedule"} <= tools
    for tool in tools:  # s < T: (10, 2), (10, 3), (30, 2), (30, 3)
        cases = [
            (r["steps"], r["setting"]["snapshots"]) for r in schedule_rows if r["tool"] == tool
        ]
        assert cases == [(10, 2), (10, 3), (30, 2), (30, 3)]


def test_schedule_columns_agree_with_the_schedules_own_actions(schedule_rows):
    """Forwards are the schedule's own forward actions; valid within the budget exactly when
    its own peak fits it; the least memory of its calls is at most that peak; the ratios are
    forwards over the optimum at the least memory, which no valid trace beats."""
    import checkpoint_schedules as cs

    makers = audit.schedule_makers(cs)
    for row in schedule_rows:
        steps, snapshots = row["steps"], row["setting"]["snapshots"]
        make, count_disk = makers[row["tool"]]
        online = {"steps": steps} if row["tool"] == "TwoLevelCheckpointSchedule" else {}
        actions = from_checkpoint_schedule(make(steps, snapshots), count_disk=count_disk, **online)
        assert row["forwards"] == sum(a.op == "forward" for a in actions), row
        assert row["own_peak"] is not None, row
        assert row["valid"] == (row["own_peak"] <= row["budget"]), row
        assert row["valid"] or "over the budget" in row["error"], row
        assert row["least_memory"] <= row["own_peak"], row
        optimum = mb.cost(
            steps,
            row["least_memory"],
            alpha=1,
            strategy=row["trace_class"],
            internal_has_output=False,
        )
        assert row["optimum_class"] == optimum
        assert row["ratio_class"] == round(row["forwards"] / optimum, 4) >= 1
        assert row["optimum_any"] <= row["optimum_class"] <= row["forwards"]


def test_revolve_rows_are_the_binomial_optimum(schedule_rows):
    """Griewank and Walther's revolve is the HSM optimum with h[0] one of the snapshots
    (docs/model.md: C(10, 2) = 30, C(10, 3) = 25)."""
    revolve = {
        (r["steps"], r["setting"]["snapshots"]): r for r in schedule_rows if r["tool"] == "Revolve"
    }
    assert revolve[(10, 2)]["forwards"] == 30 and revolve[(10, 3)]["forwards"] == 25
    for (steps, snapshots), row in revolve.items():
        assert row["valid"] and row["least_memory"] == snapshots
        assert row["forwards"] == mb.cost(steps, snapshots, strategy="hsm")
        assert row["trace_class"] == "hsm" and row["ratio_class"] == 1


def test_the_page_shows_each_rows_numbers_in_its_columns(schedule_rows, tmp_path):
    data = {
        "command": "python bench/audit_tools.py --quick --parts schedules",
        "machine": {"cpu": "a test CPU", "cores": 1, "python": "3"},
        "versions": audit.versions(),
        "parts": ["schedules"],
        "seconds": 1.0,
        "setup": {"schedules": {"alpha": 1, "internal_has_output": False, "period": 10}},
        "rows": schedule_rows,
    }
    results, page = tmp_path / "audit.json", tmp_path / "audit.md"
    results.write_text(json.dumps(data), encoding="utf-8")
    assert audit.main(["--page-only", "--out", str(results), "--page", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "Not measured in this run." in text  # the torch and equinox parts
    tables = page_tables(text)
    for tool in {r["tool"] for r in schedule_rows}:
        ours = [r for r in schedule_rows if r["tool"] == tool]
        shown = tables[tool]
        assert len(shown) == len(ours)
        for row, cells in zip(ours, shown, strict=True):
            assert cells["T"] == str(row["steps"])
            assert cells["s"] == str(row["setting"]["snapshots"])
            assert cells["forwards"] == str(row["forwards"])
            assert float(cells["least memory"]) == row["least_memory"]
            assert float(cells["its peak"]) == row["own_peak"]
            assert float(cells["budget"]) == row["budget"]
            assert cells["optimum, class"] == str(row["optimum_class"])
            assert cells["optimum, any plan"] == str(row["optimum_any"])
            assert float(cells["ratio"]) == pytest.approx(row["ratio_class"], abs=5e-4)
            assert cells["valid within budget"].startswith("valid" if row["valid"] else "**no**")


def test_the_committed_page_is_the_committed_results_rendered():
    """docs/audit.md is regenerated from bench/results/audit.json, never edited by hand."""
    data = json.loads((ROOT / "bench" / "results" / "audit.json").read_text(encoding="utf-8"))
    assert (ROOT / "docs" / "audit.md").read_text(encoding="utf-8") == page.render_page(data)
    assert set(data["parts"]) == set(page.PARTS)


def test_an_unknown_part_is_refused_naming_it(capsys):
    with pytest.raises(SystemExit) as stop:
        audit.main(["--parts", "schedules,tensorflow"])
    assert stop.value.code == 2
    assert "--parts: unknown tensorflow" in capsys.readouterr().err


def test_checkpoint_sequential_rows_in_both_modes():
    pytest.importorskip("torch", reason="the PyTorch rows need torch: pip install '.[torch]'")
    steps, segments = 6, 3
    rows = audit.torch_rows([(steps, segments)])
    assert [r["tool"] for r in rows] == [
        "checkpoint_sequential(use_reentrant=True)",
        "checkpoint_sequential(use_reentrant=False)",
    ]
    # every segment but the last is run twice: the sweep, then its recomputation
    assert all(r["forwards"] == steps + (segments - 1) * (steps // segments) for r in rows)
    for row in rows:
        assert row["valid"] and row["forwards"] >= row["optimum_class"] >= row["optimum_any"]
        assert row["gradients"]["full_bptt"] < 1e-12 and row["gradients"]["plain"] < 1e-12
    # the tag on the inputs gives both modes the same log (torch_hooks' docstring)
    assert rows[0]["least_memory"] == rows[1]["least_memory"]


@pytest.mark.slow
def test_equinox_checkpointed_while_loop_row():
    pytest.importorskip("equinox", reason="the equinox rows need jax and equinox: '.[jax]'")
    steps, checkpoints = 5, 2
    (row,) = audit.equinox_rows([(steps, checkpoints)])
    assert row["valid"] and row["least_memory"] <= checkpoints
    assert row["forwards"] >= row["optimum_class"] >= row["optimum_any"]
    assert row["runs_of_step_T"] >= 1
    assert row["gradients"]["full_bptt"] < 1e-12 and row["gradients"]["plain"] < 1e-12
