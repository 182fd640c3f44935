"""The migrated template conftests of docs/migration.md run a worker's own suite.

The conftests are read from the documentation itself (its marked code blocks),
so that the page and these tests cannot drift apart. Each migrated suite runs
in its own pytest process, in a temporary directory holding a worker package,
the conftest and tests in the style of the worker's own.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MIGRATION = Path(__file__).resolve().parents[2] / "docs" / "migration.md"
BLOCK = re.compile(r"<!-- conftest: ([\w.-]+) -->\n```python\n(.*?)```", re.DOTALL)
# Refused at once: a download attempt would fail the suite instead of hanging
UNREACHABLE_SCHEMA = "http://127.0.0.1:9/api/v1/openapi/?format=openapi-json"

WORKER = """
from arkindex_worker.worker import ElementsWorker


class Demo(ElementsWorker):
    compat = {compat!r}

    def process_element(self, element):
        self.seen = element.id
"""

LEGACY_RUN = """
RUN = {
    "id": "1234-demo",
    "summary": "Worker Demo @ 1234",
    "worker_version": {
        "worker": {"name": "Demo"},
        "configuration": {"configuration": {"threshold": 0.5}},
    },
    "configuration": None,
    "model_version": None,
    "process": {"id": "p", "corpus": "1234-corpus-id", "mode": "workers"},
}
"""

COMMON_TESTS = """
import importlib
import os
import sys

import requests


def test_dummy():
    assert True


def test_import():
    worker = importlib.import_module("worker_demo.worker")
    assert hasattr(worker, "Demo")
    assert hasattr(worker.Demo, "process_element")


def test_environment():
    assert os.environ["ARKINDEX_WORKER_RUN_ID"] == "1234-demo"
    assert os.environ["ARKINDEX_CORPUS_ID"] == "1234-corpus-id"


def test_responses_fixture(responses):
    responses.add(responses.GET, "https://iiif.example/image/info.json", json={"w": 1})
    assert requests.get("https://iiif.example/image/info.json").json() == {"w": 1}
    try:
        requests.get("https://elsewhere.example/")
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("an unregistered URL was reached")
"""

TESTS_04 = (
    COMMON_TESTS
    + LEGACY_RUN
    + """

def test_configure(monkeypatch):
    from worker_demo.worker import Demo

    monkeypatch.setattr(sys, "argv", ["worker"])
    worker = Demo()
    call = worker.api_client.add_response("RetrieveWorkerRun", RUN, id="1234-demo")
    assert call.operation == "RetrieveWorkerRun"
    worker.configure()
    assert worker.generation == "0.4"
    assert worker.config == {"threshold": 0.5}
    assert worker.api_client.responses == []
    assert [c.operation for c in worker.api_client.history] == ["RetrieveWorkerRun"]
"""
)

TESTS_06 = (
    COMMON_TESTS
    + LEGACY_RUN
    + """

def test_configure(monkeypatch):
    from worker_demo.worker import Demo

    monkeypatch.setattr(sys, "argv", ["worker"])
    worker = Demo()
    worker.api_client.add_response("RetrieveWorkerRun", RUN, id="1234-demo")
    worker.api_client.add_response(
        "RetrieveWorkerRunConfiguration",
        {"configuration": [{"key": "threshold", "value": 0.9, "secret": False}]},
        id="1234-demo",
    )
    worker.configure()
    assert worker.generation == "0.6"
    assert worker.config == {"threshold": 0.9}
    assert worker.api_client.responses == []
    assert worker.api_client.schema_url == os.environ["ARKINDEX_API_SCHEMA_URL"]


def test_run(monkeypatch):
    from worker_demo.worker import Demo

    element = "12341234-1234-1234-1234-123412341234"
    monkeypatch.setattr(sys, "argv", ["worker", "--element", element])
    worker = Demo()
    worker.api_client.add_response("RetrieveWorkerRun", RUN, id="1234-demo")
    worker.api_client.add_response(
        "RetrieveWorkerRunConfiguration", {"configuration": []}, id="1234-demo"
    )
    worker.api_client.add_response(
        "RetrieveElement", {"id": element, "type": "page", "name": "1"}, id=element
    )
    worker.run()
    assert worker.seen == element
"""
)


def conftests() -> dict[str, str]:
    """The marked conftest blocks of docs/migration.md, by marker."""
    return dict(BLOCK.findall(MIGRATION.read_text(encoding="utf-8")))


@pytest.mark.parametrize("template", ["0.4", "0.6"])
def test_migration_changes_the_import_line_only(template):
    blocks = conftests()
    before = blocks[f"{template}-before"].splitlines()
    after = blocks[f"{template}-after"].splitlines()

    changed = [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]

    assert sorted(changed) == [
        "+from arkindex_worker.testing import MockApiClient",
        "-from arkindex.mock import MockApiClient",
    ]


def test_templates_differ_by_the_mock_construction():
    blocks = conftests()
    changed = [
        line
        for line in difflib.unified_diff(
            blocks["0.4-after"].splitlines(),
            blocks["0.6-after"].splitlines(),
            lineterm="",
            n=0,
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]

    assert changed == [
        "-        self.api_client = MockApiClient()",
        "+        self.api_client = MockApiClient(schema_url=schema_url)",
    ]


SUITES = {
    "0.4": ("worker_demo04", TESTS_04, "auto"),
    "0.6": ("worker_demo06", TESTS_06, "0.6"),
}


@pytest.fixture(scope="module")
def suites_run(tmp_path_factory) -> dict[str, str]:
    """Run both migrated suites in one pytest process; outcome by test node ID.

    Each suite has its own directory (its conftest) and worker package.
    """
    root = tmp_path_factory.mktemp("worker-suites")
    for template, (package_name, tests, compat) in SUITES.items():
        package = root / package_name
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "worker.py").write_text(WORKER.format(compat=compat))
        suite = root / f"tests_{package_name[-2:]}"
        suite.mkdir()
        (suite / "conftest.py").write_text(conftests()[f"{template}-after"])
        (suite / f"test_{package_name}.py").write_text(
            textwrap.dedent(tests).replace("worker_demo", package_name)
        )
    (root / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "ARKINDEX_API_SCHEMA_URL": UNREACHABLE_SCHEMA}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outcomes = dict(
        re.findall(r"^(\S+::\w+) (PASSED|FAILED|ERROR)", result.stdout, re.M)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return outcomes


def test_migrated_04_suite_passes(suites_run):
    assert {n: o for n, o in suites_run.items() if n.startswith("tests_04/")} == {
        f"tests_04/test_worker_demo04.py::{name}": "PASSED"
        for name in (
            "test_dummy",
            "test_import",
            "test_environment",
            "test_responses_fixture",
            "test_configure",
        )
    }


def test_migrated_06_suite_passes(suites_run):
    assert {n: o for n, o in suites_run.items() if n.startswith("tests_06/")} == {
        f"tests_06/test_worker_demo06.py::{name}": "PASSED"
        for name in (
            "test_dummy",
            "test_import",
            "test_environment",
            "test_responses_fixture",
            "test_configure",
            "test_run",
        )
    }
