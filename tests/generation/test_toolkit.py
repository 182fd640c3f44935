"""The testing toolkit under generation 0.6: the worker factory registers both answers."""

from __future__ import annotations

from arkindex_worker.worker import ElementsWorker


class Worker06(ElementsWorker):
    compat = "0.6"


def test_factory_registers_the_run_configuration(
    arkindex_mock_api, arkindex_worker_factory
):
    from arkindex_worker.testing import worker_run_payload

    worker = arkindex_worker_factory(
        Worker06, worker_run=worker_run_payload({"threshold": 0.5})
    )

    assert worker.config == {"threshold": 0.5}
    assert [c.operation for c in arkindex_mock_api.history] == [
        "RetrieveWorkerRun",
        "RetrieveWorkerRunConfiguration",
    ]


def test_factory_takes_explicit_items(arkindex_mock_api, arkindex_worker_factory):
    worker = arkindex_worker_factory(
        Worker06,
        worker_run=True,
        run_configuration=[{"key": "a.b", "value": 1, "secret": False}],
    )

    assert worker.config == {"a.b": 1}


def test_factory_legacy_run_under_auto_registers_one_answer(
    arkindex_mock_api, arkindex_worker_factory
):
    worker = arkindex_worker_factory(ElementsWorker, worker_run=True)

    assert worker.generation == "0.4"
    assert [c.operation for c in arkindex_mock_api.history] == ["RetrieveWorkerRun"]


def test_factory_environment_starts_without_the_switch(
    arkindex_worker_factory, monkeypatch
):
    monkeypatch.setenv("ARKINDEX_WORKER_COMPAT", "0.6")

    worker = arkindex_worker_factory(ElementsWorker)

    assert worker.generation == "0.4"
    assert (
        arkindex_worker_factory(
            ElementsWorker, env={"ARKINDEX_WORKER_COMPAT": "0.6"}
        ).generation
        == "0.6"
    )
