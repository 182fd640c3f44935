"""Artifacts of Arkindex tasks: list, download and upload them."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from arkindex_worker.api.shared import http_client
from arkindex_worker.models import Artifact
from arkindex_worker.validation import check

if TYPE_CHECKING:
    from arkindex_worker.api import DownloadedFile

__all__ = ["TaskMixin"]


def _put_file(api_client: object, url: str, path: Path, content_type: str) -> None:
    """PUT a file to a pre-signed storage URL (no Arkindex authentication).

    Sent through the API client's session with its retry policy: the same
    file goes to the same URL at each attempt, so an upload whose answer was
    lost is sent again.

    Raises:
        requests.HTTPError: the storage refused the file.
    """
    http_client(api_client).http_request(
        "PUT",
        url,
        data=path,
        headers={"Content-Type": content_type},
        idempotent=True,
    )


def _check_task_id(task_id: uuid.UUID) -> None:
    check(
        task_id and isinstance(task_id, uuid.UUID),
        "task_id shouldn't be null and should be an UUID",
    )


class TaskMixin:
    """Helpers about the artifacts of Arkindex tasks."""

    def list_artifacts(self, task_id: uuid.UUID) -> Iterator[Artifact]:
        """List the artifacts of a task.

        Args:
            task_id: ID of the task (a ``uuid.UUID``, not a string).

        Returns:
            A lazy iterator of [Artifact][arkindex_worker.models.Artifact].
        """
        _check_task_id(task_id)
        return map(Artifact, self.api_client.request("ListArtifacts", id=task_id))

    def download_artifact(
        self, task_id: uuid.UUID, artifact: Artifact
    ) -> DownloadedFile:
        """Download an artifact of a task.

        Args:
            task_id: ID of the task (a ``uuid.UUID``).
            artifact: the artifact, as listed by
                [list_artifacts][arkindex_worker.worker.task.TaskMixin.list_artifacts].

        Returns:
            The downloaded file, opened for reading and deleted when closed.
        """
        _check_task_id(task_id)
        check(
            artifact and isinstance(artifact, Artifact),
            "artifact shouldn't be null and should be an Artifact",
        )
        return self.api_client.request(
            "DownloadArtifact", id=task_id, path=artifact.path
        )

    def upload_artifact(self, path: Path) -> None:
        """Upload a file as an artifact of the current task.

        The artifact's name is ``path`` relative to the working directory; its
        content type is guessed from the file name.

        Raises:
            requests.HTTPError: the storage refused the file.
        """
        check(
            path and isinstance(path, Path) and path.exists(),
            "path shouldn't be null, should be a Path and should exist",
        )
        if self.skip_publication(
            "Cannot upload artifact as this worker is in read-only mode",
            available_offline=False,
        ):
            return
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        artifact = self.api_client.request(
            "CreateArtifact",
            id=self.task_id,
            body={
                "path": path.relative_to(self.work_dir).as_posix(),
                "content_type": content_type,
                "size": path.stat().st_size,
            },
        )
        _put_file(self.api_client, artifact["s3_put_url"], path, content_type)
