"""Publication of trained models as new model versions (secondary)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NewType

from arkindex_worker import generation, logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.utils import close_delete_file, tar_zst_archive
from arkindex_worker.validation import check
from arkindex_worker.worker.read_only import skip_if_read_only
from arkindex_worker.worker.rules06 import follows_0_6
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


# The message of 0.6's create_model_version retry without the tag
TAG_USED = "A version for this model with this tag already exists."


@contextmanager
def create_archive(
    path: DirPath,
) -> Iterator[tuple[Path, Hash, FileSize, Hash] | tuple[Path, FileSize, Hash]]:
    """Build a ``.tar.zst`` archive of a directory, deleted on exit.

    Yields:
        The archive path, the content hash of the directory, the archive size in
        bytes and the archive's MD5 (note: content hash second, archive hash last).
        Under generation 0.6 (`arkindex_worker.generation.current`): the archive
        path, its size and its MD5.

    Raises:
        AssertionError: ``path`` is not a directory.
    """
    with _archive(path) as (zst_path, content_hash, size, zst_hash):
        if generation.current().name == generation.GENERATION_0_6.name:
            yield zst_path, size, zst_hash
        else:
            yield zst_path, content_hash, size, zst_hash


@contextmanager
def _archive(path: Path) -> Iterator[tuple[Path, Hash, FileSize, Hash]]:
    check(path.is_dir(), "create_archive needs a directory")
    zst_fd, zst_path, zst_hash, content_hash = tar_zst_archive(source=path)
    try:
        yield zst_path, content_hash, zst_path.stat().st_size, zst_hash
    finally:
        close_delete_file(zst_fd, zst_path)


def _positional_0_6(*names: str) -> Callable[[Callable], Callable]:
    """Call mapping (spec 15 §12, G4): under generation 0.6, positional arguments
    follow 0.6's order ``names``; ``inspect.signature`` shows the 0.4 one."""

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(self, *args: Any, **kwargs: Any) -> Any:
            if not args or not follows_0_6(self):
                return func(self, *args, **kwargs)
            if len(args) > len(names):
                raise TypeError(
                    f"{func.__name__}() takes {len(names)} positional arguments "
                    f"but {len(args)} were given"
                )
            for name, value in zip(names, args):
                if name in kwargs:
                    raise TypeError(
                        f"{func.__name__}() got multiple values for argument '{name}'"
                    )
                kwargs[name] = value
            return func(self, **kwargs)

        return wrapper

    return decorator


def _is_tag_conflict(error: ErrorResponse) -> bool:
    content = error.content
    return (
        error.status_code == 400
        and isinstance(content, dict)
        and TAG_USED in (content.get("non_field_errors") or [])
    )


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
        if follows_0_6(self):
            self._publish_model_version_0_6(
                model_path, model_id, tag, description, configuration, parent
            )
            return
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

        with _archive(model_path) as (
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

    def _publish_model_version_0_6(
        self,
        model_path: DirPath,
        model_id: str,
        tag: str | None,
        description: str | None,
        configuration: dict,
        parent: str | None,
    ) -> None:
        """0.6's publication (spec 15 §12): archive, create or update, upload."""
        attributes = {
            "tag": tag,
            "description": description,
            "configuration": configuration,
            "parent": parent,
        }
        with _archive(model_path) as (archive, _, size, archive_hash):
            if self.model_version:
                check(
                    self.model_version.get("model_id") == model_id,
                    "Given `model_id` does not match the current model version",
                )
                self.update_model_version(
                    size=size, archive_hash=archive_hash, **attributes
                )
            else:
                self.create_model_version(
                    model_id=model_id,
                    size=size,
                    archive_hash=archive_hash,
                    **attributes,
                )
            self.upload_to_s3(archive)

    @skip_if_read_only
    @_positional_0_6(
        "model_id", "size", "archive_hash", "tag", "description", "configuration",
        "parent",
    )  # fmt: skip
    def create_model_version(
        self,
        model_id: str,
        tag: str | None = None,
        description: str | None = None,
        configuration: dict | None = None,
        parent: str | None = None,
        *,
        size: int | None = None,
        archive_hash: str | None = None,
    ) -> None:
        """Create a new version of a model and make it the current one.

        Under generation 0.6, positional arguments follow 0.6's order
        ``(model_id, size, archive_hash, tag, description, configuration,
        parent)``, and a tag another version uses is dropped with a WARNING.

        Args:
            model_id: ID of the model.
            tag: tag of the version.
            description: description of the version.
            configuration: configuration of the version.
            parent: ID of the parent version.
            size: size of the archive in bytes (sent when given).
            archive_hash: MD5 of the archive (sent when given).

        Raises:
            AssertionError: a model version was already created.
        """
        check(not self.model_version, "A model version has already been created.")
        configuration = configuration or {}
        modern = follows_0_6(self)
        payload = build_clean_payload(
            size=size,
            archive_hash=archive_hash,
            tag=tag,
            description=description,
            configuration=configuration,
            parent=parent,
        )
        try:
            self.model_version = self.api_client.request(
                "CreateModelVersion", id=model_id, body=payload
            )
        except ErrorResponse as e:
            if not modern or not _is_tag_conflict(e):
                raise
            logger.warning(
                f"The `{tag}` tag is already used by another version for this model, "
                "publication will be retried without it."
            )
            payload.pop("tag", None)
            self.model_version = self.api_client.request(
                "CreateModelVersion", id=model_id, body=payload
            )
        period = "." if modern else ""
        logger.info(
            f"Model version ({self.model_version['id']}) was successfully created{period}"
        )

    @skip_if_read_only
    @_positional_0_6(
        "size", "archive_hash", "tag", "description", "configuration", "parent"
    )
    def update_model_version(
        self,
        tag: str | None = None,
        description: str | None = None,
        configuration: dict | None = None,
        parent: str | None = None,
        *,
        size: int | None = None,
        archive_hash: str | None = None,
    ) -> None:
        """Update the current model version (``None`` attributes are left unchanged).

        Under generation 0.6, positional arguments follow 0.6's order
        ``(size, archive_hash, tag, description, configuration, parent)``.

        Raises:
            AssertionError: no model version was created yet.
        """
        check(self.model_version, "No model version has been created yet.")
        self.model_version = self.api_client.request(
            "UpdateModelVersion",
            id=self.model_version["id"],
            body=build_clean_payload(
                size=size,
                archive_hash=archive_hash,
                tag=tag,
                description=description,
                configuration=configuration,
                parent=parent,
            ),
        )
        period = "." if follows_0_6(self) else ""
        logger.info(
            f"Model version ({self.model_version['id']}) was successfully updated{period}"
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
        modern = follows_0_6(self)
        if modern:
            check(
                self.model_version["state"] != "Available",
                "The model version is already marked as available.",
            )
        else:
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
        if modern:
            # Single-part upload, then the version is made available (spec 15 §12)
            self.model_version = self.api_client.request(
                "PartialUpdateModelVersion",
                id=self.model_version["id"],
                body={"state": "available"},
            )
            logger.info(
                f"Model version ({self.model_version['id']}) archive was "
                "successfully uploaded and is now available."
            )

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
