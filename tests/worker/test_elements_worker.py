"""ElementsWorker: element sources, run loop, activities and exit codes."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.models import Element
from arkindex_worker.worker import ActivityState, ElementsWorker
from tests.conftest import PROCESS_ID, WORKER_RUN_ID, api_url
from tests.worker.factories import element_payload, worker_run_payload

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
OTHER_ID = "43214321-4321-4321-4321-432143214321"
ACTIVITY_URL = api_url(f"workers/versions/{WORKER_RUN_ID}/activity/")
WORKER_RUN_URL = api_url(f"process/workers/{WORKER_RUN_ID}/")


def activity_body(element_id: str, state: str) -> dict:
    return {"element_id": element_id, "process_id": PROCESS_ID, "state": state}


def calls(mock_api) -> list[tuple[str, str, dict | None]]:
    return [
        (
            c.request.method,
            c.request.url,
            json.loads(c.request.body) if c.request.body else None,
        )
        for c in mock_api.calls
    ]


def log(caplog) -> list[tuple[int, str]]:
    return [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "arkindex_worker" and r.levelno >= logging.INFO
    ]


def elements_file(tmp_path, content) -> str:
    path = tmp_path / "elements.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


# --- get_elements --------------------------------------------------------------


def test_get_elements_both_sources(mock_elements_worker, tmp_path):
    worker = mock_elements_worker
    worker.args = worker.parser.parse_args(
        ["--elements-list", elements_file(tmp_path, []), "--element", ELEMENT_ID]
    )
    with pytest.raises(
        AssertionError,
        match="^elements-list and element CLI args shouldn't be both set$",
    ):
        worker.get_elements()
    worker.args.elements_list.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param({}, "^Elements list must be a list$", id="not-a-list"),
        pytest.param([], "^No elements in elements list$", id="empty"),
        pytest.param(
            [{"id": "volumeid"}, {"id": "pageid"}, {"id": ELEMENT_ID}, {"id": "actid"}],
            "^These element IDs are invalid: volumeid, pageid, actid$",
            id="invalid-uuids",
        ),
    ],
)
def test_get_elements_bad_list(mock_elements_worker, tmp_path, content, message):
    worker = mock_elements_worker
    worker.args = worker.parser.parse_args(
        ["--elements-list", elements_file(tmp_path, content)]
    )
    with pytest.raises(AssertionError, match=message):
        worker.get_elements()


def test_get_elements_list_not_json(mock_elements_worker, tmp_path):
    path = elements_file(tmp_path, "[{")
    worker = mock_elements_worker
    worker.args = worker.parser.parse_args(["--elements-list", path])
    with pytest.raises(ValueError, match=f"Elements list {path} is not valid JSON"):
        worker.get_elements()


def test_get_elements_from_list(mock_elements_worker, tmp_path):
    content = [{"id": ELEMENT_ID, "type": "page"}, {"type": "volume"}, {"id": OTHER_ID}]
    worker = mock_elements_worker
    worker.args = worker.parser.parse_args(
        ["--elements-list", elements_file(tmp_path, content)]
    )
    assert worker.get_elements() == [ELEMENT_ID, OTHER_ID]


def test_get_elements_list_without_ids(mock_elements_worker, tmp_path):
    worker = mock_elements_worker
    worker.args = worker.parser.parse_args(
        ["--elements-list", elements_file(tmp_path, [{"type": "volume"}])]
    )
    assert worker.get_elements() == []


def test_get_elements_from_cli(mock_elements_worker):
    worker = mock_elements_worker
    worker.args = worker.parser.parse_args(["--element", ELEMENT_ID, OTHER_ID.upper()])
    assert worker.get_elements() == [ELEMENT_ID, OTHER_ID.upper()]


def test_get_elements_from_cli_invalid(mock_elements_worker):
    worker = mock_elements_worker
    worker.args = worker.parser.parse_args(["--element", "not-a-uuid", ELEMENT_ID])
    with pytest.raises(
        AssertionError, match="^These element IDs are invalid: not-a-uuid$"
    ):
        worker.get_elements()


def test_get_elements_none(mock_elements_worker):
    assert mock_elements_worker.get_elements() == []


def test_get_elements_from_cache(mock_cached_elements_worker):
    from arkindex_worker.cache import CachedElement

    CachedElement.create(id=ELEMENT_ID, type="page", initial=True)
    CachedElement.create(id=OTHER_ID, type="line", initial=False)
    elements = mock_cached_elements_worker.get_elements()
    assert len(elements) == 1
    assert [str(e.id) for e in elements] == [ELEMENT_ID]


def test_get_elements_cache_without_initial(mock_cached_elements_worker):
    from arkindex_worker.cache import CachedElement

    CachedElement.create(id=OTHER_ID, type="line", initial=False)
    worker = mock_cached_elements_worker
    worker.args = worker.parser.parse_args(["--element", ELEMENT_ID])
    assert worker.get_elements() == [ELEMENT_ID]


def test_get_elements_dataset_mode(mock_elements_worker, monkeypatch):
    from arkindex_worker.models import Dataset, Set

    dataset = Dataset(id="d", name="D", state="complete")
    sets = [Set(name="train", dataset=dataset), Set(name="val", dataset=dataset)]
    content = {"train": [Element(id="a"), Element(id="b")], "val": [Element(id="c")]}
    worker = mock_elements_worker
    worker.process_information["mode"] = "dataset"
    monkeypatch.setattr(type(worker), "list_sets", lambda self: iter(sets))
    monkeypatch.setattr(
        type(worker), "list_set_elements", lambda self, s: iter(content[s.name])
    )
    assert [e.id for e in worker.get_elements()] == ["a", "b", "c"]
    assert worker.store_activity is False


def test_get_elements_export_mode(mock_elements_worker, mock_api):
    worker = mock_elements_worker
    worker.process_information["mode"] = "export"
    mock_api.get(
        api_url(
            f"process/{PROCESS_ID}/elements/?page_size=500&with_count=true&with_image=False"
        ),
        json={"count": 2, "next": None, "results": [{"id": "a"}, {"id": "b"}]},
    )
    assert worker.get_elements() == {"a", "b"}
    assert worker.store_activity is False


# --- store_activity and update_activity ----------------------------------------------


def test_store_activity(mock_elements_worker):
    assert mock_elements_worker.store_activity is True
    mock_elements_worker.process_information["activity_state"] = "pending"
    assert mock_elements_worker.store_activity is False


def test_store_activity_read_only(mock_elements_worker_read_only):
    assert mock_elements_worker_read_only.store_activity is False


def test_store_activity_not_configured(mock_elements_worker):
    mock_elements_worker.process_information = None
    with pytest.raises(
        AssertionError,
        match="^Worker must be configured to access its process activity state$",
    ):
        _ = mock_elements_worker.store_activity


def test_store_activity_disabled_from_cli(mock_elements_worker):
    mock_elements_worker.args = mock_elements_worker.parser.parse_args(
        ["--no-worker-activity"]
    )
    assert mock_elements_worker.store_activity is False


def test_update_activity(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.DEBUG)
    mock_api.put(ACTIVITY_URL, json={})
    assert mock_elements_worker.update_activity(ELEMENT_ID, ActivityState.Started)
    assert calls(mock_api) == [
        ("PUT", ACTIVITY_URL, activity_body(ELEMENT_ID, "started"))
    ]
    assert caplog.records[-1].getMessage() == (
        f"Updated activity of element {ELEMENT_ID} to ActivityState.Started"
    )


@pytest.mark.parametrize(
    ("element_id", "state", "message"),
    [
        pytest.param(
            None,
            ActivityState.Started,
            "element_id shouldn't be null and should be an UUID or str",
            id="no-id",
        ),
        pytest.param(
            1234,
            ActivityState.Started,
            "element_id shouldn't be null and should be an UUID or str",
            id="int-id",
        ),
        pytest.param(
            ELEMENT_ID, "started", "state should be an ActivityState", id="str-state"
        ),
    ],
)
def test_update_activity_validation(mock_elements_worker, element_id, state, message):
    with pytest.raises(AssertionError, match=f"^{message}$"):
        mock_elements_worker.update_activity(element_id, state)


def test_update_activity_disabled(mock_elements_worker_read_only, mock_api):
    assert mock_elements_worker_read_only.update_activity(
        ELEMENT_ID, ActivityState.Started
    )
    assert len(mock_api.calls) == 0


def test_update_activity_conflict_on_start(mock_elements_worker, mock_api):
    mock_api.put(ACTIVITY_URL, status=409, json={"detail": "conflict"})
    assert (
        mock_elements_worker.update_activity(ELEMENT_ID, ActivityState.Started) is False
    )


def test_update_activity_conflict_on_processed(mock_elements_worker, mock_api, caplog):
    mock_api.put(ACTIVITY_URL, status=409, json={"detail": "conflict"})
    with pytest.raises(ErrorResponse):
        mock_elements_worker.update_activity(ELEMENT_ID, ActivityState.Processed)
    assert log(caplog) == [
        (
            logging.WARNING,
            f"Failed to update activity of element {ELEMENT_ID} to processed due to "
            "an API error: {'detail': 'conflict'}",
        )
    ]


# --- run -------------------------------------------------------------------------------


@pytest.fixture
def run_worker(api_env, mock_api, monkeypatch):
    """Build a worker whose run() goes through configure() with the given argv."""

    def build(argv, worker_class=ElementsWorker, **payload):
        monkeypatch.setattr(sys, "argv", ["worker", *argv])
        mock_api.get(WORKER_RUN_URL, json=worker_run_payload(**payload))
        return worker_class()

    return build


def test_run_success(run_worker, mock_api, caplog):
    worker = run_worker(["--element", ELEMENT_ID])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, json={})
    processed = []
    worker.process_element = processed.append
    caplog.clear()
    worker.run()
    assert [e.id for e in processed] == [ELEMENT_ID]
    assert isinstance(processed[0], Element)
    assert calls(mock_api)[1:] == [
        ("GET", api_url(f"element/{ELEMENT_ID}/"), None),
        ("PUT", ACTIVITY_URL, activity_body(ELEMENT_ID, "started")),
        ("PUT", ACTIVITY_URL, activity_body(ELEMENT_ID, "processed")),
    ]
    assert log(caplog)[1:] == [
        (logging.INFO, f"Processing page Test Page n°1 ({ELEMENT_ID}) (1/1)"),
        (logging.INFO, "Ran on 1 element: 1 completed, 0 failed"),
    ]


def test_run_failure_of_only_element_exits_1(run_worker, mock_api, caplog):
    worker = run_worker(["--element", ELEMENT_ID])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, json={})

    def fail(element):
        raise ValueError("boom")

    worker.process_element = fail
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1
    assert calls(mock_api)[-1] == (
        "PUT",
        ACTIVITY_URL,
        activity_body(ELEMENT_ID, "error"),
    )
    assert log(caplog)[-2:] == [
        (
            logging.WARNING,
            f"Failed running worker on element {ELEMENT_ID}: ValueError('boom')",
        ),
        (logging.ERROR, "Ran on 1 element: 0 completed, 1 failed"),
    ]
    assert all(r.exc_info is None for r in caplog.records)


def test_run_some_failures_exit_0(run_worker, mock_api, caplog):
    worker = run_worker(["--element", ELEMENT_ID, OTHER_ID])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), status=404, json={"detail": "nf"})
    mock_api.get(api_url(f"element/{OTHER_ID}/"), json=element_payload(OTHER_ID))
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, json={})
    worker.run()
    assert log(caplog)[-3:] == [
        (
            logging.WARNING,
            f"An API error occurred while processing element {ELEMENT_ID}: "
            "404 Not Found - {'detail': 'nf'}",
        ),
        (logging.INFO, f"Processing page Test Page n°1 ({OTHER_ID}) (2/2)"),
        (logging.ERROR, "Ran on 2 elements: 1 completed, 1 failed"),
    ]
    # No activity update for the element that could not be retrieved
    assert [body["element_id"] for _, _, body in calls(mock_api)[1:] if body] == [
        OTHER_ID,
        OTHER_ID,
    ]


def test_run_verbose_logs_traceback(run_worker, mock_api, caplog):
    worker = run_worker(["--element", ELEMENT_ID, "--verbose"])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, json={})

    def fail(element):
        raise ValueError("boom")

    worker.process_element = fail
    with pytest.raises(SystemExit):
        worker.run()
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.exc_info is not None


def test_run_skips_already_started(run_worker, mock_api, caplog):
    worker = run_worker(["--element", ELEMENT_ID])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, status=409, json={})
    processed = []
    worker.process_element = processed.append
    worker.run()
    assert processed == []
    assert log(caplog)[-2:] == [
        (logging.INFO, f"Skipping element {ELEMENT_ID} as it was already processed"),
        (logging.INFO, "Ran on 1 element: 1 completed, 0 failed"),
    ]


def test_run_error_update_failure_is_suppressed(run_worker, mock_api, caplog):
    worker = run_worker(["--element", ELEMENT_ID])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, json={})
    mock_api.put(ACTIVITY_URL, status=400, json={"detail": "no processed"})
    mock_api.put(ACTIVITY_URL, status=400, json={"detail": "no error"})
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1
    assert [body["state"] for _, _, body in calls(mock_api)[2:]] == [
        "started",
        "processed",
        "error",
    ]


def test_run_no_elements_exits_1(run_worker, caplog):
    worker = run_worker([])
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1
    assert log(caplog)[-1] == (logging.WARNING, "No elements to process, stopping.")


def test_run_activity_disabled_notice(run_worker, mock_api, caplog):
    worker = run_worker(["--element", ELEMENT_ID], activity_state="disabled")
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    worker.run()
    assert (
        logging.INFO,
        "No worker activity will be stored as it is disabled for this process",
    ) in log(caplog)
    assert [c[0] for c in calls(mock_api)] == ["GET", "GET"]


def test_run_dev_mode_sends_only_element_requests(api_env, mock_api, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "--element", ELEMENT_ID])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    ElementsWorker().run()
    assert calls(mock_api) == [("GET", api_url(f"element/{ELEMENT_ID}/"), None)]


def test_run_configure_errors_propagate(run_worker, tmp_path):
    worker = run_worker(["--elements-list", elements_file(tmp_path, {})])
    with pytest.raises(AssertionError, match="Elements list must be a list"):
        worker.run()


def test_run_keyboard_interrupt_propagates(run_worker, mock_api):
    worker = run_worker(["--element", ELEMENT_ID])
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=element_payload(ELEMENT_ID))
    mock_api.put(ACTIVITY_URL, json={})

    def interrupt(element):
        raise KeyboardInterrupt

    worker.process_element = interrupt
    with pytest.raises(KeyboardInterrupt):
        worker.run()
