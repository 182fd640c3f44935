"""Run loops under generation 0.6 (spec 15 §3): sources, modes, failures, datasets."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from responses import matchers

from arkindex_worker.errors import ConfigurationFailed, FailedExportError
from arkindex_worker.models import DatasetSet, Element
from arkindex_worker.worker import DatasetWorker, ElementsWorker
from arkindex_worker.worker.activity import WorkerActivityIterator
from tests.conftest import CORPUS_ID, PROCESS_ID, WORKER_RUN_ID, api_url
from tests.generation.conftest import (
    CONFIGURATION_URL,
    WORKER_RUN_URL,
    current_worker_run,
    records,
    requests_made,
)
from tests.worker.factories import element_payload

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
ELEMENT_URL = api_url(f"element/{ELEMENT_ID}/")
ACTIVITY_URL = api_url(f"workers/versions/{WORKER_RUN_ID}/activity/")
QUEUE_URL = api_url("process/start-activity/")
PROCESSING = f"Processing page Test Page n°1 ({ELEMENT_ID})"
DATASET_ID = "d0d0d0d0-d0d0-d0d0-d0d0-d0d0d0d0d0d0"
NO_ACTIVITY = "No worker activity will be stored as it is disabled for this process"


class Worker06(ElementsWorker):
    compat = "0.6"
    overlap_requests = False  # upstream's strictly sequential order

    def process_element(self, element):
        self.processed.append(element.id)

    processed: list


class DatasetWorker06(DatasetWorker):
    compat = "0.6"


@pytest.fixture
def elements_worker(api_env, run_configuration, argv):
    """A 0.6 ElementsWorker (not configured) whose worker run has the given process."""

    def build(*args, cls=Worker06, **process):
        run_configuration(current_worker_run(**process), [])
        argv(*args)
        worker = cls()
        worker.processed = []
        return worker

    return build


def activity_states(mock_api) -> list[str]:
    return [
        json.loads(c.request.body)["state"]
        for c in mock_api.calls
        if c.request.url == ACTIVITY_URL
    ]


def run_records(caplog) -> list[tuple[int, str]]:
    """INFO and up of the run, after the two configure lines."""
    lines = records(caplog, logging.INFO)
    using = next(
        i for i, (_, m) in enumerate(lines) if m.startswith("Using worker run")
    )
    return lines[using + 1 :]


# --- §3.1 consume_worker_activities ------------------------------------------------


@pytest.mark.parametrize(
    ("process", "expected"),
    [
        pytest.param({}, True, id="missing-key-means-queue"),
        pytest.param({"skip_elements_json": None}, True, id="null"),
        pytest.param({"skip_elements_json": True}, True, id="true"),
        pytest.param({"skip_elements_json": False}, False, id="false"),
    ],
)
def test_consume_worker_activities(elements_worker, process, expected):
    worker = elements_worker(**process)  # no PONOS_TASK: 0.4's gate is not applied
    worker.configure()

    assert worker.consume_worker_activities is expected
    assert worker.unknown_nb_elements is expected


def test_consume_worker_activities_read_only(argv):
    argv("--dev", "--no-elements-list")
    worker = Worker06()
    worker.configure()

    assert worker.consume_worker_activities is True


# --- §3.2 get_elements ---------------------------------------------------------


def test_export_mode_lists_the_process_elements(elements_worker, mock_api):
    worker = elements_worker(mode="export", skip_elements_json=False)
    worker.configure()
    mock_api.get(
        api_url(f"process/{PROCESS_ID}/elements/"),
        match=[
            matchers.query_param_matcher({"page_size": "500", "with_count": "true"})
        ],
        json={
            "count": 3,
            "next": None,
            "results": [{"id": "a"}, {"id": "b"}, {"id": "a"}],
        },
    )

    assert worker.get_elements() == {"a", "b"}


def test_queue_source(elements_worker):
    worker = elements_worker()
    worker.configure()

    assert isinstance(worker.get_elements(), WorkerActivityIterator)


def test_no_source(elements_worker):
    worker = elements_worker(skip_elements_json=False)
    worker.configure()

    assert worker.get_elements() == []


def test_element_ids_are_checked(elements_worker, tmp_path):
    elements = tmp_path / "elements.json"
    elements.write_text(json.dumps([{"id": ELEMENT_ID}, {"id": "not-a-uuid"}]))
    worker = elements_worker("--elements-list", str(elements))
    worker.configure()

    with pytest.raises(AssertionError) as error:
        worker.get_elements()

    assert str(error.value) == "These element IDs are invalid: not-a-uuid"


def test_both_lists_refused(elements_worker, tmp_path):
    elements = tmp_path / "elements.json"
    elements.write_text(json.dumps([{"id": ELEMENT_ID}]))
    worker = elements_worker("--element", ELEMENT_ID, "--elements-list", str(elements))
    worker.configure()

    with pytest.raises(AssertionError) as error:
        worker.get_elements()
    worker.args.elements_list.close()

    assert (
        str(error.value) == "elements-list and element CLI args shouldn't be both set"
    )


def test_no_cache_source_even_with_use_cache(elements_worker):
    worker = elements_worker("--element", ELEMENT_ID)
    worker.configure()
    worker.use_cache = True  # user code: never read under 0.6

    assert worker.get_elements() == [ELEMENT_ID]


# --- §3.3 run -----------------------------------------------------------------------


def test_reference_run_success(elements_worker, mock_api, caplog):
    worker = elements_worker("--element", ELEMENT_ID, skip_elements_json=False)
    mock_api.get(ELEMENT_URL, json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, json={})

    worker.run()

    assert requests_made(mock_api)[2:] == [
        ("GET", ELEMENT_URL),
        ("PUT", ACTIVITY_URL),
        ("PUT", ACTIVITY_URL),
    ]
    assert activity_states(mock_api) == ["started", "processed"]
    assert run_records(caplog) == [
        (logging.INFO, f"{PROCESSING} (1/1)"),
        (logging.INFO, "Ran on 1 element: 1 completed, 0 failed"),
    ]
    assert worker.processed == [ELEMENT_ID]


def test_reference_run_already_started(elements_worker, mock_api, caplog):
    worker = elements_worker("--element", ELEMENT_ID, skip_elements_json=False)
    mock_api.get(ELEMENT_URL, json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, status=409, json={})

    worker.run()

    assert run_records(caplog) == [
        (logging.INFO, f"{PROCESSING} (1/1)"),
        (logging.INFO, f"Skipping element {ELEMENT_ID} as it was already processed"),
        (logging.INFO, "Ran on 1 element: 1 completed, 0 failed"),
    ]
    assert worker.processed == []


def test_reference_run_transport_error(elements_worker, mock_api, caplog):
    worker = elements_worker("--element", ELEMENT_ID, skip_elements_json=False)
    mock_api.get(ELEMENT_URL, json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, body=Exception("A wild Petilil appears!"))
    mock_api.put(ACTIVITY_URL, json={})

    with pytest.raises(SystemExit) as exit_info:
        worker.run()

    assert exit_info.value.code == 1
    assert activity_states(mock_api) == ["started", "error"]
    assert run_records(caplog) == [
        (logging.INFO, f"{PROCESSING} (1/1)"),
        (
            logging.WARNING,
            f"Failed running worker on element {ELEMENT_ID}: "
            "Exception('A wild Petilil appears!')",
        ),
        (logging.ERROR, "Ran on 1 element: 0 completed, 1 failed"),
    ]


def test_mode_follows_consume_worker_activities(elements_worker, mock_api, caplog):
    # No skip_elements_json: 0.6 reads the queue mode from the property
    worker = elements_worker("--element", ELEMENT_ID)
    mock_api.get(ELEMENT_URL, json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, json={})

    worker.run()

    assert activity_states(mock_api) == ["processed"]
    assert run_records(caplog) == [
        (logging.INFO, f"{PROCESSING} (n°1)"),
        (logging.INFO, "Ran on 1 element: 1 completed, 0 failed"),
    ]


def test_no_source_logs_notice_then_warning(elements_worker, mock_api, caplog):
    worker = elements_worker(skip_elements_json=False, activity_state="disabled")

    with pytest.raises(SystemExit) as exit_info:
        worker.run()

    assert exit_info.value.code == 1
    assert run_records(caplog) == [
        (logging.INFO, NO_ACTIVITY),
        (logging.WARNING, "No elements to process, stopping."),
    ]


def test_queue_of_two(elements_worker, mock_api, caplog):
    worker = elements_worker(skip_elements_json=True)
    for element_id, name in (
        (ELEMENT_ID, "Page n°1"),
        (str(uuid.UUID(int=2)), "Page n°2"),
    ):
        mock_api.post(QUEUE_URL, json={"id": element_id})
        mock_api.get(
            api_url(f"element/{element_id}/"), json=element_payload(element_id, name)
        )
        mock_api.put(ACTIVITY_URL, json={})
    mock_api.post(QUEUE_URL, status=404, json={"detail": "empty"})

    worker.run()

    assert [m for _, m in run_records(caplog)] == [
        "Using StartWorkerActivity instead of reading init_elements JSON file",
        f"Processing page Page n°1 ({ELEMENT_ID}) (n°1)",
        f"Processing page Page n°2 ({uuid.UUID(int=2)}) (n°2)",
        "Ran on 2 elements: 2 completed, 0 failed",
    ]
    assert activity_states(mock_api) == ["processed", "processed"]


def test_configure_error_exits_1_under_06(api_env, mock_api, caplog):
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, status=400, json={"detail": "old format"})
    worker = Worker06()

    with pytest.raises(ConfigurationFailed) as exit_info:
        worker.run()

    assert isinstance(exit_info.value, SystemExit)
    assert exit_info.value.code == 1
    (error,) = records(caplog, logging.ERROR)
    assert error[1].startswith("Failed to configure this worker: ")
    assert error[1] == f"Failed to configure this worker: {exit_info.value.__cause__!r}"


def test_configure_error_before_the_decision_propagates_under_auto(api_env, mock_api):
    mock_api.get(WORKER_RUN_URL, status=418, json={"detail": "teapot"})

    with pytest.raises(Exception) as error:
        ElementsWorker().run()

    assert not isinstance(error.value, SystemExit)
    assert error.value.status_code == 418


def test_configure_error_under_04_propagates(api_env, mock_api):
    class Worker04(ElementsWorker):
        compat = "0.4"

    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, status=400, json={"detail": "old format"})

    with pytest.raises(Exception) as error:
        Worker04().run()

    assert not isinstance(error.value, SystemExit)
    assert error.value.status_code == 400


# --- §3.4 DatasetWorker -----------------------------------------------------------


def dataset_payload() -> dict:
    return {"id": DATASET_ID, "name": "D", "corpus_id": CORPUS_ID, "sets": []}


@pytest.fixture
def dataset_worker(api_env, run_configuration, mock_api, monkeypatch, tmp_path):
    """A 0.6 DatasetWorker over two sets of one dataset; exports are stubbed."""
    run_configuration(current_worker_run(mode="dataset"), [])
    downloads = []
    export_file = tmp_path / "export.sqlite"

    def get_export(self, export_id, dataset_id):
        downloads.append((export_id, dataset_id))
        return export_file

    monkeypatch.setattr(DatasetWorker06, "get_export", get_export)
    worker = DatasetWorker06()
    worker.downloads = downloads
    worker.processed = []
    worker.process_set = lambda dataset_set: worker.processed.append(dataset_set)
    return worker


def add_sets(mock_api, *names):
    mock_api.get(
        api_url(f"process/{PROCESS_ID}/sets/"),
        json={
            "count": len(names),
            "next": None,
            "results": [
                {"id": f"set_{n}", "set_name": n, "dataset": dataset_payload()}
                for n in names
            ],
        },
    )


def test_dataset_reference_run(dataset_worker, mock_api, caplog):
    add_sets(mock_api, "train", "dev")
    mock_api.post(
        api_url(f"corpus/{CORPUS_ID}/export/"),
        match=[matchers.json_params_matcher({"dataset_id": DATASET_ID})],
        json={"id": "e1"},
    )

    dataset_worker.run()

    assert dataset_worker.downloads == [("e1", uuid.UUID(DATASET_ID))]
    assert [s.name for s in dataset_worker.processed] == ["train", "dev"]
    assert all(isinstance(s, DatasetSet) for s in dataset_worker.processed)
    dataset = dataset_worker.processed[0].dataset
    assert dataset is dataset_worker.processed[1].dataset
    assert dataset_worker.datasets == {uuid.UUID(DATASET_ID): dataset}
    assert run_records(caplog) == [
        (
            logging.INFO,
            f"Processing DatasetSet (train) from Dataset ({DATASET_ID}) (1/2)",
        ),
        (
            logging.INFO,
            f"Processing DatasetSet (dev) from Dataset ({DATASET_ID}) (2/2)",
        ),
        (logging.INFO, "Ran on 2 dataset sets: 2 completed, 0 failed"),
    ]


def test_dataset_failed_export(dataset_worker, mock_api, monkeypatch, caplog):
    add_sets(mock_api, "train")
    mock_api.post(api_url(f"corpus/{CORPUS_ID}/export/"), json={"id": "e1"})

    def failed(self, export_id, dataset_id):
        raise FailedExportError()

    monkeypatch.setattr(DatasetWorker06, "get_export", failed)

    with pytest.raises(SystemExit) as exit_info:
        dataset_worker.run()

    assert exit_info.value.code == 1
    assert run_records(caplog) == [
        (
            logging.WARNING,
            f"Failed running worker on DatasetSet (train) from Dataset ({DATASET_ID}): "
            "FailedExportError()",
        ),
        (logging.ERROR, "Ran on 1 dataset set: 0 completed, 1 failed"),
    ]
    assert "downloaded_export" not in dataset_worker.datasets[uuid.UUID(DATASET_ID)]


def test_dataset_export_start_error_leaves_run(dataset_worker, mock_api):
    add_sets(mock_api, "train")
    mock_api.post(
        api_url(f"corpus/{CORPUS_ID}/export/"), status=403, json={"detail": "no"}
    )

    with pytest.raises(Exception) as error:
        dataset_worker.run()

    assert not isinstance(error.value, SystemExit)
    assert error.value.status_code == 403
    assert dataset_worker.processed == []


def test_dataset_state_changes_nothing(dataset_worker, mock_api, caplog):
    mock_api.get(
        api_url(f"process/{PROCESS_ID}/sets/"),
        json={
            "count": 1,
            "next": None,
            "results": [
                {
                    "id": "set_train",
                    "set_name": "train",
                    "dataset": {**dataset_payload(), "state": "open"},
                }
            ],
        },
    )
    mock_api.post(api_url(f"corpus/{CORPUS_ID}/export/"), json={"id": "e1"})

    dataset_worker.run()

    assert [s.name for s in dataset_worker.processed] == ["train"]
    assert "Retrieving data" not in caplog.text


def test_dataset_no_sets(dataset_worker, mock_api, caplog):
    add_sets(mock_api)

    with pytest.raises(SystemExit) as exit_info:
        dataset_worker.run()

    assert exit_info.value.code == 1
    assert records(caplog, logging.INFO)[-3:] == [
        (logging.INFO, "Loaded Worker Fake worker @ 123412 from API"),
        (logging.INFO, f"Using worker run configuration {WORKER_RUN_ID}"),
        (logging.WARNING, "No sets to process, stopping."),
    ]


def test_process_set_override_named_dataset_set(dataset_worker, mock_api):
    seen = []

    class Named(DatasetWorker06):
        def process_set(self, dataset_set):
            seen.append(dataset_set.name)

    add_sets(mock_api, "train")
    mock_api.post(api_url(f"corpus/{CORPUS_ID}/export/"), json={"id": "e1"})
    worker = Named.__new__(Named)
    worker.__dict__.update(dataset_worker.__dict__)
    del worker.__dict__["process_set"]

    worker.run()

    assert seen == ["train"]


# --- §3.5 class bases -------------------------------------------------------------


def test_embedding_mixin_is_appended():
    from arkindex_worker.worker import EmbeddingMixin

    assert ElementsWorker.__bases__[-1] is EmbeddingMixin
    assert DatasetWorker.__bases__[-1] is EmbeddingMixin
    assert isinstance(Element, type)
