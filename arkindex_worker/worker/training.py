"""Publication of trained models as new model versions (secondary)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NewType

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.utils import close_delete_file, create_tar_zst_archive
from arkindex_worker.validation import check
from arkindex_worker.worker.read_only import skip_if_read_only
from arkindex_worker.worker.task import _put_file

__all__ = [
    "DirPath",
    "FileSize",
    "Hash",
    "TrainingMixin",
    "build_clean_payload",
    "create_archive",
    "skip_if_read_only",
]

DirPath = NewType("DirPath", Path)
"""Path to a directory."""

Hash = NewType("Hash", str)
"""MD5 hash, as hexadecimal digits."""

FileSize = NewType("FileSize", int)
"""File size in bytes."""


@contextmanager
def create_archive(path: DirPath) -> Iterator[tuple[Path, Hash, FileSize, Hash]]:
    """Build a ``.tar.zst`` archive of a directory, deleted on exit.

    Yields:
        The archive path, the content hash of the directory, the archive size in
        bytes and the archive's MD5 (note: content hash second, archive hash last).

    Raises:
        AssertionError: ``path`` is not a directory.
    """
    check(path.is_dir(), "create_archive needs a directory")
    zst_fd, zst_path, zst_hash, content_hash = create_tar_zst_archive(source=path)
    try:
        yield zst_path, content_hash, zst_path.stat().st_size, zst_hash
    finally:
        close_delete_file(zst_fd, zst_path)


def build_clean_payload(**kwargs: Any) -> dict:
    """The keyword arguments whose value is not ``None``."""
    return {key: value for key, value in kwargs.items() if value is not None}


class TrainingMixin:
    """Helpers to publish a trained model as a new version of an Arkindex model."""

    model_version = None
    """The model version being handled (API payload), once created or retrieved."""

    @property
    def is_finetuning(self) -> bool:
        """Whether the worker runs with a model version to fine-tune."""
        return bool(self.model_version_id)

    @skip_if_read_only
    def publish_model_version(
        self,
        model_path: DirPath,
        model_id: str,
        tag: str | None = None,
        description: str | None = None,
        configuration: dict | None = None,
        parent: str | None = None,
    ) -> None:
        """Create or update a model version, upload the model's archive and validate it.

        Args:
            model_path: directory holding the model files.
            model_id: ID of the model.
            tag: tag of the version.
            description: description of the version.
            configuration: configuration of the version.
            parent: ID of the parent version.
        """
        configuration = configuration or {}
        attributes = {
            "tag": tag,
            "description": description,
            "configuration": configuration,
            "parent": parent,
        }
        if not self.model_version:
            self.create_model_version(model_id=model_id, **attributes)
        elif any(attributes.values()):
            check(
                self.model_version.get("model_id") == model_id,
                "Given `model_id` does not match the current model version",
            )
            self.update_model_version(**attributes)

        with create_archive(path=model_path) as (
            archive_path,
            content_hash,
            size,
            archive_hash,
        ):
            self.upload_to_s3(archive_path=archive_path)
            pending_id = self.model_version["id"]
            self.validate_model_version(
                size=size, hash=content_hash, archive_hash=archive_hash
            )
            if self.model_version["id"] != pending_id and any(attributes.values()):
                logger.warning(
                    "Updating the existing available model version with the given attributes."
                )
                self.update_model_version(**attributes)

    @skip_if_read_only
    def create_model_version(
        self,
        model_id: str,
        tag: str | None = None,
        description: str | None = None,
        configuration: dict | None = None,
        parent: str | None = None,
    ) -> None:
        """Create a new version of a model and make it the current one.

        Raises:
            AssertionError: a model version was already created.
        """
        check(not self.model_version, "A model version has already been created.")
        configuration = configuration or {}
        self.model_version = self.api_client.request(
            "CreateModelVersion",
            id=model_id,
            body=build_clean_payload(
                tag=tag,
                description=description,
                configuration=configuration,
                parent=parent,
            ),
        )
        logger.info(
            f"Model version ({self.model_version['id']}) was successfully created"
        )

    @skip_if_read_only
    def update_model_version(
        self,
        tag: str | None = None,
        description: str | None = None,
        configuration: dict | None = None,
        parent: str | None = None,
    ) -> None:
        """Update the current model version (``None`` attributes are left unchanged).

        Raises:
            AssertionError: no model version was created yet.
        """
        check(self.model_version, "No model version has been created yet.")
        self.model_version = self.api_client.request(
            "UpdateModelVersion",
            id=self.model_version["id"],
            body=build_clean_payload(
                tag=tag,
                description=description,
                configuration=configuration,
                parent=parent,
            ),
        )
        logger.info(
            f"Model version ({self.model_version['id']}) was successfully updated"
        )

    @skip_if_read_only
    def upload_to_s3(self, archive_path: Path) -> None:
        """Upload a model archive to the storage URL of the current model version.

        Raises:
            AssertionError: no model version, already available, or no upload URL.
            requests.HTTPError: the storage refused the file.
        """
        check(
            self.model_version,
            "You must create the model version before uploading an archive.",
        )
        check(
            str(self.model_version["state"]).lower() != "available",
            "The model is already marked as available.",
        )
        s3_put_url = self.model_version.get("s3_put_url")
        check(
            s3_put_url,
            "S3 PUT URL is not set, please ensure you have the right to validate a model version.",
        )
        logger.info("Uploading to s3...")
        _put_file(self.api_client, s3_put_url, archive_path, "application/zstd")

    @skip_if_read_only
    def validate_model_version(self, hash: str, size: int, archive_hash: str) -> None:
        """Mark the current model version as available, with its archive's hashes and size.

        When an available version with the same hash exists, the pending version
        is deleted and the existing one becomes the current one.

        Args:
            hash: content hash of the model files.
            size: archive size in bytes.
            archive_hash: MD5 of the archive.
        """
        check(
            self.model_version,
            "You must create the model version and upload its archive before validating it.",
        )
        try:
            self.model_version = self.api_client.request(
                "PartialUpdateModelVersion",
                id=self.model_version["id"],
                body={
                    "state": "available",
                    "size": size,
                    "hash": hash,
                    "archive_hash": archive_hash,
                },
            )
        except ErrorResponse as e:
            existing = e.content
            if not isinstance(existing, dict) or not existing.get("id"):
                raise
            logger.warning(
                f"An available model version exists with hash {hash}, using it instead of the pending version."
            )
            self._use_existing_model_version(existing["id"])
        logger.info(f"Model version {self.model_version['id']} is now available.")

    def _use_existing_model_version(self, existing_ids: list | str) -> None:
        """Delete the pending model version and load the existing one instead."""
        pending_id = self.model_version["id"]
        logger.warning("Removing the pending model version.")
        try:
            self.api_client.request("DestroyModelVersion", id=pending_id)
        except ErrorResponse as e:
            logger.error(
                f"An error occurred removing the pending version {pending_id}: {e.content}."
            )

        existing_id = (
            existing_ids[-1] if isinstance(existing_ids, list) else existing_ids
        )
        logger.info("Retrieving the existing model version.")
        try:
            self.model_version = self.api_client.request(
                "RetrieveModelVersion", id=existing_id
            )
        except ErrorResponse as e:
            logger.error(
                f"An error occurred retrieving the existing version {existing_id}: {e.status_code} - {e.content}."
            )
            raise
