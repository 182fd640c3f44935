"""`DatasetWorker`: the run loop over dataset sets.

Subclass [DatasetWorker][arkindex_worker.worker.DatasetWorker] (importable from
`arkindex_worker.worker`) and override ``process_set``.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from arkindex_worker import logger
from arkindex_worker.errors import NothingToProcess
from arkindex_worker.interrupts import handle_interrupts
from arkindex_worker.models import Dataset, Set
from arkindex_worker.validation import check, plain_name
from arkindex_worker.worker.base import BaseWorker
from arkindex_worker.worker.corpus import CorpusMixin
from arkindex_worker.worker.dataset import (
    DatasetMixin,
    DatasetState,
    MissingDatasetArchive,
)
from arkindex_worker.worker.embedding import EmbeddingMixin
from arkindex_worker.worker.loops import (
    configure_for_run,
    run_dataset_sets_0_6,
    start_dataset_exports_0_6,
)
from arkindex_worker.worker.progress import RunMonitor
from arkindex_worker.worker.report import Progress, report
from arkindex_worker.worker.task import TaskMixin

__all__ = ["DatasetWorker"]


class DatasetWorker(DatasetMixin, BaseWorker, TaskMixin, CorpusMixin, EmbeddingMixin):
    """Base class of workers that process dataset sets, one set at a time.

    Args:
        description: description shown by ``--help``.
        support_cache: whether the worker can use the SQLite cache.
    """

    _loop_items = "set"

    def __init__(
        self, description: str = "Arkindex Dataset Worker", support_cache: bool = False
    ):
        super().__init__(description, support_cache)
        self.downloaded_dataset_artifact: Path | None = None

    def cleanup_downloaded_artifact(self) -> None:
        """Delete the last downloaded dataset archive, if any."""
        if self.downloaded_dataset_artifact:
            self.downloaded_dataset_artifact.unlink(missing_ok=True)

    def download_dataset_artifact(self, dataset: Dataset) -> None:
        """Download the compressed archive of a dataset into the extras directory.

        Raises:
            MissingDatasetArchive: the archive is not among the task's artifacts.
            UnsafePathError: the dataset's ID is not a plain file name.
        """
        archive = self.find_extras_directory() / plain_name(
            dataset.filepath, "Dataset archive"
        )
        if archive.exists():
            return

        self.cleanup_downloaded_artifact()
        logger.info(f"Downloading artifact for {dataset}")
        task_id = uuid.UUID(dataset.task_id)
        for artifact in self.list_artifacts(task_id):
            if artifact.path != dataset.filepath:
                continue
            # Copied in chunks, then closed (a downloaded file deletes itself)
            with (
                self.download_artifact(task_id, artifact) as downloaded,
                archive.open("wb") as out,
            ):
                shutil.copyfileobj(downloaded, out)
            self.downloaded_dataset_artifact = archive
            return

        raise MissingDatasetArchive(
            "The dataset compressed archive artifact was not found."
        )

    def start_dataset_exports(self) -> dict[str, Exception]:
        """Start (or reuse) one SQL export per dataset of ``self.datasets``.

        Current Arkindex servers serve datasets as SQL exports instead of
        archive artifacts. Returns the errors by dataset ID, so that only the
        sets of a dataset whose export could not start fail. Under generation
        0.6 errors propagate and nothing is returned.
        """
        if self.generation == "0.6":
            return start_dataset_exports_0_6(self)
        errors = {}
        for dataset_id, dataset in getattr(self, "datasets", {}).items():
            try:
                self._corpus_id = dataset.corpus_id
                dataset.export_id = self.start_export(dataset_id=uuid.UUID(dataset_id))
            except Exception as e:
                errors[dataset_id] = e
        return errors

    def _download_dataset_export(self, dataset: Dataset) -> None:
        """Download a dataset's export once; its path goes to ``downloaded_export``."""
        if "downloaded_export" in dataset:
            return
        self._corpus_id = dataset.corpus_id
        dataset.downloaded_export = self.get_export(
            export_id=dataset.export_id, dataset_id=uuid.UUID(str(dataset.id))
        )

    def cleanup(self, info_log: str | None = None) -> None:
        """Also delete the dataset exports this worker downloaded."""
        super().cleanup(info_log=info_log)
        for dataset in getattr(self, "datasets", {}).values():
            path = dataset.get("downloaded_export")
            if path:
                Path(path).unlink(missing_ok=True)

    def process_set(self, set: Set) -> None:
        """Process one dataset set; override it. Does nothing by default."""

    def run(self) -> None:
        """Configure the worker, then download and process every dataset set.

        Exits with status 1 when there is no set (`NothingToProcess`) or when
        every set failed (`EveryItemFailed`), 130 on Ctrl-C and 143 on SIGTERM
        (`Interrupted`); these are `SystemExit`s of `arkindex_worker.errors`.
        """
        progress = Progress("set")
        self._monitor = RunMonitor(self, progress, item_key="set")
        monitor = self._monitor
        with (
            monitor.reporting(),
            handle_interrupts(progress.describe),
            monitor.refusals(),
        ):
            self._run(progress)

    def _run(self, progress: Progress) -> None:
        monitor = self._monitor
        configure_for_run(self)
        monitor.configured()
        if self.generation == "0.6":
            return run_dataset_sets_0_6(self, progress, monitor)

        dataset_sets = list(self.list_sets())
        if not dataset_sets:
            logger.warning("No sets to process, stopping.")
            raise NothingToProcess()

        self.datasets = {
            str(dataset_set.dataset.id): dataset_set.dataset
            for dataset_set in dataset_sets
            if _uses_exports(dataset_set.dataset)
        }
        export_errors = self.start_dataset_exports()

        count = progress.total = len(dataset_sets)
        for i, dataset_set in enumerate(dataset_sets, start=1):
            try:
                dataset = dataset_set.dataset
                if _uses_exports(dataset):
                    if str(dataset.id) in export_errors:
                        raise export_errors[str(dataset.id)]
                else:
                    check(
                        dataset.state
                        in (DatasetState.Complete.value, DatasetState.Complete),
                        "When processing a set, its dataset state should be Complete.",
                    )
                logger.info(f"Retrieving data for {dataset_set} ({i}/{count})")
                if _uses_exports(dataset):
                    self._download_dataset_export(dataset)
                else:
                    self.download_dataset_artifact(dataset)
                logger.info(f"Processing {dataset_set} ({i}/{count})")
                self.process_set(dataset_set)
            except Exception as e:
                try:
                    monitor.failed(str(dataset_set), _set_key(dataset_set), e)
                finally:
                    progress.done += 1
            else:
                progress.done += 1
            monitor.tick()
            monitor.check_max_failures()

        self.cleanup_downloaded_artifact()
        report(
            count, progress.failed, "set", monitor.summary_line(), monitor.first_error
        )


def _set_key(dataset_set: Set) -> str:
    """``<dataset_id>:<set_name>`` of a set, as ``--set`` takes it."""
    dataset = dataset_set.get("dataset") or {}
    return f"{dataset.get('id')}:{dataset_set.get('name')}"


def _uses_exports(dataset: Dataset) -> bool:
    """Whether a dataset comes from a current server (SQL exports, no ``state``)."""
    return "state" not in dataset
