"""`arkindex_worker_factory`: configured workers with the mock client injected."""

from __future__ import annotations

import logging
import sys

import pytest

from arkindex_worker import logger
from arkindex_worker.offline import OfflineClient, OfflineMetaData
from arkindex_worker.testing import MockApiClient, MockRequest, worker_run_payload
from arkindex_worker.testing.factories import WORKER_RUN_ID, WorkerFactory
from arkindex_worker.worker import ElementsWorker, MetaType

CORPUS_ID = "22222222-2222-2222-2222-222222222222"
ELEMENT_ID = "12341234-1234-1234-1234-123412341234"


class LanguageWorker(ElementsWorker):
    """Tag every element with a language metadata."""

    def process_element(self, element):
        self.create_metadata(element, MetaType.Text, "lang", "fr")


def test_dev_mode_by_default(arkindex_worker_factory):
    worker = arkindex_worker_factory(ElementsWorker)

    assert (worker.args.dev, worker.is_read_only) == (True, True)


def test_the_mock_client_is_injected(arkindex_worker_factory, arkindex_mock_api):
    worker = arkindex_worker_factory(ElementsWorker)

    assert worker.api_client is arkindex_mock_api


def test_argv_is_the_command_line(arkindex_worker_factory):
    worker = arkindex_worker_factory(ElementsWorker, ["--element", ELEMENT_ID])

    assert worker.args.element == [ELEMENT_ID]
    assert sys.argv == ["ElementsWorker", "--dev", "--element", ELEMENT_ID]


def test_env_is_the_environment(arkindex_worker_factory):
    worker = arkindex_worker_factory(
        ElementsWorker, env={"ARKINDEX_CORPUS_ID": CORPUS_ID}
    )

    assert worker.corpus_id == CORPUS_ID


def test_the_shell_environment_is_ignored(arkindex_worker_factory, monkeypatch):
    monkeypatch.setenv("ARKINDEX_CORPUS_ID", CORPUS_ID)

    worker = arkindex_worker_factory(ElementsWorker)

    assert worker._corpus_id is None


def test_work_dir_is_private(arkindex_worker_factory, tmp_path_factory):
    worker = arkindex_worker_factory(ElementsWorker)

    assert worker.work_dir.parts[-2:] == ("data", "arkindex")
    assert worker.work_dir.is_relative_to(tmp_path_factory.getbasetemp())


def test_constructor_arguments(arkindex_worker_factory):
    worker = arkindex_worker_factory(ElementsWorker, support_cache=True)

    assert worker.support_cache is True


def test_worker_run_configures_from_the_mock(
    arkindex_worker_factory, arkindex_mock_api
):
    worker = arkindex_worker_factory(ElementsWorker, worker_run=True)

    assert worker.is_read_only is False
    assert (worker.worker_run_id, worker.corpus_id) == (
        WORKER_RUN_ID,
        worker_run_payload()["process"]["corpus"],
    )
    assert arkindex_mock_api.history == [
        MockRequest("RetrieveWorkerRun", None, (), {"id": WORKER_RUN_ID})
    ]


def test_worker_run_payload_configuration(arkindex_worker_factory):
    worker = arkindex_worker_factory(
        ElementsWorker, worker_run=worker_run_payload({"threshold": 0.5})
    )

    assert worker.config == {"threshold": 0.5}


def test_configure_false_leaves_the_worker_run_response(
    arkindex_worker_factory, arkindex_mock_api
):
    worker = arkindex_worker_factory(ElementsWorker, worker_run=True, configure=False)

    assert not hasattr(worker, "args")
    assert [r.operation for r in arkindex_mock_api.responses] == ["RetrieveWorkerRun"]
    worker.configure()


def test_run_publishes_through_the_mock(arkindex_worker_factory, arkindex_mock_api):
    worker = arkindex_worker_factory(
        LanguageWorker, ["--element", ELEMENT_ID], worker_run=True, configure=False
    )
    arkindex_mock_api.add_response(
        "RetrieveElement",
        {"id": ELEMENT_ID, "type": "page", "name": "1"},
        id=ELEMENT_ID,
    )
    arkindex_mock_api.add_response(
        "CreateMetaData",
        {"id": "m1"},
        id=ELEMENT_ID,
        body={
            "type": "text",
            "name": "lang",
            "value": "fr",
            "entity_id": None,
            "worker_run_id": WORKER_RUN_ID,
        },
    )

    worker.run()


def test_close_restores_the_log_level(monkeypatch, tmp_path):
    factory = WorkerFactory(MockApiClient(), monkeypatch, tmp_path)
    level = logger.level
    factory(ElementsWorker, ["--verbose"])
    assert logger.level == logging.DEBUG

    factory.close()

    assert logger.level == level


def test_offline_run_stores_in_the_database(
    arkindex_worker_factory, arkindex_offline_database
):
    worker = arkindex_worker_factory(
        LanguageWorker,
        arkindex_offline_database.argv,
        configure=False,
        support_cache=True,
    )

    worker.run()

    assert isinstance(worker.api_client, OfflineClient)
    stored = sorted(
        (str(m.element_id), m.name, m.value) for m in OfflineMetaData.select()
    )
    assert stored == sorted(
        (page_id, "lang", "fr") for page_id in arkindex_offline_database.page_ids
    )


@pytest.mark.parametrize(
    ("kwargs", "mode", "state"),
    [
        pytest.param({}, "workers", "disabled", id="defaults"),
        pytest.param(
            {"process_mode": "dataset", "activity_state": "ready"},
            "dataset",
            "ready",
            id="given",
        ),
    ],
)
def test_worker_run_payload_process(kwargs, mode, state):
    process = worker_run_payload(**kwargs)["process"]

    assert (process["mode"], process["activity_state"]) == (mode, state)
