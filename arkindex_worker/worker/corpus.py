"""SQLite exports of corpora: list, start, wait for and download them."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception_type,
    stop_after_delay,
    wait_chain,
    wait_fixed,
)

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.api.retry import EXPORT_RETRY_0_6, FixedRetry
from arkindex_worker.api.shared import http_client
from arkindex_worker.errors import (
    ExportNotFinishedError,
    FailedExportError,
    NoExportURLError,
)
from arkindex_worker.validation import check
from arkindex_worker.worker.rules06 import follows_0_6

if TYPE_CHECKING:
    from arkindex_worker.api import DownloadedFile

__all__ = [
    "CorpusExportState",
    "CorpusMixin",
    "ExportNotFinishedError",
    "FailedExportError",
    "NoExportURLError",
]

# StartExport answers these codes when an export of the same data exists or runs.
EXISTING_EXPORT_CODES = ("running_export", "existing_export")
CHUNK_SIZE = 1024 * 1024


class CorpusExportState(Enum):
    """State of a corpus export."""

    Created = "created"
    """Waiting to be built."""

    Running = "running"
    """Being built."""

    Failed = "failed"
    """Building failed."""

    Done = "done"
    """Ready to be downloaded."""


def _check_optional_uuid(dataset_id: uuid.UUID | None) -> None:
    if dataset_id is not None:
        check(isinstance(dataset_id, uuid.UUID), "dataset_id should be an UUID")


def _download(url: str, path: Path, retry: FixedRetry | None = None) -> None:
    """Stream ``url`` (storage: no Arkindex authentication) into ``path``.

    A download that breaks off is started again, within the retry policy
    (the client's, or ``retry``).
    """

    def write(response: requests.Response) -> None:
        with path.open("wb") as f:
            for chunk in response.iter_content(chunk_size=CHUNK_SIZE):
                f.write(chunk)

    http_client().http_request("GET", url, stream=True, read=write, retry=retry)


class CorpusMixin:
    """Helpers about the SQLite exports of the worker's corpus."""

    def download_export(self, export_id: str | uuid.UUID) -> DownloadedFile | Path:
        """Download a corpus export.

        Args:
            export_id: ID of the export (a string or a ``uuid.UUID``).

        Returns:
            The downloaded SQLite file, deleted when closed. Under generation
            0.6, the `Path` of a ``teklia-export-*`` temporary file: the
            export's redirect is not followed, its ``Location`` is downloaded.

        Raises:
            ValueError: ``export_id`` is not a valid UUID.
            NoExportURLError: generation 0.6, the server did not redirect.
        """
        if not isinstance(export_id, uuid.UUID):
            try:
                uuid.UUID(export_id)
            except ValueError as e:
                raise ValueError("export_id is not a valid uuid.") from e

        if follows_0_6(self):
            return self._download_export_file(export_id)
        logger.info(f"Downloading export ({export_id})...")
        export = self.api_client.request("DownloadExport", id=export_id)
        logger.info(f"Downloaded export ({export_id}) @ `{export.name}`")
        return export

    def download_latest_export(self) -> DownloadedFile:
        """Download the most recently updated ``done`` export of the corpus.

        Under generation 0.6, the most recently created one.

        Raises:
            AssertionError: the corpus has no ``done`` export.
        """
        if follows_0_6(self):
            exports = [
                export
                for export in self.list_exports()
                if export["state"] == CorpusExportState.Done.value
            ]
            check(
                exports,
                f'No available exports found for the corpus ({self.corpus_id}) with state "Done".',
            )
            return self.download_export(exports[0]["id"])
        exports = sorted(
            (
                export
                for export in self.api_client.paginate("ListExports", id=self.corpus_id)
                if export["state"] == CorpusExportState.Done.value
            ),
            key=lambda export: export["updated"],
            reverse=True,
        )
        check(
            exports,
            f'No available exports found for the corpus ({self.corpus_id}) with state "Done".',
        )
        return self.download_export(exports[0]["id"])

    def list_exports(self, dataset_id: uuid.UUID | None = None) -> list[dict]:
        """List the corpus exports, most recently created first.

        Args:
            dataset_id: only list the exports of this dataset.
        """
        _check_optional_uuid(dataset_id)
        filters = {} if dataset_id is None else {"dataset_id": str(dataset_id)}
        return sorted(
            self.api_client.paginate("ListExports", id=self.corpus_id, **filters),
            key=lambda export: export["created"],
            reverse=True,
        )

    def start_export(self, dataset_id: uuid.UUID | None = None) -> str:
        """Start an export of the corpus, or of one of its datasets.

        When the server already has a running or complete export of the same
        data, the most recent listed export is used instead.

        Returns:
            The ID of the export.
        """
        _check_optional_uuid(dataset_id)
        body = {} if dataset_id is None else {"dataset_id": str(dataset_id)}
        try:
            export = self.api_client.request(
                "StartExport", id=self.corpus_id, body=body
            )
        except ErrorResponse as e:
            detail = _existing_export_detail(e)
            if detail is None:
                raise
            logger.warning(
                f"{detail} Using the existing export rather than starting a new one."
            )
            return self.list_exports(dataset_id=dataset_id)[0]["id"]
        return export["id"]

    @retry(
        retry=retry_if_exception_type(ExportNotFinishedError),
        wait=wait_chain(*[wait_fixed(60)] * 15, wait_fixed(300)),
        stop=stop_after_delay(3 * 60 * 60),
        before_sleep=before_sleep_log(logger, logging.WARNING),
        reraise=True,
    )
    def check_export_status(
        self, export_id: str, dataset_id: uuid.UUID | None = None
    ) -> None:
        """Wait until an export is ``done``, checking it for up to three hours.

        Raises:
            ExportNotFinishedError: the export is still not finished.
            FailedExportError: the export failed.
        """
        for export in self.list_exports(dataset_id=dataset_id):
            if export["id"] != export_id:
                continue
            if export["state"] == CorpusExportState.Done.value:
                return
            if export["state"] == CorpusExportState.Failed.value:
                raise FailedExportError()
            raise ExportNotFinishedError("The SQL export is still in progress")

    def get_export(self, export_id: str, dataset_id: uuid.UUID | None = None) -> Path:
        """Wait for an export to be ``done``, then download it to a temporary file.

        Returns:
            The path of the downloaded SQLite file (``teklia-export-*``).

        Raises:
            ExportNotFinishedError: still not finished after three hours.
            FailedExportError: the export failed.
            NoExportURLError: the server did not redirect to the export file.
        """
        try:
            self.check_export_status(export_id, dataset_id=dataset_id)
        except ExportNotFinishedError:
            logger.error(
                f"After 3 hours, the SQL export ({export_id}) is still in either the `created` or `running` state.\n"
                "Aborting this process. Once the SQL export is finished you may retry it."
            )
            raise
        except FailedExportError:
            logger.error(
                f"The SQL export ({export_id}) is in the `failed` state. Select another export or start a new one."
            )
            raise
        return self._download_export_file(export_id)

    def _download_export_file(self, export_id: str | uuid.UUID) -> Path:
        """Download an export's file (its redirect's ``Location``) to a temporary file.

        Under generation 0.6, an error answer is a `NoExportURLError` too, and
        the file follows upstream's retries (`EXPORT_RETRY_0_6`: any failure, 3
        attempts, 10 s waits).
        """
        logger.info(f"Downloading export ({export_id})...")
        url = self.api_client.build_url("DownloadExport", id=export_id)
        try:
            response = http_client(self.api_client).http_request(
                "GET", url, allow_redirects=False
            )
        except requests.HTTPError as e:
            if not follows_0_6(self) or e.response is None:
                raise
            raise NoExportURLError(
                f"Failed to load S3 Url to download the export from {url}: {e.response!r}"
            ) from e
        location = response.headers.get("Location")
        if not location:
            raise NoExportURLError(
                f"Failed to load S3 Url to download the export from {url}: {response!r}"
            )

        fd, name = tempfile.mkstemp(prefix="teklia-export-")
        os.close(fd)
        path = Path(name)
        try:
            _download(location, path, EXPORT_RETRY_0_6 if follows_0_6(self) else None)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        logger.info(f"Downloaded export ({export_id}) @ `{path.name}`")
        return path


def _existing_export_detail(error: ErrorResponse) -> str | None:
    """Detail of a 400 meaning "an export of the same data exists", else ``None``."""
    if error.status_code != 400 or not isinstance(error.content, dict):
        return None
    errors = error.content.get("errors")
    if not errors or not isinstance(errors, list) or not isinstance(errors[0], dict):
        return None
    if errors[0].get("code") not in EXISTING_EXPORT_CODES:
        return None
    return errors[0].get("detail")
