"""Tests of ``arkindex_worker.worker.task`` (05, 14 §3.7)."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
import requests
from responses import matchers

from arkindex_worker.api import ErrorResponse
from arkindex_worker.models import Artifact
from tests.conftest import TASK_ID, api_url

TASK_UUID = uuid.UUID(TASK_ID)
ARTIFACTS_URL = api_url(f"task/{TASK_ID}/artifacts/")
S3_URL = "http://s3.localhost.com/artifact"
TASK_ID_MESSAGE = "task_id shouldn't be null and should be an UUID"


def artifact_payload(path: str = "dataset_id.tar.zst") -> dict:
    return {
        "id": "artifact_id",
        "path": path,
        "size": 42,
        "content_type": "application/zstd",
        "s3_put_url": None,
        "created": "2000-01-01T00:00:00Z",
        "updated": "2000-01-01T00:00:00Z",
    }


# ---------------------------------------------------------------- list_artifacts


@pytest.mark.parametrize(
    "task_id",
    [
        pytest.param(None, id="none"),
        pytest.param(TASK_ID, id="str"),
        pytest.param(42, id="int"),
    ],
)
def test_list_artifacts_wrong_task_id(mock_dataset_worker, task_id):
    with pytest.raises(AssertionError) as e:
        mock_dataset_worker.list_artifacts(task_id)
    assert str(e.value) == TASK_ID_MESSAGE


def test_list_artifacts(mock_dataset_worker, mock_api):
    mock_api.get(ARTIFACTS_URL, json=[artifact_payload("a"), artifact_payload("b")])

    artifacts = mock_dataset_worker.list_artifacts(TASK_UUID)

    assert isinstance(artifacts, map)
    artifacts = list(artifacts)
    assert artifacts == [artifact_payload("a"), artifact_payload("b")]
    assert all(isinstance(artifact, Artifact) for artifact in artifacts)
    assert [(call.request.method, call.request.url) for call in mock_api.calls] == [
        ("GET", ARTIFACTS_URL)
    ]


# ---------------------------------------------------------------- download_artifact


@pytest.mark.parametrize(
    ("task_id", "artifact", "message"),
    [
        pytest.param(None, Artifact(artifact_payload()), TASK_ID_MESSAGE, id="no-task"),
        pytest.param(
            TASK_ID, Artifact(artifact_payload()), TASK_ID_MESSAGE, id="str-task"
        ),
        pytest.param(
            TASK_UUID,
            None,
            "artifact shouldn't be null and should be an Artifact",
            id="no-artifact",
        ),
        pytest.param(
            TASK_UUID,
            artifact_payload(),
            "artifact shouldn't be null and should be an Artifact",
            id="dict-artifact",
        ),
    ],
)
def test_download_artifact_wrong_arguments(
    mock_dataset_worker, task_id, artifact, message
):
    with pytest.raises(AssertionError) as e:
        mock_dataset_worker.download_artifact(task_id, artifact)
    assert str(e.value) == message


def test_download_artifact(mock_dataset_worker, mock_api):
    url = api_url(f"task/{TASK_ID}/artifact/dataset_id.tar.zst")
    mock_api.get(url, body=b"archive bytes", content_type="application/zstd")

    with mock_dataset_worker.download_artifact(
        TASK_UUID, Artifact(artifact_payload())
    ) as downloaded:
        assert downloaded.read() == b"archive bytes"
    assert [(call.request.method, call.request.url) for call in mock_api.calls] == [
        ("GET", url)
    ]


def test_download_artifact_api_error(mock_dataset_worker, mock_api):
    url = api_url(f"task/{TASK_ID}/artifact/dataset_id.tar.zst")
    mock_api.get(url, status=418)

    with pytest.raises(ErrorResponse) as e:
        mock_dataset_worker.download_artifact(TASK_UUID, Artifact(artifact_payload()))
    assert e.value.status_code == 418
    assert len(mock_api.calls) == 1


# ---------------------------------------------------------------- upload_artifact


@pytest.fixture
def artifact_file(mock_elements_worker) -> Path:
    path = mock_elements_worker.work_dir / "results" / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"done": true}')
    return path


@pytest.fixture
def task_worker(mock_elements_worker, monkeypatch):
    monkeypatch.setattr(mock_elements_worker, "task_id", TASK_ID)
    return mock_elements_worker


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(None, id="none"),
        pytest.param("report.json", id="str"),
        pytest.param(Path("/does/not/exist"), id="missing"),
    ],
)
def test_upload_artifact_wrong_path(task_worker, path):
    with pytest.raises(AssertionError) as e:
        task_worker.upload_artifact(path)
    assert str(e.value) == "path shouldn't be null, should be a Path and should exist"


def test_upload_artifact_read_only(
    mock_elements_worker_read_only, mock_api, tmp_path, caplog
):
    path = tmp_path / "file.txt"
    path.write_text("x")
    assert mock_elements_worker_read_only.upload_artifact(path) is None
    assert len(mock_api.calls) == 0
    assert (
        "arkindex_worker",
        logging.WARNING,
        "Cannot upload artifact as this worker is in read-only mode",
    ) in caplog.record_tuples


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        pytest.param("report.json", "application/json", id="json"),
        pytest.param("model.unknownext", "application/octet-stream", id="unknown"),
    ],
)
def test_upload_artifact(task_worker, mock_api, name, content_type):
    path = task_worker.work_dir / "results" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"done": true}')
    body = {"path": f"results/{name}", "content_type": content_type, "size": 14}
    mock_api.post(
        ARTIFACTS_URL,
        match=[matchers.json_params_matcher(body)],
        json={**artifact_payload(f"results/{name}"), "s3_put_url": S3_URL},
    )
    uploaded = []

    def storage(request):
        uploaded.append((request.headers["Content-Type"], request.body))
        return (200, {}, "")

    mock_api.add_callback("PUT", S3_URL, callback=storage)

    assert task_worker.upload_artifact(path) is None

    post, put = mock_api.calls
    assert (post.request.method, post.request.url) == ("POST", ARTIFACTS_URL)
    assert json.loads(post.request.body) == body
    assert (put.request.method, put.request.url) == ("PUT", S3_URL)
    assert "Authorization" not in put.request.headers
    assert uploaded == [(content_type, b'{"done": true}')]


def test_upload_artifact_storage_error(task_worker, mock_api, artifact_file, sleeps):
    mock_api.post(
        ARTIFACTS_URL,
        json={**artifact_payload("results/report.json"), "s3_put_url": S3_URL},
    )
    mock_api.put(S3_URL, status=400)

    with pytest.raises(requests.HTTPError) as e:
        task_worker.upload_artifact(artifact_file)
    assert str(e.value) == f"400 Bad Request for PUT {S3_URL}"
    assert [call.request.method for call in mock_api.calls] == ["POST", "PUT"]
    assert sleeps == []  # a 4xx is not retried


def test_upload_artifact_retries_server_errors(
    task_worker, mock_api, artifact_file, sleeps
):
    mock_api.post(
        ARTIFACTS_URL,
        json={**artifact_payload("results/report.json"), "s3_put_url": S3_URL},
    )
    failure = mock_api.put(S3_URL, status=503)
    mock_api.put(S3_URL, status=200)

    task_worker.upload_artifact(artifact_file)

    assert failure.call_count == 1
    assert [call.request.method for call in mock_api.calls] == ["POST", "PUT", "PUT"]
    assert sleeps == [3]


def test_upload_artifact_gives_up_after_five_attempts(
    task_worker, mock_api, artifact_file, sleeps
):
    mock_api.post(
        ARTIFACTS_URL,
        json={**artifact_payload("results/report.json"), "s3_put_url": S3_URL},
    )
    mock_api.put(S3_URL, status=502)

    with pytest.raises(requests.HTTPError) as e:
        task_worker.upload_artifact(artifact_file)
    assert str(e.value) == f"502 Bad Gateway for PUT {S3_URL}"
    assert [call.request.method for call in mock_api.calls] == ["POST"] + ["PUT"] * 5
    assert sleeps == [3, 4, 8, 16]


def test_upload_artifact_resent_whole_when_its_answer_was_lost(
    task_worker, mock_api, artifact_file, sleeps
):
    """A storage upload is idempotent: unlike an API write, it is sent again."""
    mock_api.post(
        ARTIFACTS_URL,
        json={**artifact_payload("results/report.json"), "s3_put_url": S3_URL},
    )
    uploaded = []

    def storage(request):
        body = request.body
        uploaded.append(body if isinstance(body, bytes) else body.read())
        if len(uploaded) == 1:
            raise requests.ConnectionError("Connection reset by peer")
        return (200, {}, "")

    mock_api.add_callback("PUT", S3_URL, callback=storage)

    assert task_worker.upload_artifact(artifact_file) is None
    assert uploaded == [b'{"done": true}'] * 2
    assert sleeps == [3]
