"""Build the OpenAPI document bundled with ``arkindex_worker.api``.

Reads the operation tables ``operations-core.yml``, ``operations-data.yml``,
``operations-current.yml`` and ``operations-0.6.yml`` of the specification and writes
``arkindex_worker/api/openapi.json``, an OpenAPI 3 document the client reads through
the same code path as a server schema (``x-paginated``, parameter lists, request
bodies), plus the ``x-download`` extension for operations answering with a file.

Usage::

    python scripts/build_openapi.py [SPEC_DIR] [--check]

``SPEC_DIR`` defaults to ``../shared/spec`` relative to the repository root.
``--check`` exits with status 1 when the committed document is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC_DIR = REPO_ROOT.parent / "shared" / "spec"
OUTPUT = REPO_ROOT / "arkindex_worker" / "api" / "openapi.json"
SOURCES = (
    "operations-core.yml",
    "operations-data.yml",
    "operations-current.yml",
    "operations-0.6.yml",
)
API_ROOT = "/api/v1/"
PATH_PARAMETER = re.compile(r"\{\+?([^}]+)\}")

INTEGER_PARAMETERS = {"page", "page_size"}
BOOLEAN_PARAMETERS = {"load_parents", "recursive", "top_level"}

__all__ = ["build_document", "load_operations", "main"]


def load_operations(spec_dir: Path) -> dict[str, dict]:
    """Merge the operation tables; an operation listed twice must be identical."""
    operations: dict[str, dict] = {}
    for source in SOURCES:
        table = yaml.safe_load((spec_dir / source).read_text(encoding="utf-8"))
        for name, entry in table.items():
            entry = {key: entry.get(key) for key in _SIGNIFICANT_KEYS}
            if name in operations and operations[name] != entry:
                raise ValueError(f"{name} differs between operation tables")
            operations[name] = entry
    return operations


_SIGNIFICANT_KEYS = (
    "method",
    "path",
    "query",
    "paginated",
    "pagination",
    "body",
    "download",
)


def _schema_type(name: str) -> dict:
    if name in INTEGER_PARAMETERS:
        return {"type": "integer"}
    if name in BOOLEAN_PARAMETERS or name.startswith("with_"):
        return {"type": "boolean"}
    return {"type": "string"}


def _operation(name: str, entry: dict) -> dict:
    parameters = [
        {"name": param, "in": "path", "required": True, "schema": {"type": "string"}}
        for param in PATH_PARAMETER.findall(entry["path"])
    ]
    parameters += [
        {"name": param, "in": "query", "required": False, "schema": _schema_type(param)}
        for param in sorted(entry.get("query") or [])
    ]
    operation = {"operationId": name, "x-paginated": bool(entry.get("paginated"))}
    if entry.get("download"):
        operation["x-download"] = True
    operation["parameters"] = parameters
    if entry.get("body") is not None:
        properties = {field: {} for field in entry["body"]}
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": properties}
                }
            },
        }
    operation["responses"] = {"200": {"description": "Success"}}
    return operation


def build_document(operations: dict[str, dict]) -> dict:
    """OpenAPI 3 document describing every operation, paths sorted."""
    paths: dict[str, dict] = {}
    for name, entry in operations.items():
        if entry.get("paginated") and entry.get("pagination") not in ("page", "cursor"):
            raise ValueError(f"{name}: paginated without a page or cursor mode")
        mode = entry.get("pagination")
        if mode and mode not in (entry.get("query") or []):
            raise ValueError(f"{name}: the {mode} parameter is not declared")
        if mode == "cursor" and "with_count" not in (entry.get("query") or []):
            raise ValueError(f"{name}: cursor pagination without with_count")
        methods = paths.setdefault(API_ROOT + entry["path"], {})
        method = entry["method"].lower()
        if method in methods:
            raise ValueError(f"{name}: {method} {entry['path']} is already used")
        methods[method] = _operation(name, entry)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Arkindex API (operations used by arkindex_worker)",
            "version": "1.0",
        },
        "paths": {
            path: dict(sorted(methods.items()))
            for path, methods in sorted(paths.items())
        },
    }


def render(spec_dir: Path) -> str:
    """The document as the text written to disk."""
    return json.dumps(build_document(load_operations(spec_dir)), indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec_dir", nargs="?", type=Path, default=DEFAULT_SPEC_DIR)
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    text = render(args.spec_dir)
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"Wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
