"""The house plan holds: rooms import downward only, no import circles, small files and functions.

Every `import` and `from ... import` in `src/` is read with `ast` (those inside functions and
`if TYPE_CHECKING:` blocks too: an import placed there to dodge a circle is still a circle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Lowest first. A module may import its own room or a lower one. The top-level modules `errors`,
# `files` and `lazy` are the floor; `api`, `train`, `fetch` and the Hydra launcher plugin the roof.
LAYERS = [
    {"xnet", "errors", "files", "lazy"},
    {"config"},
    {"data"},
    {"evaluation"},
    {"models"},
    {"plotting"},
    {"runtime"},
    {"runs"},
    {"training"},
    {"predict"},
    {"api", "train", "fetch", "hydra_plugins"},
]
# Simulators for tests and benchmarks: they may use anything below training.
TESTING_CEILING = "runs"
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 50


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def room(name: str) -> str:
    parts = name.split(".")
    if parts[0] == "hydra_plugins":
        return "hydra_plugins"
    return parts[1] if len(parts) > 1 else "xnet"


def layer(name: str) -> int:
    r = room(name)
    if r == "testing":
        r = TESTING_CEILING
    return next(i for i, rooms in enumerate(LAYERS) if r in rooms)


def imports(name: str, path: Path) -> set[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(n for n in names if n in MODULES and n != name)
    return found


GRAPH = {name: imports(name, path) for name, path in MODULES.items()}


def test_every_room_is_in_the_plan():
    rooms = {room(name) for name in MODULES} - {"testing"}
    assert rooms <= set().union(*LAYERS), rooms - set().union(*LAYERS)


def test_rooms_import_downward_only():
    upward = sorted(
        f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets if layer(b) > layer(a)
    )
    assert upward == []


def test_no_import_circles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert circles == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_files_and_functions_are_small(name):
    path = MODULES[name]
    text = path.read_text()
    lines = len(text.splitlines())
    assert lines <= MAX_FILE_LINES, f"{path.relative_to(SRC)}: {lines} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []
