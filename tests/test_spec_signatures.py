"""Every signature the specification gives in a heading matches the code.

The spec titles its sections with signatures such as
``create_sub_element(self, element, type, name, polygon=None, …)``. For each
one naming a function or method of the package, the parameters must come in
the same order with the same literal defaults. The signatures are read from
the committed snapshot ``tests/data/spec/signatures.json`` (written by
``scripts/spec_snapshot.py``; ``make spec-check`` checks it against the
specification), so that the test needs nothing beside the repository.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent / "data" / "spec" / "signatures.json"
MODULES = [
    "arkindex_worker.api",
    "arkindex_worker.cache",
    "arkindex_worker.image",
    "arkindex_worker.models",
    "arkindex_worker.utils",
    "arkindex_worker.worker",
    "arkindex_worker.worker.base",
    "arkindex_worker.worker.classification",
    "arkindex_worker.worker.corpus",
    "arkindex_worker.worker.dataset",
    "arkindex_worker.worker.element",
    "arkindex_worker.worker.entity",
    "arkindex_worker.worker.image",
    "arkindex_worker.worker.metadata",
    "arkindex_worker.worker.process",
    "arkindex_worker.worker.task",
    "arkindex_worker.worker.training",
    "arkindex_worker.worker.transcription",
    "arkindex_worker.worker.version",
]


def spec_signatures() -> list[tuple[str, str, ast.arguments]]:
    """``(file, name, parsed parameters)`` of every signature in a heading."""
    found = []
    for file, name, parameters in json.loads(SNAPSHOT.read_text(encoding="utf-8")):
        try:
            function = ast.parse(f"def f({parameters}): pass").body[0]
        except SyntaxError:
            continue  # prose between the parentheses, not a signature
        found.append((file, name, function.args))
    return found


def package_callables() -> dict[str, list]:
    """Functions and methods of the package, by name."""
    found: dict[str, list] = {}
    for module_name in MODULES:
        for value in vars(importlib.import_module(module_name)).values():
            if getattr(value, "__module__", "").startswith("arkindex_worker"):
                if inspect.isclass(value):
                    for name, member in inspect.getmembers(value, callable):
                        found.setdefault(name, []).append(member)
                elif inspect.isfunction(value):
                    found.setdefault(value.__name__, []).append(value)
    return found


def spec_parameters(arguments: ast.arguments) -> list[tuple[str, object]]:
    """``(name, default or inspect.Parameter.empty)`` of the positional parameters."""
    positional = arguments.posonlyargs + arguments.args
    defaults = [inspect.Parameter.empty] * (
        len(positional) - len(arguments.defaults)
    ) + [_literal(node) for node in arguments.defaults]
    return [(a.arg, d) for a, d in zip(positional, defaults, strict=True)]


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ...  # a name (e.g. DEFAULT_BATCH_SIZE): not compared


def code_parameters(function) -> list[tuple[str, object]]:
    return [
        (p.name, p.default)
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def matches(expected: list[tuple[str, object]], function) -> bool:
    actual = code_parameters(function)
    if (
        expected
        and expected[0][0] != "self"
        and actual[:1] == [("self", inspect.Parameter.empty)]
    ):
        actual = actual[1:]
    if len(actual) < len(expected):
        return False
    return all(
        name == got_name and (default is ... or default == got_default)
        for (name, default), (got_name, got_default) in zip(
            expected, actual, strict=False
        )
    )


def test_spec_signatures_match_the_code():
    callables = package_callables()
    checked, mismatches = 0, []
    for file_name, name, arguments in spec_signatures():
        candidates = callables.get(name.split(".")[-1])
        if not candidates:
            continue
        checked += 1
        expected = spec_parameters(arguments)
        if not any(matches(expected, function) for function in candidates):
            mismatches.append(f"{file_name}: {name}{expected}")
    assert mismatches == []
    assert checked > 100
