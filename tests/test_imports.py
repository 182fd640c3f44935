"""Every module imports on its own, and the package's imports have no cycle (17).

A module that only imports when another one was imported first hides a cycle;
so does an import moved into a function. Each module is imported in a fresh
interpreter (one interpreter would have the earlier modules loaded already),
and the graph of the top-level imports of the package (read with ``ast``:
``if TYPE_CHECKING:`` blocks excluded, function bodies never run at import)
must have no cycle.
"""

from __future__ import annotations

import ast
import os
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import arkindex_worker

ROOT = Path(arkindex_worker.__file__).resolve().parent.parent


def package_modules() -> dict[str, tuple[Path, bool]]:
    """``{module name: (file, is a package)}`` of every module of the package."""
    modules = {"arkindex_worker": (Path(arkindex_worker.__file__), True)}
    for info in pkgutil.walk_packages(arkindex_worker.__path__, "arkindex_worker."):
        spec = info.module_finder.find_spec(info.name, None)
        modules[info.name] = (Path(spec.origin), info.ispkg)
    return modules


MODULES = package_modules()


def import_alone(name: str) -> tuple[str, int, str]:
    result = subprocess.run(
        [sys.executable, "-c", f"import {name}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    lines = result.stderr.strip().splitlines()
    return name, result.returncode, lines[-1] if lines else ""


def test_every_module_is_found():
    assert {
        "arkindex_worker.image",
        "arkindex_worker.iiif",
        "arkindex_worker.local_images",
        "arkindex_worker.worker.base",
        "arkindex_worker.api.client",
    } <= MODULES.keys()


def test_each_module_imports_in_a_fresh_interpreter():
    with ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 2) * 2)) as pool:
        results = list(pool.map(import_alone, sorted(MODULES)))
    failures = {name: error for name, status, error in results if status != 0}
    assert failures == {}


# ---------------------------------------------------------------- static graph


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of ``body`` run when the module is imported, nested ones included."""
    found = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _import_time_statements(node.body)
            found += _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found += _import_time_statements(block)
            for handler in node.handlers:
                found += _import_time_statements(handler.body)
        elif isinstance(node, ast.With | ast.ClassDef):
            found += _import_time_statements(node.body)
    return found


def _ancestors(name: str) -> set[str]:
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def imported_modules(name: str, path: Path, is_package: bool) -> set[str]:
    """Modules of the package that module ``name`` imports at import time.

    ``import a.b.c`` imports ``a``, ``a.b`` and ``a.b.c``; ``from a.b import c``
    imports ``a.b.c`` when it is a module, else reads ``c`` from ``a.b``. The
    packages that contain ``name`` are imported before it, so they count only
    when ``name`` reads a name from them.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if is_package else name.rpartition(".")[0]
    explicit: set[str] = set()
    implicit: set[str] = set()
    for node in _import_time_statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                explicit.add(alias.name)
                implicit |= _ancestors(alias.name)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        implicit |= _ancestors(base)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in MODULES:
                explicit.add(submodule)
                implicit.add(base)
            else:
                explicit.add(base)
    targets = explicit | (implicit - _ancestors(name))
    return {target for target in targets if target in MODULES and target != name}


def import_graph() -> dict[str, set[str]]:
    return {
        name: imported_modules(name, path, is_package)
        for name, (path, is_package) in MODULES.items()
    }


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path ``a → … → a`` inside a strongly connected ``component``."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & component):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError("not a strongly connected component")  # pragma: no cover


def test_find_cycles_reports_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_graph_follows_top_level_imports_only():
    graph = import_graph()
    # Top-level imports
    assert "arkindex_worker.image_io" in graph["arkindex_worker.image"]
    assert "arkindex_worker.iiif" in graph["arkindex_worker.models"]
    # An `if TYPE_CHECKING:` import is not followed
    assert "arkindex_worker.models" not in graph["arkindex_worker.types"]


def test_package_imports_have_no_cycle():
    cycles = [" → ".join(cycle) for cycle in find_cycles(import_graph())]
    assert cycles == []
