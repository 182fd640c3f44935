"""TranscriptionMixin: create and list transcriptions (spec 08)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from arkindex_worker import logger
from arkindex_worker.cache import (
    CachedElement,
    CachedImage,
    CachedTranscription,
    cache_write,
    insert_rows,
)
from arkindex_worker.offline_records import offline_rows
from arkindex_worker.types import ElementLike
from arkindex_worker.utils import DEFAULT_BATCH_SIZE, batch_publication, make_batches
from arkindex_worker.validation import (
    check,
    check_confidence,
    check_polygon,
    check_source_filter,
    check_str,
    item_prefix,
)
from arkindex_worker.worker.listing import where_source
from arkindex_worker.worker.rules06 import check_element_argument, uses_cache

__all__ = ["TextOrientation", "TranscriptionMixin"]


class TextOrientation(Enum):
    """Orientation of a transcription's text."""

    HorizontalLeftToRight = "horizontal-lr"
    """Lines top to bottom, text left to right (the default)."""
    HorizontalRightToLeft = "horizontal-rl"
    """Lines top to bottom, text right to left."""
    VerticalRightToLeft = "vertical-rl"
    """Columns right to left, text top to bottom."""
    VerticalLeftToRight = "vertical-lr"
    """Columns left to right, text top to bottom."""


def _check_orientation(orientation: Any, prefix: str = "") -> None:
    check(
        orientation and isinstance(orientation, TextOrientation),
        f"{prefix}orientation shouldn't be null and should be of type TextOrientation",
    )


def _checked_copies(transcriptions: Any, *, with_polygon: bool) -> list[dict]:
    """Validated shallow copies of the items, each with ``orientation`` as a value.

    Items of ``create_transcriptions`` carry an ``element_id``; those of
    ``create_element_transcriptions`` a ``polygon`` and an ``element_confidence``.
    """
    check(
        transcriptions and isinstance(transcriptions, list),
        "transcriptions shouldn't be null and should be of type list",
    )
    copies = [dict(item) for item in transcriptions]
    for index, item in enumerate(copies):
        prefix = item_prefix("Transcription", index, "transcriptions")
        if not with_polygon:
            check_str(item.get("element_id"), "element_id", prefix=prefix)
        check_str(item.get("text"), "text", prefix=prefix)
        check_confidence(item.get("confidence"), required=True, prefix=prefix)
        orientation = item.get("orientation", TextOrientation.HorizontalLeftToRight)
        _check_orientation(orientation, prefix)
        item["orientation"] = orientation.value
        if with_polygon:
            check_polygon(item.get("polygon"), prefix=prefix)
            check_confidence(
                item.get("element_confidence"),
                required=False,
                message="element_confidence should be either null or a float in [0..1] range",
                prefix=prefix,
            )
    return copies


def _cached_image_id(element: ElementLike) -> Any:
    """Image ID of ``element`` for cache rows; caches the image of an ``Element``."""
    if isinstance(element, CachedElement):
        return element.image_id
    zone = element.get("zone")
    if not zone or not zone.get("image"):
        return None
    image = zone["image"]
    CachedImage.get_or_create(
        id=image["id"],
        defaults={
            "width": image["width"],
            "height": image["height"],
            "url": image["url"],
        },
    )
    return image["id"]


class TranscriptionMixin:
    """Create and list transcriptions."""

    def create_transcription(
        self,
        element: ElementLike,
        text: str,
        confidence: float,
        orientation: TextOrientation = TextOrientation.HorizontalLeftToRight,
    ) -> dict[str, Any] | None:
        """Create a transcription on an element.

        Returns:
            The created transcription, or ``None`` in read-only mode.
        """
        check_element_argument(self, element)
        check_str(text, "text")
        _check_orientation(orientation)
        check_confidence(confidence, required=True)
        if self.skip_publication(
            "Cannot create transcription as this worker is in read-only mode"
        ):
            return None

        created = self.api_client.request(
            "CreateTranscription",
            id=element.id,
            body={
                "text": text,
                "worker_run_id": self.worker_run_id,
                "confidence": confidence,
                "orientation": orientation.value,
            },
        )
        if uses_cache(self):
            with cache_write("transcription"):
                self._cache_transcriptions([{**created, "element_id": element.id}])
        return created

    @batch_publication
    def create_transcriptions(
        self,
        transcriptions: list[dict[str, str | float | TextOrientation | None]],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[dict[str, Any]] | None:
        """Create transcriptions on several elements, in batches.

        Args:
            transcriptions: dicts with ``element_id``, ``text``, ``confidence`` and
                an optional ``orientation`` (a [TextOrientation][arkindex_worker.worker.transcription.TextOrientation]).
            batch_size: maximum number of transcriptions sent per request.

        Returns:
            The created transcriptions, or ``None`` in read-only mode.
        """
        copies = _checked_copies(transcriptions, with_polygon=False)
        if self.skip_publication(
            "Cannot create transcription as this worker is in read-only mode"
        ):
            return None

        created = [
            transcription
            for batch in make_batches(copies, "transcription", batch_size)
            for transcription in self.api_client.request(
                "CreateTranscriptions",
                body={"worker_run_id": self.worker_run_id, "transcriptions": batch},
            )["transcriptions"]
        ]
        if uses_cache(self):
            with cache_write("transcriptions"):
                self._cache_transcriptions(created)
        return created

    @batch_publication
    def create_element_transcriptions(
        self,
        element: ElementLike,
        sub_element_type: str,
        transcriptions: list[dict[str, Any]],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[dict[str, str | bool]] | None:
        """Create sub-elements of ``element`` from polygons, each with a transcription.

        The server reuses an existing sub-element with the same polygon.

        Args:
            element: the parent element.
            sub_element_type: slug of the type of the sub-elements.
            transcriptions: dicts with ``polygon``, ``text``, ``confidence`` and the
                optional ``orientation`` and ``element_confidence``.
            batch_size: maximum number of transcriptions sent per request.

        Returns:
            One ``{"id", "element_id", "created"}`` dict per item, or ``None`` in
            read-only mode.
        """
        check_element_argument(self, element)
        check_str(sub_element_type, "sub_element_type")
        copies = _checked_copies(transcriptions, with_polygon=True)
        if self.skip_publication(
            "Cannot create transcriptions as this worker is in read-only mode"
        ):
            return None

        annotations = [
            annotation
            for batch in make_batches(copies, "transcription", batch_size)
            for annotation in self.api_client.request(
                "CreateElementTranscriptions",
                id=element.id,
                body={
                    "element_type": sub_element_type,
                    "worker_run_id": self.worker_run_id,
                    "transcriptions": batch,
                    "return_elements": True,
                },
            )
        ]
        for annotation in annotations:
            if annotation["created"]:
                logger.debug(
                    f"A sub_element of {element.id} with type {sub_element_type} "
                    "was created during transcriptions bulk creation"
                )
        if uses_cache(self):
            self._cache_element_transcriptions(
                element, sub_element_type, transcriptions, annotations
            )
        return annotations

    def _cache_transcriptions(self, transcriptions: Iterable[dict[str, Any]]) -> None:
        insert_rows(
            CachedTranscription,
            (
                {
                    "id": transcription["id"],
                    "element_id": transcription["element_id"],
                    "text": transcription["text"],
                    "confidence": transcription["confidence"],
                    "orientation": transcription["orientation"],
                    "worker_run_id": self.worker_run_id,
                }
                for transcription in transcriptions
            ),
        )

    def _cache_element_transcriptions(
        self,
        parent: ElementLike,
        sub_element_type: str,
        items: list[dict[str, Any]],
        annotations: list[dict[str, Any]],
    ) -> None:
        """Cache the missing sub-elements, then every created transcription."""
        missing: dict[str, dict[str, Any]] = {}  # element ID -> its first item
        seen: set[str] = set()
        transcriptions = []
        for item, annotation in zip(items, annotations):
            element_id = annotation["element_id"]
            if element_id not in seen:
                seen.add(element_id)
                if not _cached_element_exists(element_id):
                    missing[element_id] = item
            orientation = item.get("orientation", TextOrientation.HorizontalLeftToRight)
            transcriptions.append(
                {
                    "id": annotation["id"],
                    "element_id": element_id,
                    "text": item["text"],
                    "confidence": item["confidence"],
                    "orientation": orientation.value,
                }
            )
        image_id = _cached_image_id(parent) if missing else None
        elements = [
            {
                "id": element_id,
                "parent_id": parent.id,
                "type": sub_element_type,
                "image_id": image_id,
                "polygon": item["polygon"],
                "worker_run_id": self.worker_run_id,
                "confidence": item.get("element_confidence"),
            }
            for element_id, item in missing.items()
        ]
        with cache_write("transcriptions"):
            if elements:
                insert_rows(CachedElement, elements)
            if transcriptions:
                self._cache_transcriptions(transcriptions)

    def list_transcriptions(
        self,
        element: ElementLike,
        element_type: str | None = None,
        recursive: bool | None = None,
        worker_version: str | bool | None = None,
        worker_run: str | bool | None = None,
    ) -> Iterable[dict[str, Any]] | Iterable[CachedTranscription]:
        """List the transcriptions of an element (and of its descendants).

        Args:
            element: the element.
            element_type: only transcriptions of elements of this type.
            recursive: include the transcriptions of all descendants.
            worker_version: deprecated, use ``worker_run``.
            worker_run: only transcriptions of this worker run (a str), or manual
                ones (``False``).

        Returns:
            An API paginator of transcription dicts, or a peewee query on
            [CachedTranscription][arkindex_worker.cache.CachedTranscription] when
            the cache is used.
        """
        check_element_argument(self, element)
        query: dict[str, Any] = {}
        if element_type:
            check(isinstance(element_type, str), "element_type should be of type str")
            query["element_type"] = element_type
        if recursive is not None:
            check(isinstance(recursive, bool), "recursive should be of type bool")
            query["recursive"] = recursive
        check_source_filter(
            worker_version, "worker_version", deprecated_for="worker_run"
        )
        check_source_filter(worker_run, "worker_run")
        for name, value in (
            ("worker_version", worker_version),
            ("worker_run", worker_run),
        ):
            if value is not None:
                query[name] = value

        if not uses_cache(self):
            return self.api_client.paginate(
                "ListTranscriptions", id=element.id, **query
            )
        return offline_rows(
            self,
            _cached_transcriptions(
                element, element_type, recursive, worker_version, worker_run
            ),
        )


def _cached_element_exists(element_id: str) -> bool:
    try:
        CachedElement.get_by_id(element_id)
    except CachedElement.DoesNotExist:
        return False
    return True


def _cached_transcriptions(
    element: ElementLike,
    element_type: str | None,
    recursive: bool | None,
    worker_version: str | bool | None,
    worker_run: str | bool | None,
):
    """The cache query behind ``list_transcriptions``."""
    if recursive:
        base = (
            CachedElement.select(CachedElement.id, CachedElement.type)
            .where(CachedElement.id == element.id)
            .cte("descendants", recursive=True)
        )
        child = CachedElement.alias()
        # UNION, not UNION ALL: a parent cycle in a cache must not loop forever
        descendants = base.union(
            child.select(child.id, child.type).join(
                base, on=(child.parent_id == base.c.id)
            )
        )
        query = (
            CachedTranscription.select()
            .join(descendants, on=(CachedTranscription.element == descendants.c.id))
            .with_cte(descendants)
        )
        if element_type:
            query = query.where(descendants.c.type == element_type)
    elif element_type and element_type != element.type:
        return CachedTranscription.select().where(False)
    else:
        query = CachedTranscription.select().where(
            CachedTranscription.element == element.id
        )

    return where_source(query, CachedTranscription, worker_version, worker_run)
