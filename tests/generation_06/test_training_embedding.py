"""Generation 0.6: model versions (spec 15 §12) and embeddings (§13)."""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from pathlib import Path

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedElement
from arkindex_worker.models import Element
from arkindex_worker.worker import DatasetWorker, ElementsWorker, EmbeddingMixin
from arkindex_worker.worker.training import TrainingMixin, create_archive
from tests.conftest import WORKER_RUN_ID, api_url
from tests.generation_06.helpers import sent, worker_logs

MODEL_ID = "11111111-0000-0000-0000-000000000000"
VERSION_ID = "22222222-0000-0000-0000-000000000000"
S3_URL = "http://s3.localhost.com/upload"
CREATE_URL = api_url(f"model/{MODEL_ID}/versions/")
VERSION_URL = api_url(f"modelversion/{VERSION_ID}/")
ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
EMBEDDING_URL = api_url(f"element/{ELEMENT_ID}/embedding/")
READ_ONLY = "Cannot perform this operation as the worker is in read-only mode"


class TrainingWorker(TrainingMixin, ElementsWorker):
    """An elements worker that publishes model versions."""


@pytest.fixture
def trainer(worker06):
    worker06.__class__ = TrainingWorker
    return worker06


@pytest.fixture
def model_dir(tmp_path) -> Path:
    root = tmp_path / "model"
    root.mkdir()
    (root / "weights.bin").write_bytes(b"\x01" * 3000)
    return root


def version(state: str = "created", **fields) -> dict:
    return {
        "id": VERSION_ID,
        "model_id": MODEL_ID,
        "state": state,
        "s3_put_url": S3_URL,
        **fields,
    }


# ---------------------------------------------------------------- archives


def test_create_archive_yields_path_size_hash(model_dir):
    with create_archive(path=model_dir) as (path, size, archive_hash):
        assert path.exists()
        assert size == path.stat().st_size
        assert archive_hash == hashlib.md5(path.read_bytes()).hexdigest()
    assert not path.exists()


# ---------------------------------------------------------------- signatures


def test_signatures_keep_the_04_order():
    create = inspect.signature(TrainingMixin.create_model_version).parameters
    assert list(create) == [
        "self", "model_id", "tag", "description", "configuration", "parent",
        "size", "archive_hash",
    ]  # fmt: skip
    assert create["size"].kind is inspect.Parameter.KEYWORD_ONLY
    update = inspect.signature(TrainingMixin.update_model_version).parameters
    assert list(update) == [
        "self", "tag", "description", "configuration", "parent", "size", "archive_hash",
    ]  # fmt: skip


# ---------------------------------------------------------------- create_model_version


def test_create_model_version_06_positionals(trainer, mock_api, caplog):
    mock_api.post(CREATE_URL, json=version())

    trainer.create_model_version(MODEL_ID, 42, "abc", "A tag", "desc")

    assert sent(mock_api) == [
        (
            "POST",
            CREATE_URL,
            {
                "size": 42,
                "archive_hash": "abc",
                "tag": "A tag",
                "description": "desc",
                "configuration": {},
            },
        )
    ]
    assert trainer.model_version == version()
    assert worker_logs(caplog) == [
        (logging.INFO, f"Model version ({VERSION_ID}) was successfully created.")
    ]


def test_create_model_version_tag_retry(trainer, mock_api, caplog):
    mock_api.post(
        CREATE_URL,
        status=400,
        json={
            "non_field_errors": [
                "A version for this model with this tag already exists."
            ]
        },
    )
    mock_api.post(CREATE_URL, json=version())

    trainer.create_model_version(model_id=MODEL_ID, tag="v1", size=1, archive_hash="h")

    bodies = [body for _, _, body in sent(mock_api)]
    assert bodies == [
        {"size": 1, "archive_hash": "h", "tag": "v1", "configuration": {}},
        {"size": 1, "archive_hash": "h", "configuration": {}},
    ]
    assert worker_logs(caplog) == [
        (
            logging.WARNING,
            "The `v1` tag is already used by another version for this model, "
            "publication will be retried without it.",
        ),
        (logging.INFO, f"Model version ({VERSION_ID}) was successfully created."),
    ]


def test_create_model_version_other_error(trainer, mock_api):
    mock_api.post(CREATE_URL, status=400, json={"tag": ["bad"]})
    with pytest.raises(ErrorResponse):
        trainer.create_model_version(model_id=MODEL_ID, tag="v1")
    assert len(mock_api.calls) == 1


def test_update_model_version_06(trainer, mock_api, caplog):
    trainer.model_version = version()
    mock_api.put(VERSION_URL, json=version(tag="A new tag"))

    trainer.update_model_version(42, "123456789", "A new tag")

    assert sent(mock_api) == [
        (
            "PUT",
            VERSION_URL,
            {"size": 42, "archive_hash": "123456789", "tag": "A new tag"},
        )
    ]
    assert worker_logs(caplog) == [
        (logging.INFO, f"Model version ({VERSION_ID}) was successfully updated.")
    ]


@pytest.mark.parametrize(
    "helper",
    [
        "create_model_version",
        "update_model_version",
        "upload_to_s3",
        "publish_model_version",
        "validate_model_version",
    ],
)
def test_read_only_without_arguments(worker06_read_only, caplog, helper):
    worker06_read_only.__class__ = TrainingWorker
    assert getattr(worker06_read_only, helper)() is None
    assert worker_logs(caplog) == [(logging.WARNING, READ_ONLY)]


def test_upload_to_s3_06(trainer, mock_api, caplog, tmp_path):
    archive = tmp_path / "model.tar.zst"
    archive.write_bytes(b"zst")
    trainer.model_version = version()
    mock_api.put(S3_URL)
    mock_api.patch(VERSION_URL, json=version(state="available"))

    trainer.upload_to_s3(archive)

    assert [(c.request.method, c.request.url) for c in mock_api.calls] == [
        ("PUT", S3_URL),
        ("PATCH", VERSION_URL),
    ]
    assert json.loads(mock_api.calls[1].request.body) == {"state": "available"}
    assert mock_api.calls[0].request.headers["Content-Type"] == "application/zstd"
    assert trainer.model_version["state"] == "available"
    assert worker_logs(caplog) == [
        (logging.INFO, "Uploading to s3..."),
        (
            logging.INFO,
            f"Model version ({VERSION_ID}) archive was successfully uploaded and is now available.",
        ),
    ]


def test_upload_to_s3_already_available(trainer):
    trainer.model_version = version(state="Available")
    with pytest.raises(
        AssertionError, match="^The model version is already marked as available.$"
    ):
        trainer.upload_to_s3(Path("x"))


def test_publish_model_version_06(trainer, mock_api, model_dir):
    uploaded = []

    def upload(request):
        body = request.body
        uploaded.append(body if isinstance(body, bytes) else body.read())
        return 200, {}, ""

    mock_api.post(CREATE_URL, json=version())
    mock_api.add_callback("PUT", S3_URL, callback=upload)
    mock_api.patch(VERSION_URL, json=version(state="available"))

    trainer.publish_model_version(model_dir, MODEL_ID, tag="t")

    create, _, patch = mock_api.calls
    assert [(c.request.method, c.request.url) for c in mock_api.calls] == [
        ("POST", CREATE_URL),
        ("PUT", S3_URL),
        ("PATCH", VERSION_URL),
    ]
    body = json.loads(create.request.body)
    assert set(body) == {"size", "archive_hash", "tag", "configuration"}
    assert (body["tag"], body["configuration"]) == ("t", {})
    assert body["size"] == len(uploaded[0])
    assert body["archive_hash"] == hashlib.md5(uploaded[0]).hexdigest()
    assert json.loads(patch.request.body) == {"state": "available"}


def test_publish_model_version_06_updates(trainer, mock_api, model_dir):
    trainer.model_version = version()
    mock_api.put(VERSION_URL, json=version())
    mock_api.put(S3_URL)
    mock_api.patch(VERSION_URL, json=version(state="available"))

    trainer.publish_model_version(model_dir, MODEL_ID)

    update = mock_api.calls[0].request
    assert (update.method, update.url) == ("PUT", VERSION_URL)
    assert set(json.loads(update.body)) == {"size", "archive_hash", "configuration"}


def test_publish_model_version_other_model(trainer, model_dir):
    trainer.model_version = version(model_id="other")
    with pytest.raises(
        AssertionError,
        match="^Given `model_id` does not match the current model version$",
    ):
        trainer.publish_model_version(model_dir, MODEL_ID)


# ---------------------------------------------------------------- embeddings


def test_embedding_mixin_is_a_base():
    assert ElementsWorker.__bases__[-1] is EmbeddingMixin
    assert DatasetWorker.__bases__[-1] is EmbeddingMixin


def test_create_embedding(worker06, mock_api):
    answer = {"id": "emb", "value": [0.1], "worker_run": {"id": WORKER_RUN_ID}}
    mock_api.post(EMBEDDING_URL, json=answer)

    assert worker06.create_embedding(Element(id=ELEMENT_ID), [0.1]) == answer

    assert sent(mock_api) == [
        ("POST", EMBEDDING_URL, {"worker_run_id": WORKER_RUN_ID, "value": [0.1]})
    ]


def test_create_embedding_error(worker06, mock_api):
    mock_api.post(EMBEDDING_URL, status=418)
    with pytest.raises(ErrorResponse):
        worker06.create_embedding(Element(id=ELEMENT_ID), [0.1])
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    ("element", "value", "message"),
    [
        (None, [0.1], "element shouldn't be null and should be of type Element"),
        (
            CachedElement(id=ELEMENT_ID),
            [0.1],
            "element shouldn't be null and should be of type Element",
        ),
        (Element(id=ELEMENT_ID), None, "value shouldn't be null and should be a list"),
        (
            Element(id=ELEMENT_ID),
            "[0.0,0.0]",
            "value shouldn't be null and should be a list",
        ),
        (
            Element(id=ELEMENT_ID),
            ["0.0", "0.0"],
            "Point at index 0 in value: Should be of type float",
        ),
        (
            Element(id=ELEMENT_ID),
            [0.5, 1],
            "Point at index 1 in value: Should be of type float",
        ),
    ],
)
def test_create_embedding_checks(worker06, element, value, message):
    with pytest.raises(AssertionError, match=f"^{message}$"):
        worker06.create_embedding(element, value)


def test_create_embedding_read_only(worker06_read_only, mock_api, caplog):
    assert worker06_read_only.create_embedding(Element(id=ELEMENT_ID), [0.1]) is None
    assert sent(mock_api) == []
    assert worker_logs(caplog) == [
        (logging.WARNING, "Cannot create embedding as this worker is in read-only mode")
    ]


def test_create_embedding_04_cache_warning(
    mock_cached_elements_worker, mock_api, caplog
):
    """Both generations: under 0.4 a cached element is accepted, and the cache warns."""
    from arkindex_worker import generation

    generation.use(generation.GENERATION_0_4)
    mock_api.post(EMBEDDING_URL, json={"id": "emb"})

    mock_cached_elements_worker.create_embedding(CachedElement(id=ELEMENT_ID), [0.1])

    assert worker_logs(caplog)[-1] == (
        logging.WARNING,
        "This API helper `create_embedding` did not update the cache database",
    )


def test_list_embeddings(worker06, mock_api):
    mock_api.get(
        EMBEDDING_URL,
        json={"count": 2, "next": f"{EMBEDDING_URL}?page=2", "results": [{"id": "a"}]},
    )
    mock_api.get(
        f"{EMBEDDING_URL}?page=2",
        json={"count": 2, "next": None, "results": [{"id": "b"}]},
    )

    embeddings = worker06.list_embeddings(Element(id=ELEMENT_ID))
    assert len(mock_api.calls) == 0  # lazy
    assert list(embeddings) == [{"id": "a"}, {"id": "b"}]

    assert [call.request.url for call in mock_api.calls] == [
        EMBEDDING_URL,  # no query string at all
        f"{EMBEDDING_URL}?page=2",
    ]


def test_list_embeddings_checks(worker06):
    with pytest.raises(
        AssertionError,
        match="^element shouldn't be null and should be of type Element$",
    ):
        worker06.list_embeddings(None)


def test_embedding_docs_registration(worker06):
    """The registration of docs/mixins/embedding.md answers create_embedding."""
    import re

    from arkindex_worker.testing.mock import MockApiClient

    page = Path(__file__).parents[2] / "docs" / "mixins" / "embedding.md"
    (code,) = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    mock = MockApiClient()
    element = Element(id=ELEMENT_ID)
    exec(
        code,
        {
            "arkindex_mock_api": mock,
            "EMBEDDING_ID": "emb",
            "element": element,
            "worker": worker06,
        },
    )
    worker06.api_client = mock

    assert worker06.create_embedding(element, [0.1, 0.2]) == {
        "id": "emb",
        "value": [0.1, 0.2],
    }
    assert mock.responses == []
