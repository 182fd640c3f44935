"""The read-only rule: one function, reached by every publication helper."""

from __future__ import annotations

import ast
import logging
import sys
from pathlib import Path

import pytest

import arkindex_worker.worker
from arkindex_worker.models import Dataset, Element, Set
from arkindex_worker.worker import ElementsWorker, base, training
from arkindex_worker.worker.dataset import DatasetState
from arkindex_worker.worker.read_only import (
    READ_ONLY_WARNING,
    skip_if_read_only,
    skip_publication,
)

WARNING = "Cannot do it as this worker is in read-only mode"
WORKER_PACKAGE = Path(arkindex_worker.worker.__file__).parent


class Worker:
    def __init__(self, read_only: bool, offline: bool = False):
        self.is_read_only = read_only
        self.is_offline = offline


@pytest.mark.parametrize(
    ("read_only_mode", "offline", "available_offline", "skipped"),
    [
        pytest.param(False, False, True, False, id="online"),
        pytest.param(False, False, False, False, id="online-unavailable-offline"),
        pytest.param(True, False, True, True, id="read-only"),
        pytest.param(True, False, False, True, id="read-only-unavailable-offline"),
        pytest.param(True, True, True, False, id="offline"),
        pytest.param(True, True, False, True, id="offline-unavailable"),
    ],
)
def test_rule(caplog, read_only_mode, offline, available_offline, skipped):
    worker = Worker(read_only_mode, offline)
    assert (
        skip_publication(worker, WARNING, available_offline=available_offline)
        is skipped
    )
    expected = [("arkindex_worker", logging.WARNING, WARNING)] if skipped else []
    assert caplog.record_tuples == expected


def test_rule_without_attributes(caplog):
    assert skip_publication(object(), WARNING) is False
    assert caplog.record_tuples == []


def test_one_decorator_everywhere():
    assert training.skip_if_read_only is skip_if_read_only
    assert base.skip_if_read_only is skip_if_read_only


def test_decorator_not_available_offline(caplog):
    class Thing(Worker):
        @skip_if_read_only
        def act(self):
            return "done"

    assert Thing(True, offline=True).act() is None
    assert caplog.record_tuples == [
        ("arkindex_worker", logging.WARNING, READ_ONLY_WARNING)
    ]


def test_method_is_the_rule(mock_elements_worker_read_only, caplog, monkeypatch):
    seen = []

    def rule(worker, warning, *, available_offline=True):
        seen.append((worker, warning, available_offline))
        return True

    monkeypatch.setattr(base, "skip_publication", rule)
    worker = mock_elements_worker_read_only
    assert worker.skip_publication(WARNING) is True
    assert worker.skip_publication(WARNING, available_offline=False) is True
    assert seen == [(worker, WARNING, True), (worker, WARNING, False)]


def _warning_strings(tree: ast.AST) -> list[ast.Constant]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("Cannot ")
        and node.value.endswith("read-only mode")
    ]


@pytest.mark.parametrize(
    "path",
    sorted(WORKER_PACKAGE.glob("*.py")),
    ids=lambda path: path.name,
)
def test_no_other_read_only_idiom(path):
    """Read-only WARNINGs are only logged by the rule, never by a mixin itself."""
    tree = ast.parse(path.read_text())
    allowed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = getattr(func, "attr", None) or getattr(func, "id", None)
            if name == "skip_publication":
                allowed.update(id(arg) for arg in node.args)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(
            node.value, ast.Constant
        ):
            allowed.add(id(node.value))  # a module constant, e.g. READ_ONLY_MESSAGE
    stray = [node.value for node in _warning_strings(tree) if id(node) not in allowed]
    assert stray == []


# ---------------------------------------------------------------- offline


@pytest.fixture
def offline_worker(cache_path, monkeypatch, mock_api):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--database", str(cache_path)])
    worker = ElementsWorker(support_cache=True)
    worker.configure()
    yield worker
    assert len(mock_api.calls) == 0


def test_offline_keeps_read_only_for_datasets_and_artifacts(
    offline_worker, caplog, tmp_path
):
    """Publications the offline client cannot store still skip, as read-only."""
    dataset = Dataset(id="dataset", name="d", state="open")
    dataset_set = Set(name="train", dataset=dataset)
    element = Element(id="element")
    artifact = tmp_path / "artifact.txt"
    artifact.write_text("x")
    caplog.clear()
    assert offline_worker.update_dataset_state(dataset, DatasetState.Open) is None
    assert offline_worker.create_dataset_element(dataset_set, element) is None
    assert offline_worker.upload_artifact(artifact) is None
    assert [message for _, _, message in caplog.record_tuples] == [
        "Cannot update dataset as this worker is in read-only mode",
        "Cannot create dataset element as this worker is in read-only mode",
        "Cannot upload artifact as this worker is in read-only mode",
    ]
    # The helpers the offline client stores are not skipped.
    assert offline_worker.skip_publication(WARNING) is False
