"""ElementMixin: element creation, listing and type checks (spec 07).

The type checks (`check_required_types` and the other element-type helpers)
are in `arkindex_worker.worker.element_types`, whose
[ElementTypesMixin][arkindex_worker.worker.element_types.ElementTypesMixin] is
the base of `ElementMixin`; their names are importable from here too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from typing import Any

from peewee import ModelSelect

from arkindex_worker.cache import CachedElement, CachedImage, cache_write, insert_rows
from arkindex_worker.errors import MissingElementType, MissingTypeError
from arkindex_worker.models import Element
from arkindex_worker.offline_records import offline_rows
from arkindex_worker.types import ElementLike, Polygon
from arkindex_worker.utils import DEFAULT_BATCH_SIZE, batch_publication, make_batches
from arkindex_worker.validation import (
    check,
    check_confidence,
    check_element,
    check_polygon,
    check_str,
    check_uuid,
    is_element,
    item_prefix,
)
from arkindex_worker.worker.configuration import open_text_file
from arkindex_worker.worker.element_types import (
    ElementType,
    ElementTypesMixin,
    slugify,
)
from arkindex_worker.worker.listing import filter_cached_elements, listing_query
from arkindex_worker.worker.rules06 import (
    check_element_argument,
    follows_0_6,
    unsupported_cache,
    uses_cache,
)

__all__ = [
    "ElementMixin",
    "ElementType",
    "MissingElementType",
    "MissingTypeError",
    "slugify",
]


# Columns `partial_update_element` may write to; other keywords only go to the API.
_UPDATABLE_COLUMNS = {
    "type",
    "polygon",
    "confidence",
    "rotation_angle",
    "mirrored",
    "image",
}


def _check_element_item(index: int, element: Any) -> None:
    """Check item ``index`` of the ``elements`` list of `create_elements`."""
    prefix = item_prefix("Element", index, "elements")
    check(isinstance(element, dict), prefix + "Should be of type dict")
    check_str(element.get("name"), "name", prefix=prefix)
    check_str(element.get("type"), "type", prefix=prefix)
    check_polygon(element.get("polygon"), prefix=prefix)
    check_confidence(element.get("confidence"), required=False, prefix=prefix)


def check_element_id(element_id: Any) -> None:
    """The check of `ElementMixin.retrieve_element` on its argument."""
    check(
        element_id and isinstance(element_id, str | uuid.UUID),
        "element_id shouldn't be null and should be of type str",
    )


def valid_element_id(element_id: Any) -> bool:
    """Whether `check_element_id` accepts ``element_id``."""
    try:
        check_element_id(element_id)
    except AssertionError:
        return False
    return True


class ElementMixin(ElementTypesMixin):
    """Create, update and list elements; check the corpus's element types.

    The element-type helpers (`list_corpus_types`, `check_required_types`,
    `create_required_types`, `create_element_type`) come from
    [ElementTypesMixin][arkindex_worker.worker.element_types.ElementTypesMixin].
    """

    def add_arguments(self) -> None:
        """Add ``--elements-list``, ``--element`` and the queue options."""
        self.parser.add_argument(
            "--elements-list",
            help="JSON elements list to use",
            type=open_text_file,
            default=os.environ.get("TASK_ELEMENTS"),
        )
        self.parser.add_argument(
            "--element",
            type=str,
            nargs="+",
            help="One or more Arkindex element ID",
        )
        self.parser.add_argument(
            "--no-elements-list",
            dest="consume_worker_activities",
            action="store_true",
            default=os.environ.get("SKIP_TASK_ELEMENTS") is not None,
            help="Pull the elements to process from the worker activity queue",
        )
        self.parser.add_argument(
            "--no-worker-activity",
            action="store_true",
            default=False,
            help="Never update worker activities",
        )
        super().add_arguments()

    @property
    def consume_worker_activities(self) -> bool:
        """Whether the elements to process come from the worker activity queue.

        From the process's ``skip_elements_json`` when a worker run is loaded (a
        missing value means "inside an Arkindex task"), else from
        ``--no-elements-list``.
        """
        if self.process_information is not None:
            skip = self.process_information.get("skip_elements_json")
            if skip is None:
                # Generation 0.6: "is not False", whatever PONOS_TASK (15 §3.1)
                return self.task_id is not None or follows_0_6(self)
            return bool(skip)
        return getattr(self.args, "consume_worker_activities", False)

    # Publication

    def retrieve_element(self, element_id: str | uuid.UUID) -> dict:
        """Fetch one element from the API, as a dict."""
        check_element_id(element_id)
        return self.api_client.request("RetrieveElement", id=element_id)

    @unsupported_cache
    def create_sub_element(
        self,
        element: Element,
        type: str,
        name: str,
        polygon: Polygon | None = None,
        confidence: float | None = None,
        image: str | None = None,
        slim_output: bool = True,
    ) -> str | dict | None:
        """Create a child element of ``element``.

        Args:
            element: the parent element.
            type: slug of the element type.
            name: name of the new element.
            polygon: its polygon; required when the parent has no image and no
                ``image`` is given.
            confidence: optional confidence in ``[0, 1]``.
            image: ID of the image to put the element on (defaults to the parent's).
            slim_output: return only the new element's ID.

        Returns:
            The new element's ID (or the whole dict without ``slim_output``);
            ``None`` in read-only mode.
        """
        check_element(
            element, Element, "element shouldn't be null and should be of type Element"
        )
        check_str(type, "type")
        check_str(name, "name")
        if polygon is not None:
            check_polygon(polygon, container_message="polygon should be None or a list")
        check_confidence(confidence, required=False)
        check(image is None or isinstance(image, str), "image should be None or string")
        if image is not None:
            check_uuid(image, "image is not a valid uuid.")
        if polygon and image is None:
            check(
                element.zone,
                "An image or a parent with an image is required to create an element with a polygon.",
            )
        check(isinstance(slim_output, bool), "slim_output should be of type bool")

        if self.skip_publication(
            "Cannot create element as this worker is in read-only mode"
        ):
            return None

        created = self.api_client.request(
            "CreateElement",
            body={
                "type": type,
                "name": name,
                "image": image,
                "corpus": element.corpus.id,
                "polygon": polygon,
                "parent": element.id,
                "worker_run_id": self.worker_run_id,
                "confidence": confidence,
            },
        )
        return created["id"] if slim_output else created

    @batch_publication
    def create_elements(
        self,
        parent: ElementLike,
        elements: list[dict[str, Any]],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[dict[str, str]] | None:
        """Create child elements of ``parent`` in bulk, on the parent's image.

        Args:
            parent: the parent element; it must have an image.
            elements: dicts with ``name``, ``type`` (slug), ``polygon`` and an
                optional ``confidence``, sent as they are.
            batch_size: number of elements per request.

        Returns:
            One ``{"id": …}`` per element, in order; ``None`` in read-only mode.
        """
        if follows_0_6(self) and not isinstance(parent, Element):
            raise TypeError("Parent element should be an Element instance")
        if isinstance(parent, Element):
            check(
                parent.get("zone"),
                "create_elements cannot be used on parents without zones",
            )
        elif isinstance(parent, CachedElement):
            check(
                parent.image_id,
                "create_elements cannot be used on parents without images",
            )
        else:
            raise TypeError(
                "Parent element should be an Element or CachedElement instance"
            )
        check(
            elements and isinstance(elements, list),
            "elements shouldn't be null and should be of type list",
        )
        for index, element in enumerate(elements):
            _check_element_item(index, element)

        if self.skip_publication(
            "Cannot create elements as this worker is in read-only mode"
        ):
            return None

        created = []
        for batch in make_batches(elements, "element", batch_size):
            created.extend(
                self.api_client.request(
                    "CreateElements",
                    id=parent.id,
                    body={"worker_run_id": self.worker_run_id, "elements": batch},
                )
            )

        if uses_cache(self):
            self._cache_created_elements(parent, elements, created)
        return created

    def _cache_created_elements(
        self,
        parent: ElementLike,
        elements: list[dict[str, Any]],
        created: list[dict[str, str]],
    ) -> None:
        if isinstance(parent, Element):
            image = parent.zone.image
            image_id = image.id
            CachedImage.get_or_create(
                id=image_id,
                defaults={
                    "width": image.width,
                    "height": image.height,
                    "url": image.url,
                },
            )
        else:
            image_id = parent.image_id

        rows = [
            {
                "id": result["id"],
                "parent_id": parent.id,
                "type": element["type"],
                "image_id": image_id,
                "polygon": element["polygon"],
                "worker_run_id": self.worker_run_id,
                "confidence": element.get("confidence"),
            }
            for element, result in zip(elements, created, strict=False)
        ]
        with cache_write("elements"):
            insert_rows(CachedElement, rows)

    @unsupported_cache
    def create_element_parent(self, parent: Element, child: Element) -> dict | None:
        """Add ``parent`` as a parent of ``child``.

        Returns:
            The API answer (``{"parent": …, "child": …}``); ``None`` in read-only mode.
        """
        check_element(
            parent, Element, "parent shouldn't be null and should be of type Element"
        )
        check_element(
            child, Element, "child shouldn't be null and should be of type Element"
        )
        if self.skip_publication(
            "Cannot link elements as this worker is in read-only mode"
        ):
            return None
        return self.api_client.request(
            "CreateElementParent", parent=parent.id, child=child.id
        )

    @unsupported_cache
    @batch_publication
    def create_element_children(
        self,
        parent: Element,
        children: list[Element],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[str] | None:
        """Add existing elements as children of ``parent``, in bulk.

        Returns:
            The IDs of the linked children; ``None`` in read-only mode.
        """
        check_element(
            parent, Element, "parent shouldn't be null and should be of type Element"
        )
        check(
            children and isinstance(children, list),
            "children shouldn't be null and should be of type list",
        )
        for index, child in enumerate(children):
            check(
                is_element(child),
                item_prefix("Child", index, "children") + "Should be of type Element",
            )
        if self.skip_publication(
            "Cannot link elements as this worker is in read-only mode"
        ):
            return None

        linked = []
        for batch in make_batches(children, "child", batch_size):
            response = self.api_client.request(
                "CreateElementChildren",
                id=parent.id,
                body={"children": [child.id for child in batch]},
            )
            linked.extend(response["children"])
        return linked

    def partial_update_element(
        self, element: ElementLike, **kwargs: Any
    ) -> dict | None:
        """Update some fields of an element (and of its cached row).

        Args:
            element: the element to update.
            kwargs: the fields to change: ``type``, ``name``, ``polygon``,
                ``confidence``, ``rotation_angle``, ``mirrored``, ``image`` (a
                ``uuid.UUID``); other keys are sent unchecked.

        Returns:
            The API answer; ``None`` in read-only mode.
        """
        check_element_argument(self, element)
        if "type" in kwargs:
            check(isinstance(kwargs["type"], str), "type should be a str")
        if "name" in kwargs:
            check(isinstance(kwargs["name"], str), "name should be a str")
        if "polygon" in kwargs:
            check_polygon(
                kwargs["polygon"], container_message="polygon should be a list"
            )
        if "confidence" in kwargs:
            check_confidence(kwargs["confidence"], required=False)
        if "rotation_angle" in kwargs:
            angle = kwargs["rotation_angle"]
            check(
                isinstance(angle, int) and angle >= 0,
                "rotation_angle should be a positive integer",
            )
        if "mirrored" in kwargs:
            check(isinstance(kwargs["mirrored"], bool), "mirrored should be a boolean")
        if "image" in kwargs:
            check(isinstance(kwargs["image"], uuid.UUID), "image should be a UUID")
            kwargs["image"] = str(kwargs["image"])

        if self.skip_publication(
            "Cannot update element as this worker is in read-only mode"
        ):
            return None

        updated = self.api_client.request(
            "PartialUpdateElement", id=element.id, body=kwargs
        )
        if uses_cache(self):
            _update_cached_element(element.id, kwargs)
        return updated

    # Listing

    def list_elements(
        self,
        folder: bool | None = None,
        name: str | None = None,
        top_level: bool | None = None,
        transcription_worker_version: str | bool | None = None,
        transcription_worker_run: str | bool | None = None,
        type: str | None = None,
        with_classes: bool | None = None,
        with_corpus: bool | None = None,
        with_metadata: bool | None = None,
        with_has_children: bool | None = None,
        with_zone: bool | None = None,
        worker_version: str | bool | None = None,
        worker_run: str | bool | None = None,
    ) -> Iterable[dict] | ModelSelect:
        """List the elements of the worker's corpus.

        ``worker_run``/``worker_version`` take an ID or ``False`` (manual
        elements). With the cache on, only ``type``, ``worker_version`` and
        ``worker_run`` are allowed and the whole cache is queried.

        Returns:
            An iterator of element dicts (API) or a peewee query (cache).
        """
        query = listing_query(locals())
        if uses_cache(self):
            return offline_rows(
                self, filter_cached_elements(CachedElement.select(), query)
            )
        return self.api_client.paginate("ListElements", corpus=self.corpus_id, **query)

    def list_element_children(
        self,
        element: ElementLike,
        folder: bool | None = None,
        name: str | None = None,
        recursive: bool | None = None,
        transcription_worker_version: str | bool | None = None,
        transcription_worker_run: str | bool | None = None,
        type: str | None = None,
        with_classes: bool | None = None,
        with_corpus: bool | None = None,
        with_metadata: bool | None = None,
        with_has_children: bool | None = None,
        with_zone: bool | None = None,
        worker_version: str | bool | None = None,
        worker_run: str | bool | None = None,
    ) -> Iterable[dict] | ModelSelect:
        """List the children of an element (direct ones only from the cache).

        Filters as [list_elements][arkindex_worker.worker.element.ElementMixin.list_elements].
        """
        check_element_argument(self, element)
        query = listing_query(locals())
        if uses_cache(self):
            children = CachedElement.select().where(
                CachedElement.parent_id == element.id
            )
            return offline_rows(self, filter_cached_elements(children, query))
        return self.api_client.paginate("ListElementChildren", id=element.id, **query)

    def list_element_parents(
        self,
        element: ElementLike,
        folder: bool | None = None,
        name: str | None = None,
        recursive: bool | None = None,
        transcription_worker_version: str | bool | None = None,
        transcription_worker_run: str | bool | None = None,
        type: str | None = None,
        with_classes: bool | None = None,
        with_corpus: bool | None = None,
        with_metadata: bool | None = None,
        with_has_children: bool | None = None,
        with_zone: bool | None = None,
        worker_version: str | bool | None = None,
        worker_run: str | bool | None = None,
    ) -> Iterable[dict] | ModelSelect:
        """List the parents of an element (the recorded parent only from the cache).

        Filters as [list_elements][arkindex_worker.worker.element.ElementMixin.list_elements].
        """
        check_element_argument(self, element)
        query = listing_query(locals())
        if uses_cache(self):
            parent_ids = CachedElement.select(CachedElement.parent_id).where(
                CachedElement.id == element.id
            )
            parents = CachedElement.select().where(CachedElement.id.in_(parent_ids))
            return offline_rows(self, filter_cached_elements(parents, query))
        return self.api_client.paginate("ListElementParents", id=element.id, **query)


def _update_cached_element(element_id: Any, fields: dict[str, Any]) -> None:
    """Write the fields sent by `partial_update_element` to the cached row."""
    fields = {key: value for key, value in fields.items() if key in _UPDATABLE_COLUMNS}
    if "polygon" in fields:
        # Upstream stores the Python repr, so the cached polygon reads back as a str.
        fields["polygon"] = str(fields["polygon"])
    if "image" in fields:
        fields["image"] = CachedImage.get_by_id(fields["image"])
    # Nothing left (e.g. only `name`): peewee would fail on an empty UPDATE.
    if fields:
        CachedElement.update(**fields).where(CachedElement.id == element_id).execute()
