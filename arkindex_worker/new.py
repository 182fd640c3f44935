"""Create the repository of a new worker: `python -m arkindex_worker.new NAME`.

```sh
python -m arkindex_worker.new "Line counter" --directory line-counter
```

The generated repository holds a package with a worker class, a console script
declared in `pyproject.toml` (depending on `arkindex-worker-sdk`), a passing test
using the SDK's pytest plugin, a `.gitlab-ci.yml`, a sample `config.yml` and a
README.

The SDK may not be on the package index (before a release, or a fork): the
README's install commands then install it first from where the generating SDK
came from, so that they work on a fresh machine. That source is, in order:

1. ``--sdk PATH|REQUIREMENT`` (``sdk=`` of `create_worker`): an existing path
   (a source checkout or a wheel) is made absolute, anything else is a pip
   requirement (``arkindex-worker-sdk==0.4.0``, ``git+https://…``);
2. the local directory or file the installed SDK was installed from (its
   ``direct_url.json``, PEP 610: an editable or local install);
3. the source checkout the running SDK is imported from;
4. none: the SDK came from the index, where ``pip`` finds it.

Why not cookiecutter (upstream's template tool)? It would be one more dependency
(plus Jinja2 and its own), for a template that needs three substitutions. The
template files ship inside the package (`arkindex_worker/templates/worker/`, with
a `.tmpl` suffix so that no tool mistakes them for code); `{{name}}` placeholders
are replaced by plain text substitution and a `__package__` path segment by the
package name.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlparse

__all__ = [
    "TEMPLATE_DIR",
    "WorkerNames",
    "create_worker",
    "main",
    "sdk_source",
    "worker_names",
]

TEMPLATE_DIR = Path(__file__).with_name("templates") / "worker"
"""The template of a worker repository."""
TEMPLATE_SUFFIX = ".tmpl"
PACKAGE_PLACEHOLDER = "__package__"
DISTRIBUTION = "arkindex-worker-sdk"
CHECKOUT = Path(__file__).resolve().parent.parent
"""Where a source checkout of the SDK has its ``pyproject.toml``."""


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


def _installed_from() -> str | None:
    """The local path the installed SDK came from (PEP 610 ``direct_url.json``)."""
    try:
        raw = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not raw:
        return None
    try:
        url = json.loads(raw).get("url", "")
    except (ValueError, AttributeError):
        return None
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parsed.path))
    return str(path) if path.exists() else None


def _is_checkout(directory: Path) -> bool:
    project = directory / "pyproject.toml"
    try:
        text = project.read_text("utf-8")
    except OSError:
        return False
    return re.search(rf'^name = "{DISTRIBUTION}"$', text, re.MULTILINE) is not None


def sdk_source(sdk: str | None = None) -> str | None:
    """What the generated README installs the SDK from (`None`: the index).

    Args:
        sdk: ``--sdk``: a path (made absolute) or a pip requirement.
    """
    if sdk:
        path = Path(sdk).expanduser()
        return str(path.resolve()) if path.exists() else sdk
    installed = _installed_from()
    if installed:
        return installed
    if _is_checkout(CHECKOUT):
        return str(CHECKOUT)
    return None


def _quote(argument: str) -> str:
    return "'" + argument.replace("'", "'\\''") + "'"


def _sdk_placeholders(source: str | None) -> dict[str, str]:
    """The README's and CI's SDK lines for a source (see `sdk_source`)."""
    if source is None:
        return {"sdk_install": "", "sdk_ci": ""}
    local = Path(source).is_absolute()
    readme = (
        f".venv/bin/pip install {_quote(source)}  # the SDK"
        + (" (from this machine)" if local else "")
        + "\n"
    )
    ci = (
        "    # The SDK is not on the package index: install it first (a wheel,\n"
        "    # a git URL...); it was generated from a local copy\n"
        if local
        else f"    - pip install {_quote(source)}\n"
    )
    return {"sdk_install": readme, "sdk_ci": ci}


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def create_worker(
    name: str,
    directory: Path | None = None,
    description: str | None = None,
    sdk: str | None = None,
) -> Path:
    """Write a new worker repository and return its directory.

    Args:
        name: Name of the worker, e.g. `"Line counter"`.
        directory: Directory to create (default: the worker's slug, in the
            current directory). It must not exist or be empty.
        description: One-line description.
        sdk: Where the README installs the SDK from: a path or a pip
            requirement (default: see `sdk_source`).

    Raises:
        ValueError: Invalid name.
        FileExistsError: `directory` exists and is not empty.
    """
    names = worker_names(name, description)
    target = Path(directory) if directory is not None else Path(names.slug)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} already exists and is not empty")
    values = {**names._asdict(), **_sdk_placeholders(sdk_source(sdk))}
    for source in sorted(TEMPLATE_DIR.rglob(f"*{TEMPLATE_SUFFIX}")):
        relative = source.relative_to(TEMPLATE_DIR).with_suffix("")
        parts = [
            names.package if part == PACKAGE_PLACEHOLDER else part
            for part in relative.parts
        ]
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(_render(source.read_text("utf-8"), values), "utf-8")
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
    parser.add_argument(
        "--sdk",
        metavar="PATH|REQUIREMENT",
        help="where the README installs the SDK from: a checkout or wheel path, or "
        "a pip requirement (default: where this SDK was installed from)",
    )
    args = parser.parse_args(argv)
    try:
        target = create_worker(args.name, args.directory, args.description, args.sdk)
    except (ValueError, OSError) as e:
        parser.exit(1, f"error: {e}\n")
    names = worker_names(args.name, args.description)
    source = sdk_source(args.sdk)
    print(f"Created worker {names.slug} in {target}")
    print("Next steps:")
    print(f"  cd {target}")
    print("  python -m venv .venv")
    if source is not None:
        print(f"  .venv/bin/pip install {_quote(source)}")
    print("  .venv/bin/pip install -e '.[tests]'")
    print("  .venv/bin/python -m pytest")
    print(f"  .venv/bin/{names.slug} --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
