"""MetaDataMixin: create and list element metadata (spec 11).

Metadata are never stored in the local cache.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from arkindex_worker.types import ElementLike
from arkindex_worker.utils import DEFAULT_BATCH_SIZE, batch_publication, make_batches
from arkindex_worker.validation import (
    ELEMENT_OR_CACHED_TYPE,
    check,
    check_element_or_cached,
    check_str,
)
from arkindex_worker.worker.rules06 import (
    ELEMENT_ONLY_TYPE,
    check_element_argument,
    follows_0_6,
    unsupported_cache,
)

__all__ = ["MetaDataMixin", "MetaType"]

READ_ONLY_MESSAGE = "Cannot create metadata as this worker is in read-only mode"


class MetaType(Enum):
    """Type of a metadata, telling how the server reads its value."""

    Text = "text"
    """A plain string."""
    HTML = "html"
    """A string holding HTML (the server restricts the allowed tags)."""
    Date = "date"
    """A string holding a date (ISO 8601 ``YYYY-MM-DD`` expected)."""
    Location = "location"
    """A string naming a place."""
    Reference = "reference"
    """A string holding an external identifier of the element."""
    Numeric = "numeric"
    """A floating-point number."""
    URL = "url"
    """A string holding an ``http``/``https`` URL."""
    Markdown = "markdown"
    """A string holding Markdown (added for 0.6 compatibility)."""


def _check_type(value: Any) -> None:
    check(
        value and isinstance(value, MetaType),
        "type shouldn't be null and should be of type MetaType",
    )


def _check_element(worker: Any, element: Any) -> None:
    check_element_argument(
        worker,
        element,
        ELEMENT_ONLY_TYPE,
        lambda value: check_element_or_cached(value, ELEMENT_OR_CACHED_TYPE),
    )


def _checked_metadata(
    metadata_list: Any, *, with_entity: bool = True
) -> list[dict[str, Any]]:
    """New dicts ready to send, built from the validated items.

    Without ``with_entity`` (generation 0.6), items carry no ``entity_id``.
    """
    check(
        metadata_list and isinstance(metadata_list, list),
        "metadata_list shouldn't be null and should be of type list of dict",
    )
    metas = []
    for index, item in enumerate(metadata_list):
        check(
            isinstance(item, dict),
            f"Element at index {index} in metadata_list: Should be of type dict",
        )
        _check_type(item.get("type"))
        check_str(item.get("name"), "name")
        value = item.get("value")
        check(
            value is not None and isinstance(value, str | float | int),
            "value shouldn't be null and should be of type (str or float or int)",
        )
        meta = {"type": item["type"].value, "name": item["name"], "value": value}
        if with_entity:
            entity_id = item.get("entity_id")
            check(
                entity_id is None or isinstance(entity_id, str),
                "entity_id should be None or a str",
            )
            meta["entity_id"] = entity_id
        metas.append(meta)
    return metas


class MetaDataMixin:
    """Create and list the metadata of elements."""

    @unsupported_cache
    def create_metadata(
        self,
        element: ElementLike,
        type: MetaType,
        name: str,
        value: str,
        entity: str | None = None,
    ) -> str | None:
        """Create a metadata on an element.

        Args:
            element: the element.
            type: type of the metadata.
            name: name of the metadata.
            value: its value, always a non-empty string here.
            entity: ID of an entity the metadata refers to (generation 0.4
                only: 0.6 has no such parameter, a value raises `TypeError`).

        Returns:
            The ID of the created metadata, or ``None`` in read-only mode.
        """
        modern = follows_0_6(self)
        if modern and entity is not None:
            raise TypeError(
                "create_metadata() got an unexpected keyword argument 'entity'"
            )
        _check_element(self, element)
        _check_type(type)
        check_str(name, "name")
        check_str(value, "value")
        if entity:
            check(isinstance(entity, str), "entity should be of type str")
        if self.skip_publication(READ_ONLY_MESSAGE):
            return None

        body = {"type": type.value, "name": name, "value": value}
        if not modern:
            body["entity_id"] = entity
        body["worker_run_id"] = self.worker_run_id
        created = self.api_client.request("CreateMetaData", id=element.id, body=body)
        return created["id"]

    @unsupported_cache
    @batch_publication
    def create_metadata_bulk(
        self,
        element: ElementLike,
        metadata_list: list[dict[str, MetaType | str | int | float | None]],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[dict[str, Any]] | None:
        """Create several metadata on an element, in batches.

        Args:
            element: the element.
            metadata_list: dicts with ``type`` (a [MetaType][arkindex_worker.worker.metadata.MetaType]), ``name``, ``value``
                (str, int or float) and an optional ``entity_id``; other keys are
                ignored.
            batch_size: maximum number of metadata sent per request.

        Returns:
            The created metadata, or ``None`` in read-only mode.
        """
        _check_element(self, element)
        metas = _checked_metadata(metadata_list, with_entity=not follows_0_6(self))
        if self.skip_publication(READ_ONLY_MESSAGE):
            return None

        return [
            created
            for batch in make_batches(metas, "metadata", batch_size)
            for created in self.api_client.request(
                "CreateMetaDataBulk",
                id=element.id,
                body={"worker_run_id": self.worker_run_id, "metadata_list": batch},
            )["metadata_list"]
        ]

    def list_element_metadata(
        self, element: ElementLike, load_parents: bool | None = None
    ) -> list[dict[str, Any]]:
        """List the metadata of an element (always from the API).

        Args:
            element: the element.
            load_parents: also list the metadata of its ancestors.
        """
        _check_element(self, element)
        query = {}
        if load_parents is not None:
            check(isinstance(load_parents, bool), "load_parents should be of type bool")
            query["load_parents"] = load_parents
        return self.api_client.paginate("ListElementMetaData", id=element.id, **query)
