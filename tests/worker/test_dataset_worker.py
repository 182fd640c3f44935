"""DatasetWorker: sets, artifact download and clean-up, run loop."""

from __future__ import annotations

import logging
import sys

import pytest

from arkindex_worker.models import Dataset, Set
from arkindex_worker.worker import DatasetWorker, MissingDatasetArchive
from tests.conftest import TASK_ID, WORKER_RUN_ID, api_url
from tests.worker.factories import worker_run_payload

DATASET_ID = "dataset_id"
ARTIFACTS_URL = api_url(f"task/{TASK_ID}/artifacts/")
ARCHIVE_URL = api_url(f"task/{TASK_ID}/artifact/{DATASET_ID}.tar.zst")


def dataset(state="complete") -> Dataset:
    return Dataset(
        id=DATASET_ID, name="D", state=state, task_id=TASK_ID, sets=["train"]
    )


def artifact(path: str) -> dict:
    return {
        "id": "a1",
        "path": path,
        "size": 42,
        "content_type": "application/zstd",
        "s3_put_url": None,
        "created": "2000-01-01T00:00:00Z",
        "updated": "2000-01-01T00:00:00Z",
    }


def log(caplog):
    return [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "arkindex_worker" and r.levelno >= logging.INFO
    ]


@pytest.fixture
def worker(mock_dataset_worker, tmp_path):
    mock_dataset_worker.args = mock_dataset_worker.parser.parse_args(
        ["--extras-dir", str(tmp_path)]
    )
    return mock_dataset_worker


def test_download_dataset_artifact(worker, mock_api, tmp_path, caplog):
    mock_api.get(
        ARTIFACTS_URL, json=[artifact("other.txt"), artifact(f"{DATASET_ID}.tar.zst")]
    )
    mock_api.get(ARCHIVE_URL, body=b"archive bytes", content_type="application/zstd")
    worker.download_dataset_artifact(dataset())
    archive = tmp_path / f"{DATASET_ID}.tar.zst"
    assert archive.read_bytes() == b"archive bytes"
    assert worker.downloaded_dataset_artifact == archive
    assert log(caplog) == [
        (logging.INFO, f"Downloading artifact for Dataset ({DATASET_ID})")
    ]


def test_download_dataset_artifact_already_there(worker, mock_api, tmp_path):
    (tmp_path / f"{DATASET_ID}.tar.zst").write_bytes(b"x")
    worker.download_dataset_artifact(dataset())
    assert len(mock_api.calls) == 0
    assert worker.downloaded_dataset_artifact is None


def test_download_dataset_artifact_missing(worker, mock_api):
    mock_api.get(ARTIFACTS_URL, json=[artifact("other.txt")])
    with pytest.raises(
        MissingDatasetArchive,
        match="^The dataset compressed archive artifact was not found.$",
    ):
        worker.download_dataset_artifact(dataset())


def test_download_dataset_artifact_invalid_task_id(worker):
    with pytest.raises(ValueError):
        worker.download_dataset_artifact(Dataset(id=DATASET_ID, task_id="not-a-uuid"))


def test_cleanup_downloaded_artifact(worker, tmp_path):
    worker.cleanup_downloaded_artifact()  # nothing downloaded: no error
    archive = tmp_path / "a.tar.zst"
    archive.write_bytes(b"x")
    worker.downloaded_dataset_artifact = archive
    worker.cleanup_downloaded_artifact()
    assert not archive.exists()
    worker.cleanup_downloaded_artifact()  # twice is fine
    assert worker.downloaded_dataset_artifact == archive


@pytest.fixture
def run_dataset_worker(api_env, mock_api, monkeypatch, tmp_path):
    def build(sets, argv=()):
        monkeypatch.setattr(
            sys, "argv", ["worker", "--extras-dir", str(tmp_path), *argv]
        )
        mock_api.get(
            api_url(f"process/workers/{WORKER_RUN_ID}/"),
            json=worker_run_payload(mode="dataset"),
        )
        monkeypatch.setattr(DatasetWorker, "list_sets", lambda self: iter(sets))
        return DatasetWorker()

    return build


def test_run_success(run_dataset_worker, mock_api, tmp_path, caplog):
    processed = []
    worker = run_dataset_worker([Set(name="train", dataset=dataset())])
    worker.process_set = processed.append
    mock_api.get(ARTIFACTS_URL, json=[artifact(f"{DATASET_ID}.tar.zst")])
    mock_api.get(ARCHIVE_URL, body=b"archive", content_type="application/zstd")
    caplog.clear()
    worker.run()
    assert [s.name for s in processed] == ["train"]
    assert log(caplog) == [
        (logging.INFO, "Loaded Worker Fake worker @ 123412 from API"),
        (
            logging.INFO,
            f"Retrieving data for Set (train) from Dataset ({DATASET_ID}) (1/1)",
        ),
        (logging.INFO, f"Downloading artifact for Dataset ({DATASET_ID})"),
        (logging.INFO, f"Processing Set (train) from Dataset ({DATASET_ID}) (1/1)"),
        (logging.INFO, "Ran on 1 set: 1 completed, 0 failed"),
    ]
    assert not (tmp_path / f"{DATASET_ID}.tar.zst").exists()


def test_run_dataset_not_complete(run_dataset_worker, caplog):
    worker = run_dataset_worker([Set(name="train", dataset=dataset(state="open"))])
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1
    assert log(caplog)[-2:] == [
        (
            logging.WARNING,
            f"Failed running worker on Set (train) from Dataset ({DATASET_ID}): "
            "AssertionError('When processing a set, its dataset state should be Complete.')",
        ),
        (logging.ERROR, "Ran on 1 set: 0 completed, 1 failed"),
    ]


def test_run_api_error(run_dataset_worker, mock_api, caplog):
    worker = run_dataset_worker([Set(name="train", dataset=dataset())])
    mock_api.get(ARTIFACTS_URL, status=418)
    with pytest.raises(SystemExit):
        worker.run()
    assert (
        logging.WARNING,
        f"An API error occurred while processing Set (train) from Dataset ({DATASET_ID}): "
        "418 I'm a Teapot - None",
    ) in log(caplog)


def test_run_missing_archive(run_dataset_worker, mock_api, caplog):
    worker = run_dataset_worker([Set(name="train", dataset=dataset())])
    mock_api.get(ARTIFACTS_URL, json=[])
    with pytest.raises(SystemExit):
        worker.run()
    assert (
        logging.WARNING,
        f"Failed running worker on Set (train) from Dataset ({DATASET_ID}): "
        "MissingDatasetArchive('The dataset compressed archive artifact was not found.')",
    ) in log(caplog)


def test_run_partial_failure_exits_0(run_dataset_worker, mock_api, caplog):
    sets = [
        Set(name="train", dataset=dataset(state="open")),
        Set(name="val", dataset=dataset()),
    ]
    worker = run_dataset_worker(sets)
    mock_api.get(ARTIFACTS_URL, json=[artifact(f"{DATASET_ID}.tar.zst")])
    mock_api.get(ARCHIVE_URL, body=b"archive", content_type="application/zstd")
    worker.run()
    assert log(caplog)[-1] == (logging.ERROR, "Ran on 2 sets: 1 completed, 1 failed")


def test_run_no_sets(run_dataset_worker, caplog):
    worker = run_dataset_worker([])
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1
    assert log(caplog)[-1] == (logging.WARNING, "No sets to process, stopping.")


def test_dataset_worker_cli():
    args = DatasetWorker().parser.parse_args(
        ["--set", "12341234-1234-1234-1234-123412341234:train"]
    )
    assert args.set[0][1] == "train"
    assert not hasattr(args, "element")
