"""Layers only look down: common -> cells -> planning -> oracle -> users, with no cycles.

The layer of a module is its subpackage (``mini_bptt/common``, ``cells``, ``planning``,
``oracle``); the package root holds only ``__init__``, ``__main__`` and the users of
the layers below.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mini_bptt"

LAYER_OF_SUBPACKAGE = {"common": 0, "cells": 1, "planning": 2, "oracle": 3}
USERS = 4
ROOT_MODULES = {"__init__", "__main__", "reproduce", "training", "machine"}
USER_PACKAGES = {"cli", "viz", "figures"}  # the users that are packages: layer 4, like the root


def module_name(path: Path) -> str:
    """``mini_bptt/planning/plan.py`` -> ``planning.plan``; a package is its ``__init__``."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    return LAYER_OF_SUBPACKAGE.get(module.split(".")[0], USERS)


def imports(path: Path) -> set[str]:
    """The package modules that ``path`` imports (``from mini_bptt.x import y`` -> ``x.y``
    when that is a module, else ``x``; ``from mini_bptt import __version__`` -> ``__init__``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mini_bptt"):
            base = node.module.removeprefix("mini_bptt").lstrip(".")
            for alias in node.names:
                full = f"{base}.{alias.name}".lstrip(".")
                found.add(full if full in MODULES else (base or "__init__"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "mini_bptt":
                    found.add("__init__")
                elif alias.name.startswith("mini_bptt."):
                    found.add(alias.name.removeprefix("mini_bptt."))
    return found


GRAPH = {name: imports(path) - {name} for name, path in MODULES.items()}


def test_package_root_holds_only_the_users_of_the_layers():
    root = {p.stem for p in PACKAGE.glob("*.py")}
    assert root <= ROOT_MODULES, (
        f"modules at the root that belong to a layer: {root - ROOT_MODULES}"
    )
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(LAYER_OF_SUBPACKAGE) | USER_PACKAGES, packages


def test_every_import_points_to_an_existing_module():
    for name, targets in GRAPH.items():
        assert targets <= set(MODULES), f"{name} imports unknown {targets - set(MODULES)}"


def test_no_module_imports_a_higher_layer():
    for name, targets in GRAPH.items():
        for target in targets:
            assert layer(target) <= layer(name), f"{name} imports {target}, a higher layer"


def test_subpackage_modules_do_not_import_their_own_package_init():
    # ``from mini_bptt.cells import X`` inside cells/ would run cells/__init__ half-built
    for name, targets in GRAPH.items():
        package = name.split(".")[0]
        if "." in name and package in LAYER_OF_SUBPACKAGE:
            assert package not in targets, f"{name} imports its own package {package}"


def test_the_import_graph_has_no_cycle():
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join(path + (name,))}"
        if name in done:
            return
        for target in sorted(GRAPH.get(name, ())):
            visit(target, path + (name,))
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, ())
