"""Flipping the switch both ways in one process: nothing leaks between generations."""

from __future__ import annotations

import json
import logging

import pytest

from arkindex_worker import compat as compat_module
from arkindex_worker import generation
from arkindex_worker.models import Element
from arkindex_worker.worker import BaseWorker, ElementsWorker
from arkindex_worker.worker.metadata import MetaType
from tests.conftest import WORKER_RUN_ID, api_url
from tests.generation.conftest import (
    CONFIGURATION_URL,
    WORKER_RUN_URL,
    current_worker_run,
    item,
    records,
)
from tests.worker.factories import worker_run_payload

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
METADATA_URL = api_url(f"element/{ELEMENT_ID}/metadata/")
MODEL_VERSION = {"id": "mv", "configuration": {"model_only": 1}, "model": {"id": "m"}}


class Worker04(ElementsWorker):
    compat = "0.4"


class Worker06(ElementsWorker):
    compat = "0.6"


def configure_current(mock_api, cls):
    """Configure a worker of ``cls`` from a 1.12 run with a model version."""
    payload = current_worker_run()
    payload["model_version"] = MODEL_VERSION
    mock_api.get(WORKER_RUN_URL, json=payload)
    mock_api.get(CONFIGURATION_URL, json={"configuration": [item("a", 1)]})
    worker = cls()
    worker.configure()
    return worker


def metadata_body(worker, mock_api) -> dict:
    mock_api.post(METADATA_URL, json={"id": "m1"})
    worker.create_metadata(Element(id=ELEMENT_ID), MetaType.Text, "lang", "fr")
    return json.loads(mock_api.calls[-1].request.body)


def test_06_then_04_in_one_process(api_env, mock_api, caplog):
    modern = configure_current(mock_api, Worker06)
    assert modern.config == {"a": 1}
    assert compat_module.current_generation() == "0.6"
    caplog.clear()

    legacy = configure_current(mock_api, Worker04)

    assert legacy.generation == "0.4"
    assert legacy.config == {"a": 1, "model_only": 1}  # 0.4 merge
    assert [m for _, m in records(caplog, logging.INFO)][-2:] == [
        "Model version configuration retrieved",
        "User configuration retrieved",
    ]
    assert compat_module.current_generation() == "0.4"
    # each worker keeps its own generation, whatever the process-wide one
    assert modern.generation == "0.6"
    assert "entity_id" not in metadata_body(modern, mock_api)
    assert metadata_body(legacy, mock_api)["entity_id"] is None


def test_04_then_06_in_one_process(api_env, mock_api):
    legacy = configure_current(mock_api, Worker04)
    assert legacy.user_configuration == {"a": 1}

    modern = configure_current(mock_api, Worker06)

    assert modern.config == {"a": 1}
    assert modern.model_configuration == {"model_only": 1}
    with pytest.deprecated_call():
        assert modern.user_configuration == {"a": 1}
    assert legacy.config == {"a": 1, "model_only": 1}
    assert compat_module.current_generation() == "0.6"


def test_variable_flips_between_workers(compat):
    compat("0.6")
    first = BaseWorker()
    compat("0.4")
    second = BaseWorker()

    assert (first.generation, second.generation) == ("0.6", "0.4")
    assert compat_module.current_generation() == "0.4"  # the last writer
    compat(None)
    assert BaseWorker().generation == "0.4"


def test_auto_worker_flips_with_its_configuration(api_env, mock_api, caplog):
    caplog.set_level(logging.DEBUG)
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, json={"configuration": [item("a", 1)]})
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(configuration={"b": 2}))
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, json={"configuration": [item("c", 3)]})
    worker = ElementsWorker()

    seen = []
    for _ in range(3):
        worker.configure()
        seen.append((str(worker.generation), dict(worker.config), worker.use_cache))

    assert seen == [
        ("0.6", {"a": 1}, False),
        ("0.4", {"b": 2}, False),
        ("0.6", {"c": 3}, False),
    ]
    assert [m for _, m in records(caplog) if m.startswith("Using SDK")] == [
        "Using SDK generation 0.6, chosen from the worker run configuration",
        "Using SDK generation 0.4, chosen from the worker run configuration",
        "Using SDK generation 0.6, chosen from the worker run configuration",
    ]


def test_process_state_does_not_cross_tests_part_1(api_env, mock_api):
    configure_current(mock_api, ElementsWorker)
    assert generation.current() == "0.6"


def test_process_state_does_not_cross_tests_part_2():
    # The plugin reset what the previous test's worker published
    assert generation.published() is None
    assert compat_module.current_generation() == "0.4"


def test_reset_lets_the_variable_decide(compat):
    compat_module.set_current_generation("0.6")
    compat("0.4")
    assert compat_module.current_generation() == "0.6"

    compat_module.reset_current_generation()

    assert compat_module.current_generation() == "0.4"
    compat("0.6")
    assert compat_module.current_generation() == "0.6"


def test_worker_run_id_is_the_same_for_both(api_env):
    assert Worker04().worker_run_id == Worker06().worker_run_id == WORKER_RUN_ID
