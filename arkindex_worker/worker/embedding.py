"""EmbeddingMixin: vector embeddings of elements (spec 15 §13, both generations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from arkindex_worker.cache import CachedElement
from arkindex_worker.models import Element
from arkindex_worker.validation import check, check_element
from arkindex_worker.worker.rules06 import (
    ELEMENT_ONLY_TYPE,
    follows_0_6,
    unsupported_cache,
)

__all__ = ["EmbeddingMixin"]


def _check_element(worker: Any, element: Any) -> None:
    # Generation 0.4 also takes a cached element, as its other helpers do.
    types = Element if follows_0_6(worker) else (Element, CachedElement)
    check_element(element, types, ELEMENT_ONLY_TYPE)


class EmbeddingMixin:
    """Create and list the embeddings (vectors of floats) of elements."""

    @unsupported_cache
    def create_embedding(self, element: Element, value: list[float]) -> dict | None:
        """Store an embedding of an element.

        Args:
            element: the element.
            value: the vector, a non-empty list of floats (ints are refused).

        Returns:
            The created embedding (``id``, ``created``, ``updated``,
            ``worker_run``, ``value``), or ``None`` in read-only mode.
        """
        _check_element(self, element)
        check(
            value and isinstance(value, list),
            "value shouldn't be null and should be a list",
        )
        for index, point in enumerate(value):
            check(
                isinstance(point, float),
                f"Point at index {index} in value: Should be of type float",
            )
        if self.skip_publication(
            "Cannot create embedding as this worker is in read-only mode",
            available_offline=False,
        ):
            return None
        return self.api_client.request(
            "CreateEmbedding",
            id=element.id,
            body={"worker_run_id": self.worker_run_id, "value": value},
        )

    def list_embeddings(self, element: Element) -> Iterator[dict]:
        """List the embeddings of an element, lazily (always from the API)."""
        _check_element(self, element)
        return self.api_client.paginate("ListEmbeddings", id=element.id)
