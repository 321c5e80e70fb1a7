"""The package's layers hold: every import goes downwards, no cycles, light imports stay light.

The layers are those of ``ARCHITECTURE.md``; a module imports only from its own layer or the
layers below it, whether the import is at the top of the file, inside a function or only for
type checking. Reading the source (not importing it) finds every import, including those a
run would never reach.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import carecircle

PACKAGE = Path(carecircle.__file__).parent

# top to bottom; a name stands for the module or for every module of the subpackage
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),
    ("batch",),
    ("outputs",),
    ("siting",),
    ("pipeline",),
    (
        "standards",
        "compounds",
        "care",
        "plan",
        "plan_cost",
        "isochrones",
        "circles",
        "costing",
        "terrain",
        "steps",
    ),
    ("inputs",),
    ("travel", "policy", "_validate", "topology"),
    (
        "network",
        "_osm",
        "demand",
        "coords",
        "terms",
        "_cells",
        "_excel",
        "_memory",
        "_parallel",
        "_progress",
    ),
    ("settings", "errors", "_version", "data"),
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[0] == "data":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports, by their dotted names within the package."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if name else []
    if not is_package:
        here = here[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{module}.{alias.name}" if module else alias.name
                targets.add(sub if sub in modules else module)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("carecircle"):
            targets.add(node.module.removeprefix("carecircle").lstrip("."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("carecircle."):
                    targets.add(alias.name.removeprefix("carecircle."))
    return {t for t in targets if t in modules and t != name}


def _layer(name: str) -> int:
    top = name.split(".")[0]
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    msg = f"module carecircle.{name} is in no layer of tests/test_layers.py: add it to one"
    raise AssertionError(msg)


def _graph() -> nx.DiGraph:
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for target in _imports(name, path, modules):
            graph.add_edge(name, target)
    return graph


def test_every_import_goes_downwards() -> None:
    graph = _graph()
    upward = [
        f"carecircle.{a} (layer {_layer(a)}) imports carecircle.{b} (layer {_layer(b)})"
        for a, b in graph.edges
        if a and _layer(b) < _layer(a)  # "" is the face: it loads modules lazily
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert cycles == []


def test_the_face_imports_eagerly_only_the_lowest_modules() -> None:
    modules = _modules()
    eager = _imports("", modules[""], modules)
    assert eager <= {"errors", "terms", "_version"}


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The check itself can fail: a module importing from a layer above it is found."""
    modules = {"network": tmp_path / "network.py", "pipeline": tmp_path / "pipeline.py"}
    modules["network"].write_text("def f():\n    from .pipeline import analyze\n")
    assert _imports("network", modules["network"], modules) == {"pipeline"}
    assert _layer("pipeline") < _layer("network")


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    ("statement", "never"),
    [
        ("import carecircle", {"folium", "matplotlib", "openpyxl", "geopandas", "scipy"}),
        ("import carecircle.costing", {"folium", "geopandas", "matplotlib", "shapely", "scipy"}),
        ("import carecircle.plan", {"folium", "geopandas", "matplotlib", "shapely", "scipy"}),
        ("import carecircle.pipeline", {"folium", "matplotlib", "openpyxl"}),
        ("import carecircle.siting", {"folium", "matplotlib", "openpyxl"}),
    ],
)
def test_light_imports_stay_light(statement: str, never: set[str]) -> None:
    loaded = _loaded_after(statement)
    assert "carecircle" in loaded
    assert loaded & never == set()


def test_the_outputs_load_when_first_used() -> None:
    loaded = _loaded_after("import carecircle as cc\ncc.outputs.build_map")
    assert "folium" in loaded
