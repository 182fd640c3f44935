"""Fixtures of the end-to-end tests: the API double and a runner for ``worker-demo``.

The worker runs as a real subprocess, through its console script, against the
double on loopback. Its environment is built from scratch (no variable of the
developer's shell leaks in) and shortens the client's retry waits to zero.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.double import ArkindexDouble, build_demo_corpus

WORKER_SCRIPT = Path(sys.executable).parent / "worker-demo"
RUN_TIMEOUT = 30
LEAKING_PREFIXES = ("ARKINDEX_", "PONOS_")
LEAKING_NAMES = (
    "TASK_ELEMENTS",
    "SKIP_TASK_ELEMENTS",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
)
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+/[\w.]+: .*)$")


@dataclass
class Run:
    """What a finished worker process left: exit code and stderr lines."""

    returncode: int
    stderr: str

    @property
    def lines(self) -> list[str]:
        """Stderr lines, log records reduced to ``LEVEL/logger: message``."""
        return [
            match.group(1) if (match := LOG_LINE.match(line)) else line
            for line in self.stderr.splitlines()
        ]


@dataclass
class Demo:
    """A started double holding the demo corpus and its three pages."""

    double: ArkindexDouble
    pages: list[str]
    empty_page: str

    @property
    def elements(self) -> list[str]:
        """IDs of the elements the tests process: two pages with lines, one without."""
        return [*self.pages, self.empty_page]


def build_demo(double: ArkindexDouble) -> Demo:
    """Two pages with three text lines each, then a page without any line."""
    pages = build_demo_corpus(double, pages=2, lines=3)
    empty_page = double.add_element("page", "Empty page", image=double.add_image())
    return Demo(double, pages, empty_page)


@pytest.fixture
def demo() -> Iterator[Demo]:
    """A running double with the demo corpus."""
    with ArkindexDouble() as double:
        yield build_demo(double)


def worker_env(double: ArkindexDouble, home: Path, **overrides: str) -> dict[str, str]:
    """Environment of a worker run against the double (retry waits shortened).

    ``overrides`` win, ``ARKINDEX_API_URL`` included (another front's URL).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(LEAKING_PREFIXES) and name not in LEAKING_NAMES
    }
    env.update(
        ARKINDEX_API_URL=overrides.get("ARKINDEX_API_URL") or double.url,
        ARKINDEX_API_TOKEN=double.token,
        ARKINDEX_WORKER_RUN_ID=double.worker_run_id,
        ARKINDEX_API_RETRY_WAIT_MIN="0",
        ARKINDEX_API_RETRY_WAIT_MAX="0",
        # Strictly sequential requests, so tests can compare whole request
        # sequences; test_overlap.py runs with the default overlap
        ARKINDEX_WORKER_OVERLAP="0",
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
    )
    env.update(overrides)
    return env


def start_demo_worker(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    python_flags: tuple[str, ...] = (),
) -> subprocess.Popen:
    """Start ``worker-demo`` through its console script."""
    command = [sys.executable, *python_flags, str(WORKER_SCRIPT), *args]
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> Run:
    """Wait for a started worker and collect what it left."""
    _stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    return Run(process.returncode, stderr)


def run_demo_worker(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    python_flags: tuple[str, ...] = (),
) -> Run:
    """Run ``worker-demo`` through its console script and wait for it."""
    return finish(start_demo_worker(args, env, cwd, python_flags))


def write_elements_list(path: Path, content: object) -> Path:
    """Write an elements list JSON file."""
    path.write_text(json.dumps(content))
    return path


@pytest.fixture
def run_worker(tmp_path: Path) -> Callable[..., Run]:
    """Run ``worker-demo`` against a double: ``run_worker(double, args, **env)``."""

    def run(
        double: ArkindexDouble,
        args: list[str],
        python_flags: tuple[str, ...] = (),
        **env: str,
    ) -> Run:
        return run_demo_worker(
            args, worker_env(double, tmp_path, **env), tmp_path, python_flags
        )

    return run
