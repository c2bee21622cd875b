"""Layers only look down: cells -> planning -> running/checking -> users (STYLE 5)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mini_bptt"

LAYERS = {
    0: {"_checks", "actions", "units", "result", "machine", "training"},
    1: {"cell", "rnn_cell", "lstm_cell", "heads", "bptt"},
    2: {
        "replay",
        "emitter",
        "hsm_closed_form",
        "dp_tables",
        "dp_paper",
        "dp_optimal",
        "baselines",
        "plan",
    },
    3: {"executor", "check"},
    4: {"cli", "interop", "viz", "figures", "reproduce", "__init__", "__main__"},
}
LAYER_OF = {name: layer for layer, names in LAYERS.items() for name in names}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mini_bptt"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from mini_bptt import x
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".")[1] for a in node.names if a.name.startswith("mini_bptt.")
            )
    return found


def test_every_module_has_a_layer_and_imports_only_its_own_or_lower_layers():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).parts
        name = relative[0].removesuffix(".py")
        assert name in LAYER_OF, f"{path.name} has no layer"
        for target in imported_modules(path) - {"__version__"}:
            assert LAYER_OF[target] <= LAYER_OF[name], f"{name} imports {target}, a higher layer"
