"""Generation 0.6: corpus exports (spec 15 §10) and process elements (§11)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from arkindex_worker.errors import NoExportURLError
from tests.conftest import CORPUS_ID, PROCESS_ID, api_url
from tests.generation_06.helpers import page_of, sent, worker_logs

EXPORT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeffff"
OLDER_ID = "aaaaaaaa-bbbb-cccc-dddd-000000000000"
EXPORTS_URL = api_url(f"corpus/{CORPUS_ID}/export/")
DOWNLOAD_URL = api_url(f"export/{EXPORT_ID}/")
STORAGE_URL = f"http://s3.localhost.com/exports/{EXPORT_ID}"


def export(export_id: str, state: str, created: str, updated: str) -> dict:
    return {"id": export_id, "state": state, "created": created, "updated": updated}


def test_download_export_path(dataset_worker06, mock_api, caplog):
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, body=b"SQLite export")

    path = dataset_worker06.download_export(EXPORT_ID)

    try:
        assert isinstance(path, Path)
        assert path.name.startswith("teklia-export-")
        assert path.read_bytes() == b"SQLite export"
    finally:
        path.unlink()
    assert [call.request.url for call in mock_api.calls] == [DOWNLOAD_URL, STORAGE_URL]
    assert "Authorization" not in mock_api.calls[1].request.headers
    assert worker_logs(caplog) == [
        (logging.INFO, f"Downloading export ({EXPORT_ID})..."),
        (logging.INFO, f"Downloaded export ({EXPORT_ID}) @ `{path.name}`"),
    ]


def test_download_export_invalid_id(dataset_worker06):
    with pytest.raises(ValueError, match=r"^export_id is not a valid uuid\.$") as e:
        dataset_worker06.download_export("not-a-uuid")
    assert isinstance(e.value.__cause__, ValueError)


def test_download_export_error_answer(dataset_worker06, mock_api):
    mock_api.get(DOWNLOAD_URL, status=418)
    with pytest.raises(
        NoExportURLError,
        match=f"^Failed to load S3 Url to download the export from {DOWNLOAD_URL}: "
        r"<Response \[418\]>$",
    ):
        dataset_worker06.download_export(EXPORT_ID)


def test_download_export_no_location(dataset_worker06, mock_api):
    mock_api.get(DOWNLOAD_URL, status=200, json={})
    with pytest.raises(NoExportURLError, match=r"<Response \[200\]>$"):
        dataset_worker06.download_export(EXPORT_ID)


def test_download_latest_export_newest_created(dataset_worker06, mock_api):
    # OLDER_ID was updated last, EXPORT_ID created last: 0.6 takes the latter
    mock_api.get(
        EXPORTS_URL,
        json=page_of(
            [
                export(OLDER_ID, "done", "2000-01-01", "2020-01-01"),
                export(EXPORT_ID, "done", "2010-01-01", "2010-01-01"),
                export(
                    "cccccccc-0000-0000-0000-000000000000", "running", "2030", "2030"
                ),
            ]
        ),
    )
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, body=b"latest")

    path = dataset_worker06.download_latest_export()

    path.unlink()
    assert [call.request.url for call in mock_api.calls] == [
        EXPORTS_URL,
        DOWNLOAD_URL,
        STORAGE_URL,
    ]


def test_download_latest_export_none_done(dataset_worker06, mock_api):
    mock_api.get(EXPORTS_URL, json=page_of([export(EXPORT_ID, "failed", "1", "1")]))
    with pytest.raises(
        AssertionError,
        match=f'^No available exports found for the corpus \\({CORPUS_ID}\\) with state "Done".$',
    ):
        dataset_worker06.download_latest_export()


@pytest.mark.parametrize(
    ("with_image", "query"),
    [
        (False, "?page_size=500&with_count=true"),
        (True, "?page_size=500&with_count=true&with_image=True"),
    ],
)
def test_list_process_elements_query(worker06, mock_api, caplog, with_image, query):
    worker06.use_cache = True  # no unsupported_cache WARNING under 0.6
    url = api_url(f"process/{PROCESS_ID}/elements/")
    mock_api.get(url, json={"count": 1, "next": None, "results": [{"id": "e1"}]})

    assert list(worker06.list_process_elements(with_image=with_image)) == [{"id": "e1"}]

    assert sent(mock_api) == [("GET", url + query, None)]
    assert [r for r in worker_logs(caplog) if r[0] >= logging.WARNING] == []
