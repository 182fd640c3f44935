"""Process modes, activity states and the listing of a process's elements."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum

from arkindex_worker.worker.rules06 import follows_0_6, unsupported_cache

__all__ = [
    "PROCESS_ELEMENTS_PAGE_SIZE",
    "ActivityState",
    "ProcessMixin",
    "ProcessMode",
]

PROCESS_ELEMENTS_PAGE_SIZE = 500
"""Number of elements per page when listing a process's elements."""


class ActivityState(Enum):
    """Processing state of one element for one worker run."""

    Queued = "queued"
    """Not processed yet."""

    Started = "started"
    """Being processed."""

    Processed = "processed"
    """Processed successfully."""

    Error = "error"
    """Processing failed."""


class ProcessMode(Enum):
    """Mode of the process running the worker."""

    Files = "files"
    """Import of files (images, PDFs, IIIF manifests…)."""

    Workers = "workers"
    """Execution of workers."""

    Template = "template"
    """Process template."""

    S3 = "s3"
    """Import from S3-compatible storage."""

    Local = "local"
    """Local process."""

    Dataset = "dataset"
    """Dataset process: workers are fed with dataset sets."""

    Export = "export"
    """Export process."""


class ProcessMixin:
    """Helpers about the process the worker runs in."""

    @unsupported_cache
    def list_process_elements(self, with_image: bool = False) -> Iterator[dict]:
        """List the elements of the worker's process, lazily.

        Pages that keep failing are skipped rather than stopping the listing.

        Args:
            with_image: also return the image fields and polygon of each element.

        Returns:
            A paginator over raw element dicts (``id``, ``type_id``, ``name``,
            ``confidence``, ``image_id``, ``image_url``, ``polygon``, …).
        """
        # Generation 0.6 sends with_image only when true (spec 15 §11)
        image = (
            {"with_image": with_image} if with_image or not follows_0_6(self) else {}
        )
        return self.api_client.paginate(
            "ListProcessElements",
            id=self.process_information["id"],
            **image,
            allow_missing_data=True,
            page_size=PROCESS_ELEMENTS_PAGE_SIZE,
        )
