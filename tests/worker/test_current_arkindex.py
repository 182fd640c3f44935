"""Running inside current Arkindex servers: activity queue, run configuration, exports."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from arkindex_worker import generation, models
from arkindex_worker.api import ErrorResponse
from arkindex_worker.models import Dataset, Set
from arkindex_worker.worker import (
    BaseWorker,
    DatasetWorker,
    ElementsWorker,
    WorkerActivityIterator,
)
from arkindex_worker.worker import base as base_module
from tests.conftest import TASK_ID, WORKER_RUN_ID, api_url
from tests.worker.factories import element_payload, worker_run_payload

QUEUE_URL = api_url("process/start-activity/")
ACTIVITY_URL = api_url(f"workers/versions/{WORKER_RUN_ID}/activity/")
WORKER_RUN_URL = api_url(f"process/workers/{WORKER_RUN_ID}/")
CONFIGURATION_URL = api_url(f"workers/runs/{WORKER_RUN_ID}/configuration/")
SCHEMA_URL = api_url("openapi/?format=json")
PAGE_1 = "11111111-aaaa-aaaa-aaaa-000000000001"
PAGE_2 = "11111111-aaaa-aaaa-aaaa-000000000002"


@pytest.fixture(autouse=True)
def _reset_image_defaults():
    yield
    models.use_modern_image_defaults(False)


def current_worker_run(**process) -> dict:
    """A RetrieveWorkerRun answer of a 1.12+ server: no embedded configuration."""
    payload = worker_run_payload()
    del payload["worker_version"]["configuration"]
    payload["process"].update(process)
    return payload


def requests_made(mock_api) -> list[tuple[str, str, str | None]]:
    return [
        (
            c.request.method,
            c.request.url,
            json.loads(c.request.body)["state"] if c.request.body else None,
        )
        for c in mock_api.calls
    ]


def info_and_up(caplog) -> list[tuple[int, str]]:
    return [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "arkindex_worker" and r.levelno >= logging.INFO
    ]


@pytest.fixture
def queue_worker(api_env, mock_api, monkeypatch):
    """Build an ElementsWorker whose worker run asks for the queue."""

    def build(argv=(), *, skip_elements_json=True, configuration=True):
        monkeypatch.setattr(sys, "argv", ["worker", *argv])
        payload = worker_run_payload()
        payload["process"]["skip_elements_json"] = skip_elements_json
        mock_api.get(WORKER_RUN_URL, json=payload)
        return ElementsWorker()

    return build


def add_queue(mock_api, *element_ids, end_status=404):
    for element_id in element_ids:
        mock_api.post(QUEUE_URL, json={"id": element_id, "name": "x"})
    mock_api.post(QUEUE_URL, status=end_status, json={"detail": "empty"})


def add_element(mock_api, element_id, name):
    mock_api.get(
        api_url(f"element/{element_id}/"), json=element_payload(element_id, name)
    )


# --- the queue ----------------------------------------------------------------


def test_queue_reference_scenario(queue_worker, mock_api, caplog):
    worker = queue_worker()
    mock_api.post(QUEUE_URL, json={"id": PAGE_1})
    add_element(mock_api, PAGE_1, "Page n°1")
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.post(QUEUE_URL, json={"id": PAGE_2})
    add_element(mock_api, PAGE_2, "Page n°2")
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.post(QUEUE_URL, status=404, json={"detail": "empty"})
    caplog.clear()
    worker.run()
    assert requests_made(mock_api)[1:] == [
        ("POST", QUEUE_URL, None),
        ("GET", api_url(f"element/{PAGE_1}/"), None),
        ("PUT", ACTIVITY_URL, "processed"),
        ("POST", QUEUE_URL, None),
        ("GET", api_url(f"element/{PAGE_2}/"), None),
        ("PUT", ACTIVITY_URL, "processed"),
        ("POST", QUEUE_URL, None),
    ]
    assert mock_api.calls[1].request.body is None
    assert info_and_up(caplog)[1:] == [
        (
            logging.INFO,
            "Using StartWorkerActivity instead of reading init_elements JSON file",
        ),
        (logging.INFO, f"Processing page Page n°1 ({PAGE_1}) (n°1)"),
        (logging.INFO, f"Processing page Page n°2 ({PAGE_2}) (n°2)"),
        (logging.INFO, "Ran on 2 elements: 2 completed, 0 failed"),
    ]


@pytest.mark.parametrize("status", [400, 404])
def test_queue_empty_at_once(queue_worker, mock_api, caplog, status):
    worker = queue_worker()
    add_queue(mock_api, end_status=status)
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1
    assert info_and_up(caplog)[-2:] == [
        (
            logging.INFO,
            "Using StartWorkerActivity instead of reading init_elements JSON file",
        ),
        (logging.WARNING, "No elements to process, stopping."),
    ]


def test_queue_server_error_is_fatal(queue_worker, mock_api, caplog, sleeps):
    worker = queue_worker()
    for _ in range(5):
        mock_api.post(QUEUE_URL, status=500, json={"detail": "boom"})
    with pytest.raises(ErrorResponse):
        worker.run()
    assert (
        logging.WARNING,
        "Failed to start a new worker activity of element due to an API error: "
        "{'detail': 'boom'}",
    ) in info_and_up(caplog)
    assert len(sleeps) == 4


def test_queue_element_failure(queue_worker, mock_api, caplog):
    worker = queue_worker()
    mock_api.post(QUEUE_URL, json={"id": PAGE_1})
    add_element(mock_api, PAGE_1, "Page")
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.post(QUEUE_URL, status=404)

    def fail(element):
        raise ValueError("boom")

    worker.process_element = fail
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1
    assert ("PUT", ACTIVITY_URL, "error") in requests_made(mock_api)
    assert info_and_up(caplog)[-1] == (
        logging.ERROR,
        "Ran on 1 element: 0 completed, 1 failed",
    )


def test_queue_is_pulled_lazily(queue_worker, mock_api):
    worker = queue_worker()
    add_queue(mock_api, PAGE_1, PAGE_2)
    for page in (PAGE_1, PAGE_2):
        add_element(mock_api, page, "Page")
        mock_api.put(ACTIVITY_URL, json={})
    seen = []
    worker.process_element = lambda element: seen.append(len(mock_api.calls))
    worker.run()
    # When each element is processed, its own pull is the last queue request
    queue_calls = [
        i for i, c in enumerate(mock_api.calls) if c.request.url == QUEUE_URL
    ]
    assert queue_calls == [1, 4, 7]
    assert seen == [3, 6]


def test_queue_without_activity_updates(queue_worker, mock_api):
    worker = queue_worker(["--no-worker-activity"])
    add_queue(mock_api, PAGE_1)
    add_element(mock_api, PAGE_1, "Page")
    worker.run()
    assert [m for m, _, _ in requests_made(mock_api)] == ["GET", "POST", "GET", "POST"]


def test_element_argument_keeps_04_behaviour(queue_worker, mock_api, caplog):
    worker = queue_worker(["--element", PAGE_1], skip_elements_json=None)
    add_element(mock_api, PAGE_1, "Page")
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, json={})
    worker.run()
    assert QUEUE_URL not in [c.request.url for c in mock_api.calls]
    assert (logging.INFO, f"Processing page Page ({PAGE_1}) (1/1)") in info_and_up(
        caplog
    )


def test_skip_elements_json_false_never_queues(queue_worker, mock_api):
    worker = queue_worker(skip_elements_json=False)
    with pytest.raises(SystemExit):
        worker.run()
    assert QUEUE_URL not in [c.request.url for c in mock_api.calls]


def test_missing_flag_outside_task_keeps_04(mock_elements_worker):
    assert mock_elements_worker.get_elements() == []


def test_missing_flag_inside_task_uses_queue(mock_elements_worker):
    mock_elements_worker.task_id = TASK_ID
    elements = mock_elements_worker.get_elements()
    assert isinstance(elements, WorkerActivityIterator)
    assert mock_elements_worker.unknown_nb_elements is True


def test_dev_mode_no_elements_list_option(mock_elements_worker_read_only):
    worker = mock_elements_worker_read_only
    worker.args = worker.parser.parse_args(["--dev", "--no-elements-list"])
    assert isinstance(worker.get_elements(), WorkerActivityIterator)


def test_skip_task_elements_variable(monkeypatch):
    monkeypatch.setenv("SKIP_TASK_ELEMENTS", "")
    assert ElementsWorker().parser.parse_args([]).consume_worker_activities is True


def test_property_override_keeps_list_mode(api_env, mock_api, monkeypatch):
    class Worker(ElementsWorker):
        @property
        def consume_worker_activities(self):
            return False

    monkeypatch.setattr(sys, "argv", ["worker", "--element", PAGE_1])
    mock_api.get(WORKER_RUN_URL, json=current_worker_run(skip_elements_json=True))
    mock_api.get(CONFIGURATION_URL, json={"configuration": []})
    add_element(mock_api, PAGE_1, "Page")
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, json={})
    Worker().run()
    assert QUEUE_URL not in [c.request.url for c in mock_api.calls]


def test_iterator_stays_stopped(mock_api):
    from arkindex_worker.api import ArkindexClient

    mock_api.post(QUEUE_URL, status=404)
    iterator = WorkerActivityIterator(ArkindexClient(base_url="http://testserver"))
    assert bool(iterator) is True
    assert list(iterator) == []
    assert list(iterator) == []
    assert len(mock_api.calls) == 1


# --- configuration --------------------------------------------------------------


CONFIG_ITEMS = [
    {"key": "someKey", "value": "someValue", "secret": False},
    {"key": "overlap.max_overlap_count", "value": 3, "secret": False},
    {"key": "debug", "value": None, "secret": False},
]


def configure(mock_api, payload, items, argv=()):
    mock_api.get(WORKER_RUN_URL, json=payload)
    if items is not None:
        mock_api.get(CONFIGURATION_URL, json={"configuration": items})
    worker = BaseWorker()
    worker.configure()
    return worker


def test_current_configuration_path(api_env, mock_api, caplog):
    worker = configure(mock_api, current_worker_run(), CONFIG_ITEMS)
    assert worker.config == {
        "someKey": "someValue",
        "overlap.max_overlap_count": 3,
        "debug": None,
    }
    with pytest.deprecated_call():  # generation 0.6 (spec 15 §2.6)
        assert worker.user_configuration == worker.config
    assert worker.secrets == {}
    assert worker.generation == generation.GENERATION_0_6
    assert generation.current() is worker.generation
    assert generation.current().modern_image_defaults is True
    # Generation 0.6 (spec 15 §2.2): no merge, no "… retrieved" lines
    assert info_and_up(caplog)[-2:] == [
        (logging.INFO, "Loaded Worker Fake worker @ 123412 from API"),
        (logging.INFO, f"Using worker run configuration {WORKER_RUN_ID}"),
    ]


def test_modern_configuration_flag(api_env, mock_api):
    payload = worker_run_payload(configuration={"legacy": True})
    payload["worker_version"]["modern_configuration"] = True
    worker = configure(mock_api, payload, CONFIG_ITEMS[:1])
    assert worker.config == {"someKey": "someValue"}


def test_legacy_path_with_flag_false(api_env, mock_api):
    payload = worker_run_payload(configuration={"legacy": True})
    payload["worker_version"]["modern_configuration"] = False
    worker = configure(mock_api, payload, None)
    assert worker.config == {"legacy": True}
    assert len(mock_api.calls) == 1
    assert worker.generation == generation.GENERATION_0_4
    assert generation.current().modern_image_defaults is False


def test_current_path_with_model_version(api_env, mock_api, caplog):
    payload = current_worker_run()
    payload["model_version"] = {
        "id": "mv",
        "configuration": {"model_only": 1, "someKey": "model"},
        "model": {"id": "m"},
    }
    worker = configure(mock_api, payload, CONFIG_ITEMS[:1])
    # Generation 0.6 (spec 15 §2.3): the model version's keys stay apart
    assert worker.config == {"someKey": "someValue"}
    assert worker.model_configuration == {"model_only": 1, "someKey": "model"}
    assert [m for _, m in info_and_up(caplog)][-3:] == [
        "Loaded Worker Fake worker @ 123412 from API",
        "Loaded model version configuration from WorkerRun",
        f"Using worker run configuration {WORKER_RUN_ID}",
    ]


def test_configuration_error_propagates(api_env, mock_api):
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, status=400, json={"detail": "old format"})
    with pytest.raises(ErrorResponse):
        BaseWorker().configure()


SERVER_PATHS = {
    "RetrieveSecret": "/api/v1/secret/{name}",
    "RetrieveElement": "/api/v1/element/{id}/",
}


def schema(*operation_ids) -> dict:
    """A minimal server OpenAPI document listing some operations."""
    paths = {
        SERVER_PATHS[op]: {"get": {"operationId": op, "responses": {}}}
        for op in operation_ids
    }
    return {"openapi": "3.0.0", "info": {"title": "x", "version": "1"}, "paths": paths}


SECRET_ITEMS = [
    {"key": "token", "value": "path/secret.txt", "secret": True},
    {"key": "optional", "value": None, "secret": True},
]


def test_secret_items_on_server_with_secrets(api_env, mock_api, caplog):
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, json={"configuration": SECRET_ITEMS})
    mock_api.get(SCHEMA_URL, json=schema("RetrieveSecret", "RetrieveElement"))
    mock_api.get(api_url("secret/path%2Fsecret.txt"), json={"content": "s3cr3t"})
    worker = BaseWorker()
    worker.configure()
    assert worker.config == {"token": "s3cr3t", "optional": None}
    assert worker.secrets == {"token": "s3cr3t", "optional": None}
    assert (logging.INFO, "Optional secret `optional` is not set") in info_and_up(
        caplog
    )
    assert "s3cr3t" not in caplog.text


def test_secret_items_on_server_without_secrets(api_env, mock_api):
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, json={"configuration": SECRET_ITEMS[:1]})
    mock_api.get(SCHEMA_URL, json=schema("RetrieveElement"))
    worker = BaseWorker()
    worker.configure()
    assert worker.secrets == {"token": "path/secret.txt"}


def test_local_item_list_configuration(monkeypatch, tmp_path, caplog):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"configuration": CONFIG_ITEMS[:2]}))
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--config", str(config)])
    worker = BaseWorker()
    worker.configure()
    assert worker.config == {"someKey": "someValue", "overlap.max_overlap_count": 3}
    assert worker.worker_details == {"name": "Local worker"}
    assert (
        logging.INFO,
        f"Running with local configuration from {config}",
    ) in info_and_up(caplog)


def test_local_configuration_mapping_keeps_04_meaning(monkeypatch, tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("configuration:\n  a: 1\n")
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--config", str(config)])
    worker = BaseWorker()
    worker.configure()
    assert worker.config == {"configuration": {"a": 1}}


def test_load_configuration_item_alias():
    assert BaseWorker._load_configuration_item is BaseWorker.load_configuration_item


# --- cleanup and model directory -------------------------------------------------


def test_cleanup_logs_only_when_asked(caplog):
    worker = BaseWorker()
    caplog.clear()
    worker.cleanup()
    assert info_and_up(caplog) == []
    worker.cleanup(info_log="Cleaning up")
    assert info_and_up(caplog) == [(logging.INFO, "Cleaning up")]


def test_cleanup_registered_at_exit(monkeypatch):
    hooks = []
    monkeypatch.setattr(base_module.atexit, "register", hooks.append)
    calls = []

    class Worker(BaseWorker):
        def cleanup(self, info_log=None):
            calls.append(info_log)
            raise RuntimeError("ignored")

    worker = Worker()
    (hook,) = hooks
    hook()
    assert calls == [None]
    del worker
    hook()  # the worker is gone: nothing happens
    assert calls == [None]


def test_model_dir(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("ARKINDEX_MODEL_DIR", str(tmp_path / "missing"))
    worker = BaseWorker()
    assert worker.model_dir == tmp_path / "missing"
    assert (
        logging.WARNING,
        f"Model directory {tmp_path / 'missing'} is missing",
    ) in info_and_up(caplog)


# --- dataset exports -------------------------------------------------------------


CORPUS = "c0c0c0c0-c0c0-c0c0-c0c0-c0c0c0c0c0c0"
DATASET = "d0d0d0d0-d0d0-d0d0-d0d0-d0d0d0d0d0d0"


def test_dataset_worker_export_path(api_env, mock_api, monkeypatch, tmp_path):
    dataset = Dataset(id=DATASET, name="D", corpus_id=CORPUS, sets=["train", "val"])
    sets = [Set(name="train", dataset=dataset), Set(name="val", dataset=dataset)]
    monkeypatch.setattr(sys, "argv", ["worker"])
    monkeypatch.setattr(DatasetWorker, "list_sets", lambda self: iter(sets))
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(mode="dataset"))
    mock_api.post(api_url(f"corpus/{CORPUS}/export/"), json={"id": "e1"})
    export_file = tmp_path / "export.sqlite"
    export_file.write_bytes(b"sqlite")
    calls = []

    def get_export(self, export_id, dataset_id):
        calls.append((export_id, str(dataset_id)))
        return export_file

    monkeypatch.setattr(DatasetWorker, "get_export", get_export)
    processed = []
    worker = DatasetWorker()
    worker.process_set = lambda s: processed.append(
        (s.name, s.dataset.downloaded_export)
    )
    worker.run()
    assert json.loads(mock_api.calls[1].request.body) == {"dataset_id": DATASET}
    assert calls == [("e1", DATASET)]
    assert processed == [("train", export_file), ("val", export_file)]
    worker.cleanup()
    assert not export_file.exists()


def test_dataset_worker_export_start_failure(api_env, mock_api, monkeypatch, caplog):
    dataset = Dataset(id=DATASET, name="D", corpus_id=CORPUS, sets=["train"])
    monkeypatch.setattr(sys, "argv", ["worker"])
    monkeypatch.setattr(
        DatasetWorker,
        "list_sets",
        lambda self: iter([Set(name="train", dataset=dataset)]),
    )
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(mode="dataset"))
    mock_api.post(
        api_url(f"corpus/{CORPUS}/export/"), status=403, json={"detail": "no"}
    )
    with pytest.raises(SystemExit) as e:
        DatasetWorker().run()
    assert e.value.code == 1
    assert (
        logging.WARNING,
        f"An API error occurred while processing Set (train) from Dataset ({DATASET}): "
        "403 Forbidden - {'detail': 'no'}",
    ) in info_and_up(caplog)
