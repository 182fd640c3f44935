"""Tests of ``arkindex_worker.worker.training`` (05)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
import requests
from responses import matchers

from arkindex_worker.api import ErrorResponse
from arkindex_worker.worker import ElementsWorker
from arkindex_worker.worker.training import (
    TrainingMixin,
    build_clean_payload,
    create_archive,
    skip_if_read_only,
)
from tests.conftest import api_url

MODEL_ID = "11111111-0000-0000-0000-000000000000"
VERSION_ID = "22222222-0000-0000-0000-000000000000"
EXISTING_ID = "33333333-0000-0000-0000-000000000000"
S3_URL = "http://s3.localhost.com/"
VERSION_URL = api_url(f"modelversion/{VERSION_ID}/")
CREATE_URL = api_url(f"model/{MODEL_ID}/versions/")
READ_ONLY_WARNING = (
    "arkindex_worker",
    logging.WARNING,
    "Cannot perform this operation as the worker is in read-only mode",
)


class TrainingWorker(TrainingMixin, ElementsWorker):
    """An elements worker that publishes model versions."""


def version_payload(
    version_id: str = VERSION_ID, state: str = "created", **fields
) -> dict:
    return {
        "id": version_id,
        "model_id": MODEL_ID,
        "state": state,
        "parent": None,
        "tag": None,
        "description": None,
        "configuration": {},
        "s3_url": None,
        "s3_put_url": S3_URL,
        "hash": None,
        "archive_hash": None,
        "size": None,
        "created": "2000-01-01T00:00:00Z",
        **fields,
    }


@pytest.fixture
def worker(api_env, mock_api) -> TrainingWorker:
    worker = TrainingWorker()
    worker.args = worker.parser.parse_args([])
    return worker


@pytest.fixture
def read_only_worker(api_env, mock_api) -> TrainingWorker:
    worker = TrainingWorker()
    worker.args = worker.parser.parse_args(["--dev"])
    return worker


@pytest.fixture
def model_dir(tmp_path) -> Path:
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(b"\x01" * 3000)
    (root / "sub" / "config.json").write_text("{}")
    return root


def sent(mock_api) -> list[tuple[str, str, dict | None]]:
    """Method, URL and JSON body of every request sent to the API."""
    return [
        (
            call.request.method,
            call.request.url,
            json.loads(call.request.body)
            if call.request.url.startswith(api_url("")) and call.request.body
            else None,
        )
        for call in mock_api.calls
    ]


# ---------------------------------------------------------------- helpers


def test_create_archive_needs_directory(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with (
        pytest.raises(AssertionError, match="^create_archive needs a directory$"),
        create_archive(path),
    ):
        pass


def test_create_archive(model_dir):
    content = hashlib.md5(
        (model_dir / "sub" / "config.json").read_bytes()
        + (model_dir / "weights.bin").read_bytes()
    ).hexdigest()
    with create_archive(model_dir) as (archive, content_hash, size, archive_hash):
        assert archive.name.endswith(".tar.zst")
        assert content_hash == content
        assert size == archive.stat().st_size
        assert archive_hash == hashlib.md5(archive.read_bytes()).hexdigest()
    assert not archive.exists()


def test_create_archive_deleted_on_error(model_dir):
    with pytest.raises(RuntimeError), create_archive(model_dir) as (archive, *_):
        raise RuntimeError("boom")
    assert not archive.exists()


def test_build_clean_payload():
    assert build_clean_payload(a=None, b={}, c=0, d=False, e="", f="x") == {
        "b": {},
        "c": 0,
        "d": False,
        "e": "",
        "f": "x",
    }


class Thing:
    def __init__(self, read_only):
        self.is_read_only = read_only

    @skip_if_read_only
    def act(self, value):
        """Act."""
        return value


def test_skip_if_read_only_skips_without_binding(caplog):
    assert Thing(True).act() is None
    assert caplog.record_tuples == [READ_ONLY_WARNING]


def test_skip_if_read_only_calls():
    assert Thing(False).act(42) == 42
    assert Thing.act.__doc__ == "Act."


def test_skip_if_read_only_missing_attribute():
    class Unconfigured:
        @property
        def is_read_only(self):
            raise AttributeError("args")

        @skip_if_read_only
        def act(self):
            return "done"

    assert Unconfigured().act() == "done"


@pytest.mark.parametrize(
    ("model_version_id", "expected"),
    [pytest.param(None, False, id="no"), pytest.param(VERSION_ID, True, id="yes")],
)
def test_is_finetuning(worker, model_version_id, expected):
    worker.model_version_id = model_version_id
    assert worker.is_finetuning is expected


def test_model_version_default():
    assert TrainingMixin.model_version is None


# ---------------------------------------------------------------- read-only


@pytest.mark.parametrize(
    "method",
    [
        "create_model_version",
        "update_model_version",
        "upload_to_s3",
        "validate_model_version",
        "publish_model_version",
    ],
)
def test_read_only_methods(read_only_worker, mock_api, caplog, method):
    assert getattr(read_only_worker, method)() is None
    assert len(mock_api.calls) == 0
    assert caplog.record_tuples[-1] == READ_ONLY_WARNING


# ---------------------------------------------------------------- create / update


def test_create_model_version_twice(worker):
    worker.model_version = version_payload()
    with pytest.raises(
        AssertionError, match="^A model version has already been created.$"
    ):
        worker.create_model_version(MODEL_ID)


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        pytest.param({}, {"configuration": {}}, id="minimal"),
        pytest.param(
            {
                "tag": "v1",
                "description": "d",
                "configuration": {"a": 1},
                "parent": EXISTING_ID,
            },
            {
                "tag": "v1",
                "description": "d",
                "configuration": {"a": 1},
                "parent": EXISTING_ID,
            },
            id="full",
        ),
    ],
)
def test_create_model_version(worker, mock_api, caplog, kwargs, body):
    caplog.set_level(logging.INFO)
    mock_api.post(
        CREATE_URL, match=[matchers.json_params_matcher(body)], json=version_payload()
    )

    worker.create_model_version(MODEL_ID, **kwargs)

    assert worker.model_version == version_payload()
    assert sent(mock_api) == [("POST", CREATE_URL, body)]
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.INFO,
        f"Model version ({VERSION_ID}) was successfully created",
    )


def test_update_model_version_not_created(worker):
    with pytest.raises(
        AssertionError, match="^No model version has been created yet.$"
    ):
        worker.update_model_version(tag="v2")


def test_update_model_version(worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    worker.model_version = version_payload()
    mock_api.put(VERSION_URL, json=version_payload(tag="v2"))

    worker.update_model_version(tag="v2")

    assert worker.model_version["tag"] == "v2"
    assert sent(mock_api) == [("PUT", VERSION_URL, {"tag": "v2"})]
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.INFO,
        f"Model version ({VERSION_ID}) was successfully updated",
    )


# ---------------------------------------------------------------- upload_to_s3


@pytest.mark.parametrize(
    ("model_version", "message"),
    [
        pytest.param(
            None,
            "You must create the model version before uploading an archive.",
            id="none",
        ),
        pytest.param(
            version_payload(state="available"),
            "The model is already marked as available.",
            id="available",
        ),
        pytest.param(
            version_payload(state="Available"),
            "The model is already marked as available.",
            id="capitalised",
        ),
        pytest.param(
            version_payload(s3_put_url=None),
            "S3 PUT URL is not set, please ensure you have the right to validate a model version.",
            id="no-url",
        ),
    ],
)
def test_upload_to_s3_wrong_state(worker, tmp_path, model_version, message):
    worker.model_version = model_version
    with pytest.raises(AssertionError) as e:
        worker.upload_to_s3(tmp_path / "archive.tar.zst")
    assert str(e.value) == message


def test_upload_to_s3(worker, mock_api, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    archive = tmp_path / "archive.tar.zst"
    archive.write_bytes(b"zstd bytes")
    worker.model_version = version_payload()
    mock_api.put(
        S3_URL,
        match=[
            matchers.header_matcher({"Content-Type": "application/zstd"}),
            matchers.body_matcher("zstd bytes"),
        ],
    )

    worker.upload_to_s3(archive)

    (call,) = mock_api.calls
    assert "Authorization" not in call.request.headers
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.INFO,
        "Uploading to s3...",
    )


def test_upload_to_s3_error(worker, mock_api, tmp_path, sleeps):
    archive = tmp_path / "archive.tar.zst"
    archive.write_bytes(b"zstd bytes")
    worker.model_version = version_payload()
    mock_api.put(S3_URL, status=400)

    with pytest.raises(requests.HTTPError) as e:
        worker.upload_to_s3(archive)
    assert str(e.value) == f"400 Bad Request for PUT {S3_URL}"
    assert len(mock_api.calls) == 1
    assert sleeps == []


def test_upload_to_s3_retries_server_errors_with_the_whole_file(
    worker, mock_api, tmp_path, sleeps
):
    archive = tmp_path / "archive.tar.zst"
    archive.write_bytes(b"zstd bytes")
    worker.model_version = version_payload()
    body = [matchers.body_matcher("zstd bytes")]
    mock_api.put(S3_URL, status=503, match=body)
    mock_api.put(S3_URL, body=requests.ConnectionError("reset"), match=body)
    mock_api.put(S3_URL, status=200, match=body)

    worker.upload_to_s3(archive)

    assert len(mock_api.calls) == 3
    assert sleeps == [3, 4]


# ---------------------------------------------------------------- validate_model_version

VALIDATION = {
    "state": "available",
    "size": 42,
    "hash": "content",
    "archive_hash": "archive",
}


def validate(worker):
    worker.validate_model_version(hash="content", size=42, archive_hash="archive")


def test_validate_not_created(worker):
    with pytest.raises(AssertionError) as e:
        validate(worker)
    assert str(e.value) == (
        "You must create the model version and upload its archive before validating it."
    )


def test_validate_model_version(worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    worker.model_version = version_payload()
    mock_api.patch(VERSION_URL, json=version_payload(state="available"))

    validate(worker)

    assert worker.model_version["state"] == "available"
    assert sent(mock_api) == [("PATCH", VERSION_URL, VALIDATION)]
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.INFO,
        f"Model version {VERSION_ID} is now available.",
    )


def conflict(mock_api):
    mock_api.patch(VERSION_URL, status=409, json={"id": ["other", EXISTING_ID]})


def test_validate_uses_existing_version(worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    worker.model_version = version_payload()
    conflict(mock_api)
    mock_api.delete(VERSION_URL, status=204)
    mock_api.get(
        api_url(f"modelversion/{EXISTING_ID}/"),
        json=version_payload(EXISTING_ID, "available"),
    )

    validate(worker)

    assert worker.model_version["id"] == EXISTING_ID
    assert [(method, url) for method, url, _ in sent(mock_api)] == [
        ("PATCH", VERSION_URL),
        ("DELETE", VERSION_URL),
        ("GET", api_url(f"modelversion/{EXISTING_ID}/")),
    ]
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "An available model version exists with hash content, using it instead of the pending version.",
        ),
        ("arkindex_worker", logging.WARNING, "Removing the pending model version."),
        ("arkindex_worker", logging.INFO, "Retrieving the existing model version."),
        (
            "arkindex_worker",
            logging.INFO,
            f"Model version {EXISTING_ID} is now available.",
        ),
    ]


def test_validate_delete_error_is_logged(worker, mock_api, caplog):
    worker.model_version = version_payload()
    conflict(mock_api)
    mock_api.delete(VERSION_URL, status=403, json={"detail": "nope"})
    mock_api.get(
        api_url(f"modelversion/{EXISTING_ID}/"),
        json=version_payload(EXISTING_ID, "available"),
    )

    validate(worker)

    assert worker.model_version["id"] == EXISTING_ID
    assert (
        "arkindex_worker",
        logging.ERROR,
        f"An error occurred removing the pending version {VERSION_ID}: {{'detail': 'nope'}}.",
    ) in caplog.record_tuples


def test_validate_retrieve_error(worker, mock_api, caplog):
    worker.model_version = version_payload()
    conflict(mock_api)
    mock_api.delete(VERSION_URL, status=204)
    mock_api.get(
        api_url(f"modelversion/{EXISTING_ID}/"),
        status=404,
        json={"detail": "Not found."},
    )

    with pytest.raises(ErrorResponse) as e:
        validate(worker)
    assert e.value.status_code == 404
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.ERROR,
        f"An error occurred retrieving the existing version {EXISTING_ID}: 404 - {{'detail': 'Not found.'}}.",
    )


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"detail": "bad"}, id="no-id"),
        pytest.param({"id": []}, id="empty-id"),
        pytest.param("id is wrong", id="string"),
    ],
)
def test_validate_other_errors(worker, mock_api, content):
    worker.model_version = version_payload()
    mock_api.patch(VERSION_URL, status=400, json=content)
    with pytest.raises(ErrorResponse) as e:
        validate(worker)
    assert e.value.status_code == 400
    assert len(mock_api.calls) == 1


# ---------------------------------------------------------------- publish_model_version


def test_publish_model_version(worker, mock_api, model_dir):
    mock_api.post(CREATE_URL, json=version_payload())
    mock_api.put(S3_URL)
    mock_api.patch(VERSION_URL, json=version_payload(state="available"))

    worker.publish_model_version(model_dir, MODEL_ID, tag="v1")

    create, upload, validation = sent(mock_api)
    assert create == ("POST", CREATE_URL, {"tag": "v1", "configuration": {}})
    assert upload[:2] == ("PUT", S3_URL)
    assert validation[:2] == ("PATCH", VERSION_URL)
    assert validation[2]["state"] == "available"
    assert worker.model_version["state"] == "available"


def test_publish_model_version_wrong_model(worker, model_dir):
    worker.model_version = version_payload()
    with pytest.raises(AssertionError) as e:
        worker.publish_model_version(model_dir, "other-model", tag="v1")
    assert str(e.value) == "Given `model_id` does not match the current model version"


def test_publish_model_version_reuses_existing(worker, mock_api, model_dir, caplog):
    worker.model_version = version_payload()
    existing_url = api_url(f"modelversion/{EXISTING_ID}/")
    mock_api.put(VERSION_URL, json=version_payload(description="new"))
    mock_api.put(S3_URL)
    conflict(mock_api)
    mock_api.delete(VERSION_URL, status=204)
    mock_api.get(existing_url, json=version_payload(EXISTING_ID, "available"))
    mock_api.put(
        existing_url, json=version_payload(EXISTING_ID, "available", description="new")
    )

    worker.publish_model_version(model_dir, MODEL_ID, description="new")

    assert [(method, url) for method, url, _ in sent(mock_api)] == [
        ("PUT", VERSION_URL),
        ("PUT", S3_URL),
        ("PATCH", VERSION_URL),
        ("DELETE", VERSION_URL),
        ("GET", existing_url),
        ("PUT", existing_url),
    ]
    assert sent(mock_api)[-1][2] == {"description": "new", "configuration": {}}
    assert (
        "arkindex_worker",
        logging.WARNING,
        "Updating the existing available model version with the given attributes.",
    ) in caplog.record_tuples
