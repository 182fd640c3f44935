"""Snapshot of the specification facts the test suite checks the code against.

A clone of the repository has nothing beside it, so the tests never read the
specification itself: they read this snapshot, committed in ``tests/data/spec``:

- ``signatures.json``: every signature the specification gives in a heading,
  as ``[file, name, parameters]`` (the parameter list as written);
- ``operations.json``: the operation tables (``operations-*.yml`` that the
  bundled OpenAPI document is built from), merged.

Usage::

    python scripts/spec_snapshot.py [SPEC_DIR] [--check]

``SPEC_DIR`` defaults to ``../shared/spec`` relative to the repository root.
``--check`` exits with status 1 when the committed snapshot is out of date
(``make spec-check`` runs it, and CI, which has the specification beside the
repository).
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
OUTPUT = REPO_ROOT / "tests" / "data" / "spec"
TABLES = (
    "operations-core.yml",
    "operations-data.yml",
    "operations-current.yml",
    "operations-0.6.yml",
)
SIGNATURE = re.compile(r"`([A-Za-z_][\w.]*)\((.*?)\)(?:\s*->[^`]*)?`")


def signatures(spec_dir: Path) -> list[list[str]]:
    """``[file, name, parameters]`` of every backquoted signature in a heading."""
    found = []
    for path in sorted(spec_dir.glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                found += [
                    [path.name, match.group(1), match.group(2)]
                    for match in SIGNATURE.finditer(line)
                ]
    return found


def operations(spec_dir: Path) -> dict:
    """The merged operation tables."""
    merged: dict = {}
    for name in TABLES:
        merged.update(yaml.safe_load((spec_dir / name).read_text(encoding="utf-8")))
    return merged


def render(spec_dir: Path) -> dict[str, str]:
    """The snapshot files' contents, by file name."""
    return {
        "signatures.json": json.dumps(signatures(spec_dir), indent=1) + "\n",
        "operations.json": json.dumps(operations(spec_dir), indent=1, sort_keys=True)
        + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec_dir", nargs="?", type=Path, default=DEFAULT_SPEC_DIR)
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    if not args.spec_dir.is_dir():
        print(f"No specification at {args.spec_dir}", file=sys.stderr)
        return 2
    stale = []
    for name, content in render(args.spec_dir).items():
        path = OUTPUT / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if stale:
        print(
            f"Out of date in {OUTPUT}: {', '.join(stale)} "
            "(run python scripts/spec_snapshot.py)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
