"""Tests of ``arkindex_worker.worker.corpus`` (05, 14 §3.6)."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
import requests
from tenacity import stop_after_attempt, wait_none

from arkindex_worker.api import ErrorResponse
from arkindex_worker.worker.corpus import (
    CorpusExportState,
    CorpusMixin,
    ExportNotFinishedError,
    FailedExportError,
    NoExportURLError,
)
from tests.conftest import CORPUS_ID, api_url

EXPORT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeffff"
DATASET_UUID = uuid.UUID("dddddddd-dddd-dddd-dddd-dddddddddddd")
EXPORTS_URL = api_url(f"corpus/{CORPUS_ID}/export/")
DOWNLOAD_URL = api_url(f"export/{EXPORT_ID}/")
STORAGE_URL = f"http://s3.localhost.com/exports/{EXPORT_ID}"


def export_payload(
    export_id: str, state: str, updated: str, created: str = "2000-01-01"
) -> dict:
    return {
        "id": export_id,
        "created": created,
        "updated": updated,
        "corpus_id": CORPUS_ID,
        "user": {"id": 1, "email": "user@example.com", "display_name": "User"},
        "state": state,
        "source": "default",
    }


def exports_page(*exports: dict) -> dict:
    return {"count": len(exports), "next": None, "results": list(exports)}


def info_messages(caplog) -> list[str]:
    return [
        message
        for name, level, message in caplog.record_tuples
        if name == "arkindex_worker" and level == logging.INFO
    ]


def test_export_state_values():
    assert [(state.name, state.value) for state in CorpusExportState] == [
        ("Created", "created"),
        ("Running", "running"),
        ("Failed", "failed"),
        ("Done", "done"),
    ]


@pytest.mark.parametrize(
    "error", [ExportNotFinishedError, FailedExportError, NoExportURLError]
)
def test_export_errors_are_assertion_errors(error):
    assert issubclass(error, AssertionError)


# ---------------------------------------------------------------- download_export


def test_download_export_invalid_id(mock_dataset_worker):
    with pytest.raises(ValueError, match=r"^export_id is not a valid uuid\.$") as e:
        mock_dataset_worker.download_export("not-a-uuid")
    assert isinstance(e.value.__cause__, ValueError)


@pytest.mark.parametrize(
    "export_id",
    [pytest.param(EXPORT_ID, id="str"), pytest.param(uuid.UUID(EXPORT_ID), id="uuid")],
)
def test_download_export(mock_dataset_worker, mock_api, caplog, export_id):
    caplog.set_level(logging.INFO)
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(
        STORAGE_URL, body=b"some SQLite export", content_type="application/x-sqlite3"
    )

    with mock_dataset_worker.download_export(export_id) as export:
        assert export.read() == b"some SQLite export"
        assert Path(export.name).name == Path(STORAGE_URL).name

    assert info_messages(caplog)[-2:] == [
        f"Downloading export ({EXPORT_ID})...",
        f"Downloaded export ({EXPORT_ID}) @ `{export.name}`",
    ]
    assert [call.request.url for call in mock_api.calls] == [DOWNLOAD_URL, STORAGE_URL]


# ---------------------------------------------------------------- download_latest_export


def test_download_latest_export(mock_dataset_worker, mock_api):
    mock_api.get(
        EXPORTS_URL,
        json=exports_page(
            export_payload(
                "11111111-1111-1111-1111-111111111111", "done", "2000-01-02"
            ),
            export_payload(EXPORT_ID, "done", "2000-01-03"),
            export_payload(
                "22222222-2222-2222-2222-222222222222", "running", "2000-01-04"
            ),
            export_payload(
                "33333333-3333-3333-3333-333333333333", "failed", "2000-01-05"
            ),
        ),
    )
    mock_api.get(DOWNLOAD_URL, body=b"latest", content_type="application/x-sqlite3")

    with mock_dataset_worker.download_latest_export() as export:
        assert export.read() == b"latest"

    assert [call.request.url for call in mock_api.calls] == [EXPORTS_URL, DOWNLOAD_URL]


def test_download_latest_export_none_done(mock_dataset_worker, mock_api):
    mock_api.get(
        EXPORTS_URL,
        json=exports_page(export_payload(EXPORT_ID, "running", "2000-01-03")),
    )
    with pytest.raises(AssertionError) as e:
        mock_dataset_worker.download_latest_export()
    assert (
        str(e.value)
        == f'No available exports found for the corpus ({CORPUS_ID}) with state "Done".'
    )


def test_download_latest_export_list_error(mock_dataset_worker, mock_api, sleeps):
    mock_api.get(EXPORTS_URL, status=418)
    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        mock_dataset_worker.download_latest_export()
    assert len(mock_api.calls) == 1  # a 4xx page is not retried
    assert sleeps == []


def test_download_latest_export_list_server_error(
    mock_dataset_worker, mock_api, sleeps
):
    mock_api.get(EXPORTS_URL, status=500)
    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        mock_dataset_worker.download_latest_export()
    assert len(mock_api.calls) == 5
    assert sleeps == [3, 4, 8, 16]


def test_download_latest_export_download_error(mock_dataset_worker, mock_api):
    mock_api.get(
        EXPORTS_URL, json=exports_page(export_payload(EXPORT_ID, "done", "2000"))
    )
    mock_api.get(DOWNLOAD_URL, status=418)
    with pytest.raises(ErrorResponse) as e:
        mock_dataset_worker.download_latest_export()
    assert e.value.status_code == 418


# ---------------------------------------------------------------- list_exports


def test_list_exports_wrong_dataset_id(mock_dataset_worker):
    with pytest.raises(AssertionError) as e:
        mock_dataset_worker.list_exports(dataset_id=str(DATASET_UUID))
    assert str(e.value) == "dataset_id should be an UUID"


@pytest.mark.parametrize(
    ("dataset_id", "url"),
    [
        pytest.param(None, EXPORTS_URL, id="corpus"),
        pytest.param(
            DATASET_UUID, f"{EXPORTS_URL}?dataset_id={DATASET_UUID}", id="dataset"
        ),
    ],
)
def test_list_exports(mock_dataset_worker, mock_api, dataset_id, url):
    older = export_payload("1", "done", "2000-01-09", created="2000-01-01")
    newer = export_payload("2", "done", "2000-01-02", created="2000-01-02")
    mock_api.get(url, json=exports_page(older, newer))

    assert mock_dataset_worker.list_exports(dataset_id=dataset_id) == [newer, older]
    assert [call.request.url for call in mock_api.calls] == [url]


# ---------------------------------------------------------------- start_export


def test_start_export_wrong_dataset_id(mock_dataset_worker):
    with pytest.raises(AssertionError, match="^dataset_id should be an UUID$"):
        mock_dataset_worker.start_export(dataset_id="nope")


@pytest.mark.parametrize(
    ("dataset_id", "body"),
    [
        pytest.param(None, {}, id="corpus"),
        pytest.param(DATASET_UUID, {"dataset_id": str(DATASET_UUID)}, id="dataset"),
    ],
)
def test_start_export(mock_dataset_worker, mock_api, dataset_id, body):
    mock_api.post(EXPORTS_URL, json=export_payload(EXPORT_ID, "created", "2000"))

    assert mock_dataset_worker.start_export(dataset_id=dataset_id) == EXPORT_ID
    (call,) = mock_api.calls
    assert (call.request.method, call.request.url) == ("POST", EXPORTS_URL)
    assert json.loads(call.request.body) == body


def validation_error(code: str) -> dict:
    return {
        "type": "validation_error",
        "errors": [
            {"code": code, "detail": "An export is already running.", "attr": None}
        ],
    }


@pytest.mark.parametrize("code", ["running_export", "existing_export"])
def test_start_export_existing(mock_dataset_worker, mock_api, caplog, code):
    mock_api.post(EXPORTS_URL, status=400, json=validation_error(code))
    mock_api.get(
        f"{EXPORTS_URL}?dataset_id={DATASET_UUID}",
        json=exports_page(
            export_payload("old", "done", "2000", created="2000-01-01"),
            export_payload(EXPORT_ID, "running", "2000", created="2000-01-02"),
        ),
    )

    assert mock_dataset_worker.start_export(dataset_id=DATASET_UUID) == EXPORT_ID
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.WARNING,
        "An export is already running. Using the existing export rather than starting a new one.",
    )


@pytest.mark.parametrize(
    ("status", "content"),
    [
        pytest.param(400, validation_error("other_code"), id="other-code"),
        pytest.param(400, {"detail": "bad"}, id="not-standard"),
        pytest.param(403, {"detail": "forbidden"}, id="forbidden"),
    ],
)
def test_start_export_other_errors(mock_dataset_worker, mock_api, status, content):
    mock_api.post(EXPORTS_URL, status=status, json=content)
    with pytest.raises(ErrorResponse) as e:
        mock_dataset_worker.start_export()
    assert e.value.status_code == status
    assert len(mock_api.calls) == 1


# ---------------------------------------------------------------- check_export_status / get_export


@pytest.fixture
def fast_status_retry(monkeypatch):
    """Two tries of ``check_export_status``, without waiting."""
    retrying = CorpusMixin.check_export_status.retry
    monkeypatch.setattr(retrying, "wait", wait_none())
    monkeypatch.setattr(retrying, "stop", stop_after_attempt(2))


def test_check_export_status_policy():
    retrying = CorpusMixin.check_export_status.retry
    assert retrying.stop.max_delay == 3 * 60 * 60
    assert [strategy.wait_fixed for strategy in retrying.wait.strategies] == [
        60
    ] * 15 + [300]


def list_exports_with(mock_api, state: str, times: int = 1):
    for _ in range(times):
        mock_api.get(
            f"{EXPORTS_URL}?dataset_id={DATASET_UUID}",
            json=exports_page(
                export_payload("other", "failed", "2000"),
                export_payload(EXPORT_ID, state, "2000"),
            ),
        )


def test_check_export_status_done(mock_dataset_worker, mock_api):
    list_exports_with(mock_api, "done")
    assert (
        mock_dataset_worker.check_export_status(EXPORT_ID, dataset_id=DATASET_UUID)
        is None
    )


def test_check_export_status_unknown_id(mock_dataset_worker, mock_api):
    mock_api.get(EXPORTS_URL, json=exports_page())
    assert mock_dataset_worker.check_export_status(EXPORT_ID) is None


def test_check_export_status_failed(mock_dataset_worker, mock_api, fast_status_retry):
    list_exports_with(mock_api, "failed")
    with pytest.raises(FailedExportError):
        mock_dataset_worker.check_export_status(EXPORT_ID, dataset_id=DATASET_UUID)
    assert len(mock_api.calls) == 1


def test_check_export_status_retries(
    mock_dataset_worker, mock_api, fast_status_retry, caplog, sleeps
):
    list_exports_with(mock_api, "running")
    list_exports_with(mock_api, "done")
    mock_dataset_worker.check_export_status(EXPORT_ID, dataset_id=DATASET_UUID)
    assert len(mock_api.calls) == 2
    # The status checks keep their own tenacity policy (not the HTTP retry
    # policy), patched by `fast_status_retry`: one wait, of 0 s instead of 60 s
    assert sleeps == [0]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "arkindex_worker"
    assert (
        "ExportNotFinishedError: The SQL export is still in progress"
        in warnings[0].getMessage()
    )


def test_get_export_not_finished(
    mock_dataset_worker, mock_api, fast_status_retry, caplog
):
    list_exports_with(mock_api, "created", times=2)
    with pytest.raises(
        ExportNotFinishedError, match="^The SQL export is still in progress$"
    ):
        mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    assert len(mock_api.calls) == 2  # the two tries of `fast_status_retry`
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.ERROR,
        f"After 3 hours, the SQL export ({EXPORT_ID}) is still in either the `created` or `running` state.\n"
        "Aborting this process. Once the SQL export is finished you may retry it.",
    )


def test_get_export_failed(mock_dataset_worker, mock_api, fast_status_retry, caplog):
    list_exports_with(mock_api, "failed")
    with pytest.raises(FailedExportError):
        mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.ERROR,
        f"The SQL export ({EXPORT_ID}) is in the `failed` state. Select another export or start a new one.",
    )


def test_get_export(mock_dataset_worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    list_exports_with(mock_api, "done")
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, body=b"SQLite bytes")

    path = mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    try:
        assert path.read_bytes() == b"SQLite bytes"
        assert path.name.startswith("teklia-export-")
    finally:
        path.unlink()

    download, storage = mock_api.calls[1:]
    assert download.request.url == DOWNLOAD_URL
    assert download.request.headers["Authorization"] == "Token unittest1234"
    assert storage.request.url == STORAGE_URL
    assert "Authorization" not in storage.request.headers
    assert info_messages(caplog)[-2:] == [
        f"Downloading export ({EXPORT_ID})...",
        f"Downloaded export ({EXPORT_ID}) @ `{path.name}`",
    ]


def test_get_export_no_location(mock_dataset_worker, mock_api):
    list_exports_with(mock_api, "done")
    mock_api.get(DOWNLOAD_URL, status=200, json={})
    with pytest.raises(NoExportURLError) as e:
        mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    assert str(e.value) == (
        f"Failed to load S3 Url to download the export from {DOWNLOAD_URL}: <Response [200]>"
    )


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"body": requests.ConnectionError("lost")}, id="lost"),
        pytest.param({"status": 503}, id="unavailable"),
        pytest.param({"status": 429, "headers": {"Retry-After": "3"}}, id="throttled"),
        pytest.param(
            {"body": requests.exceptions.ChunkedEncodingError("cut")}, id="cut"
        ),
    ],
)
def test_get_export_storage_download_retried_once(
    mock_dataset_worker, mock_api, sleeps, caplog, failure
):
    list_exports_with(mock_api, "done")
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, **failure)
    mock_api.get(STORAGE_URL, body=b"SQLite bytes")

    path = mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    try:
        assert path.read_bytes() == b"SQLite bytes"
    finally:
        path.unlink()
    assert [call.request.url for call in mock_api.calls][-2:] == [STORAGE_URL] * 2
    assert sleeps == [3]
    (retry,) = [m for m in caplog.messages if m.startswith("Retrying ")]
    assert retry.startswith(f"Retrying GET {STORAGE_URL} in 3 seconds after ")
    assert retry.endswith(" (attempt 1 of 5 failed)")


def test_get_export_redirect_retried(mock_dataset_worker, mock_api, sleeps):
    """The DownloadExport request that gives the storage URL follows the policy too."""
    list_exports_with(mock_api, "done")
    mock_api.get(DOWNLOAD_URL, status=502)
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, body=b"SQLite bytes")

    path = mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    try:
        assert path.read_bytes() == b"SQLite bytes"
    finally:
        path.unlink()
    assert [call.request.url for call in mock_api.calls][-3:] == [
        DOWNLOAD_URL,
        DOWNLOAD_URL,
        STORAGE_URL,
    ]
    assert sleeps == [3]


def storage_answers(mock_api, monkeypatch, tmp_path, status: int) -> None:
    """A done export whose storage answers ``status``; temporary files in tmp_path."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    list_exports_with(mock_api, "done")
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, status=status)


def test_get_export_download_gives_up(
    mock_dataset_worker, mock_api, tmp_path, monkeypatch, sleeps
):
    storage_answers(mock_api, monkeypatch, tmp_path, 500)

    with pytest.raises(requests.HTTPError) as e:
        mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    assert e.value.response.status_code == 500
    assert [call.request.url for call in mock_api.calls][-5:] == [STORAGE_URL] * 5
    assert sleeps == [3, 4, 8, 16]
    assert list(tmp_path.glob("teklia-export-*")) == []


def test_get_export_download_fails(
    mock_dataset_worker, mock_api, tmp_path, monkeypatch, sleeps
):
    storage_answers(mock_api, monkeypatch, tmp_path, 404)

    with pytest.raises(requests.HTTPError) as e:
        mock_dataset_worker.get_export(EXPORT_ID, dataset_id=DATASET_UUID)
    assert str(e.value) == f"404 Not Found for GET {STORAGE_URL}"
    assert [call.request.url for call in mock_api.calls][-1:] == [STORAGE_URL]
    assert len(mock_api.calls) == 3  # list, redirect, one storage request
    assert sleeps == []
    assert list(tmp_path.glob("teklia-export-*")) == []
