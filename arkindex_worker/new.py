"""Create the repository of a new worker: `python -m arkindex_worker.new NAME`.

```sh
python -m arkindex_worker.new "Line counter" --directory line-counter
```

The generated repository holds a package with a worker class, a console script
declared in `pyproject.toml` (depending on `arkindex-worker-sdk`), a passing test
using the SDK's pytest plugin, a `.gitlab-ci.yml`, a sample `config.yml` and a
README.

Why not cookiecutter (upstream's template tool)? It would be one more dependency
(plus Jinja2 and its own), for a template that needs three substitutions. The
template files ship inside the package (`arkindex_worker/templates/worker/`, with
a `.tmpl` suffix so that no tool mistakes them for code); `{{name}}` placeholders
are replaced by plain text substitution and a `__package__` path segment by the
package name.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

__all__ = ["TEMPLATE_DIR", "WorkerNames", "create_worker", "main", "worker_names"]

TEMPLATE_DIR = Path(__file__).with_name("templates") / "worker"
"""The template of a worker repository."""
TEMPLATE_SUFFIX = ".tmpl"
PACKAGE_PLACEHOLDER = "__package__"


class WorkerNames(NamedTuple):
    """The names derived from the name a user gives."""

    slug: str
    """Distribution and console-script name, e.g. `line-counter`."""
    package: str
    """Import name, e.g. `line_counter`."""
    class_name: str
    """Worker class, e.g. `LineCounterWorker`."""
    description: str
    """One-line description."""


def worker_names(name: str, description: str | None = None) -> WorkerNames:
    """Derive the names of a worker from a free-form name.

    Raises:
        ValueError: The name has no letter or digit, or starts with a digit.
    """
    words = re.findall(r"[a-z0-9]+", name.lower())
    if not words:
        raise ValueError(f"Invalid worker name {name!r}: it needs letters or digits")
    if words[0][0].isdigit():
        raise ValueError(f"Invalid worker name {name!r}: it must start with a letter")
    class_name = "".join(word.capitalize() for word in words)
    if not class_name.endswith("Worker"):
        class_name += "Worker"
    return WorkerNames(
        slug="-".join(words),
        package="_".join(words),
        class_name=class_name,
        description=description or f"Arkindex worker {' '.join(words)}",
    )


def _render(text: str, names: WorkerNames) -> str:
    for key, value in names._asdict().items():
        text = text.replace("{{" + key + "}}", value)
    return text


def create_worker(
    name: str, directory: Path | None = None, description: str | None = None
) -> Path:
    """Write a new worker repository and return its directory.

    Args:
        name: Name of the worker, e.g. `"Line counter"`.
        directory: Directory to create (default: the worker's slug, in the
            current directory). It must not exist or be empty.
        description: One-line description.

    Raises:
        ValueError: Invalid name.
        FileExistsError: `directory` exists and is not empty.
    """
    names = worker_names(name, description)
    target = Path(directory) if directory is not None else Path(names.slug)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} already exists and is not empty")
    for source in sorted(TEMPLATE_DIR.rglob(f"*{TEMPLATE_SUFFIX}")):
        relative = source.relative_to(TEMPLATE_DIR).with_suffix("")
        parts = [
            names.package if part == PACKAGE_PLACEHOLDER else part
            for part in relative.parts
        ]
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(_render(source.read_text("utf-8"), names), "utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of `python -m arkindex_worker.new`; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m arkindex_worker.new",
        description="Create the repository of a new Arkindex worker.",
    )
    parser.add_argument("name", help='name of the worker, e.g. "Line counter"')
    parser.add_argument(
        "--directory",
        type=Path,
        help="directory to create (default: the worker's slug)",
    )
    parser.add_argument("--description", help="one-line description of the worker")
    args = parser.parse_args(argv)
    try:
        target = create_worker(args.name, args.directory, args.description)
    except (ValueError, OSError) as e:
        parser.exit(1, f"error: {e}\n")
    names = worker_names(args.name, args.description)
    print(f"Created worker {names.slug} in {target}")
    print("Next steps:")
    print(f"  cd {target}")
    print("  python -m venv .venv && .venv/bin/pip install -e '.[tests]'")
    print("  .venv/bin/python -m pytest")
    print(f"  .venv/bin/{names.slug} --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
