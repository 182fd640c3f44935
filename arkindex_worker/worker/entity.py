"""EntityMixin: entity types, entities and their links to transcriptions (spec 10)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypedDict

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedEntity, CachedTranscriptionEntity, cache_write
from arkindex_worker.errors import MissingEntityType
from arkindex_worker.models import Element, Transcription
from arkindex_worker.utils import pluralize
from arkindex_worker.validation import (
    check,
    check_confidence,
    check_element,
    check_int,
    check_source_filter,
    check_str,
    is_element,
    item_prefix,
)
from arkindex_worker.worker.rules06 import follows_0_6, unsupported_cache, uses_cache

__all__ = ["Entity", "EntityMixin", "MissingEntityType"]

OFFSET_MESSAGE = "offset shouldn't be null and should be a positive integer"
LENGTH_MESSAGE = "length shouldn't be null and should be a strictly positive integer"


class _EntityFields(TypedDict):
    type_id: str
    length: int
    offset: int
    confidence: float | None


class Entity(_EntityFields, total=False):
    """An item of [create_transcription_entities][arkindex_worker.worker.entity.EntityMixin.create_transcription_entities].

    ``name`` is required under generation 0.4 only (0.6 items have none).
    """

    name: str


# The 0.6 form of CreateTranscriptionEntity (spec 15 §17, operations-0.6.yml)
TRANSCRIPTION_ENTITY_0_6 = "CreateTranscriptionEntity@0.6"


def _check_entity_item(item: Any, index: int, *, with_name: bool = True) -> None:
    prefix = item_prefix("Entity", index, "entities")
    check(isinstance(item, dict), f"{prefix}Should be of type dict")
    if with_name:
        check_str(item.get("name"), "name", prefix=prefix)
    check_str(item.get("type_id"), "type_id", prefix=prefix)
    check_int(item.get("offset"), prefix + OFFSET_MESSAGE)
    check_int(item.get("length"), prefix + LENGTH_MESSAGE, minimum=1)
    check_confidence(item.get("confidence"), required=False, prefix=prefix)


def _type_id_form(func: Callable) -> Callable:
    """Call mapping of `create_transcription_entity` (spec 15 §7, G4).

    The 0.6 form (a ``type_id`` keyword, or any call under generation 0.6, whose
    second argument is the entity type ID) goes to the 0.6 helper; the 0.4 form
    to ``func``. ``inspect.signature`` keeps showing ``func``'s.
    """
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        by_keyword = "type_id" in kwargs
        if by_keyword and ("entity" in kwargs or len(args) >= 2):
            raise TypeError(
                "create_transcription_entity() got both 'entity' and 'type_id'"
            )
        modern = follows_0_6(self)
        if modern and "entity" in kwargs:
            raise TypeError(
                "create_transcription_entity() got an unexpected keyword argument 'entity'"
            )
        if not by_keyword and not modern:
            return func(self, *args, **kwargs)
        if by_keyword:
            type_id = kwargs.pop("type_id")
            if args:
                args = (args[0], type_id, *args[1:])
            else:
                kwargs["entity"] = type_id
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        call = bound.arguments
        return self._create_transcription_entity_0_6(
            call["transcription"],
            call["entity"],
            call["offset"],
            call["length"],
            call["confidence"],
        )

    return wrapper


def _check_entity_type_names(entity_types: Any, create_missing: Any) -> None:
    """The 0.6 checks of `check_required_entity_types` (spec 15 §7)."""
    check(
        entity_types and isinstance(entity_types, list),
        "entity_types shouldn't be null and should be of type list",
    )
    for index, name in enumerate(entity_types):
        check(
            isinstance(name, str),
            f"Entity type at index {index} in entity_types: Should be of type str",
        )
    check(
        isinstance(create_missing, bool),
        "create_missing shouldn't be null and should be of type bool",
    )


class EntityMixin:
    """Manage the corpus entity types, entities and transcription entities."""

    def list_corpus_entity_types(self) -> None:
        """Load the corpus entity types into ``self.entity_types`` (name → ID)."""
        self.entity_types = {
            entity_type["name"]: entity_type["id"]
            for entity_type in self.api_client.paginate(
                "ListCorpusEntityTypes", id=self.corpus_id
            )
        }
        count = len(self.entity_types)
        logger.info(
            f"Loaded {count} entity {pluralize('type', count)} in corpus ({self.corpus_id})."
        )

    def _create_entity_type(self, name: str) -> None:
        created = self.api_client.request(
            "CreateEntityType", body={"name": name, "corpus": self.corpus_id}
        )
        self.entity_types[name] = created["id"]
        logger.info(f"Created a new entity type with name `{name}`.")

    @unsupported_cache
    def check_required_entity_types(
        self, entity_types: list[str], create_missing: bool = True
    ) -> None:
        """Check that the corpus has these entity types, creating the missing ones.

        Types are created even in read-only mode.

        Args:
            entity_types: names of the required entity types.
            create_missing: create the missing types instead of raising.

        Raises:
            MissingEntityType: a type is missing and ``create_missing`` is false.
        """
        modern = follows_0_6(self)
        if modern:
            _check_entity_type_names(entity_types, create_missing)
        if not self.entity_types:
            self.list_corpus_entity_types()
        for name in entity_types:
            if name in self.entity_types:
                continue
            if not create_missing:
                raise MissingEntityType(f"Entity type `{name}` was not in the corpus.")
            if modern:
                self.create_entity_type(name)
            else:
                self._create_entity_type(name)

    def create_entity_type(self, name: str) -> None:
        """Create an entity type in the corpus and add it to ``self.entity_types``.

        When the server refuses it (HTTP 400, e.g. it already exists), the entity
        types are reloaded instead. Added for 0.6 compatibility.

        Raises:
            AssertionError: the type is still unknown after reloading.
        """
        check_str(name, "name")
        try:
            self._create_entity_type(name)
        except ErrorResponse as e:
            if e.status_code != 400:
                raise
            logger.warning(
                f"Unable to create the entity type `{name}`. "
                "Refreshing corpus entity types cache."
            )
            self.list_corpus_entity_types()
            check(
                name in self.entity_types,
                f"Missing entity type `{name}` even after refreshing.",
            )

    def create_entity(
        self,
        name: str,
        type: str,
        metas: dict | None = None,
        validated: bool | None = None,
    ) -> str | None:
        """Create an entity in the corpus.

        Args:
            name: name of the entity.
            type: name of its entity type, which must exist in the corpus.
            metas: free metadata of the entity.
            validated: whether the entity is validated.

        Returns:
            The ID of the created entity, or ``None`` in read-only mode.
        """
        check_str(name, "name")
        check_str(type, "type")
        metas = metas or {}
        if metas:
            check(isinstance(metas, dict), "metas should be of type dict")
        if validated is not None:
            check(isinstance(validated, bool), "validated should be of type bool")
        if self.skip_publication(
            "Cannot create entity as this worker is in read-only mode"
        ):
            return None

        if not self.entity_types:
            self.list_corpus_entity_types()
        type_id = self.entity_types.get(type)
        check(type_id, f"Entity type `{type}` not found in the corpus.")

        created = self.api_client.request(
            "CreateEntity",
            body={
                "name": name,
                "type_id": type_id,
                "metas": metas,
                "validated": validated,
                "corpus": self.corpus_id,
                "worker_run_id": self.worker_run_id,
            },
        )
        if uses_cache(self):
            with cache_write("entity"):
                CachedEntity.insert_many(
                    [
                        {
                            "id": created["id"],
                            "type": type,
                            "name": name,
                            "validated": validated if validated is not None else False,
                            "metas": metas,
                            "worker_run_id": self.worker_run_id,
                        }
                    ]
                ).execute()
        return created["id"]

    @_type_id_form
    def create_transcription_entity(
        self,
        transcription: Transcription,
        entity: str,
        offset: int,
        length: int,
        confidence: float | None = None,
        *,
        type_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Link an entity to a part of a transcription's text.

        Under generation 0.6, or with ``type_id=``, the second argument is an
        entity type ID (0.6's form): the link is created from the type, and
        ``entity=`` is refused under generation 0.6.

        Args:
            transcription: the transcription.
            entity: ID of the entity (0.4 form).
            offset: start of the part, in characters.
            length: length of the part, in characters.
            confidence: optional confidence in ``[0, 1]``.
            type_id: ID of the entity type (0.6 form).

        Returns:
            The created transcription entity, or ``None`` in read-only mode.
        """
        body = self._transcription_entity_body(
            transcription, "entity", entity, offset, length, confidence
        )
        if body is None:
            return None
        created = self.api_client.request(
            "CreateTranscriptionEntity", id=transcription.id, body=body
        )
        if uses_cache(self):
            with cache_write("transcription entity"):
                CachedTranscriptionEntity.create(
                    transcription=transcription.id,
                    entity=entity,
                    offset=offset,
                    length=length,
                    worker_run_id=self.worker_run_id,
                    confidence=confidence,
                )
        return created

    def _transcription_entity_body(
        self,
        transcription: Transcription,
        key: str,
        value: str,
        offset: int,
        length: int,
        confidence: float | None,
    ) -> dict[str, Any] | None:
        """Validated body of a transcription entity (``key``: ``entity`` or ``type_id``).

        `None` when the worker is read-only: nothing is to be sent.
        """
        check_element(
            transcription,
            Transcription,
            "transcription shouldn't be null and should be a Transcription",
        )
        check_str(value, key)
        check_int(offset, OFFSET_MESSAGE)
        check_int(length, LENGTH_MESSAGE, minimum=1)
        check_confidence(
            confidence,
            required=False,
            message="confidence should be null or a float in [0..1] range",
        )
        if self.skip_publication(
            "Cannot create transcription entity as this worker is in read-only mode"
        ):
            return None
        body: dict[str, Any] = {
            key: value,
            "length": length,
            "offset": offset,
            "worker_run_id": self.worker_run_id,
        }
        if confidence is not None:
            body["confidence"] = confidence
        return body

    def _create_transcription_entity_0_6(
        self,
        transcription: Transcription,
        type_id: str,
        offset: int,
        length: int,
        confidence: float | None,
    ) -> dict[str, Any] | None:
        """The 0.6 form of `create_transcription_entity` (spec 15 §7)."""
        body = self._transcription_entity_body(
            transcription, "type_id", type_id, offset, length, confidence
        )
        if body is None:
            return None
        return self.api_client.request(
            TRANSCRIPTION_ENTITY_0_6, id=transcription.id, body=body
        )

    @unsupported_cache
    def create_transcription_entities(
        self, transcription: Transcription, entities: list[Entity]
    ) -> list[dict[str, str]] | None:
        """Create entities and link them to a transcription, in one request.

        Args:
            transcription: the transcription.
            entities: the [Entity][arkindex_worker.worker.entity.Entity] items.

        Returns:
            ``{"transcription_entity_id", "entity_id"}`` dicts (under generation
            0.6, the answer's ``transcription_entities`` as received, items
            without ``name``), or ``None`` in read-only mode.
        """
        check_element(
            transcription,
            Transcription,
            "transcription shouldn't be null and should be of type Transcription",
        )
        check(
            entities and isinstance(entities, list),
            "entities shouldn't be null and should be of type list",
        )
        modern = follows_0_6(self)
        for index, item in enumerate(entities):
            _check_entity_item(item, index, with_name=not modern)
        keys = {
            (item["offset"], item["length"], item["type_id"])
            if modern
            else (item["offset"], item["length"], item["name"], item["type_id"])
            for item in entities
        }
        check(len(keys) == len(entities), "entities should be unique")
        if self.skip_publication(
            "Cannot create transcription entities in bulk as this worker is in read-only mode"
        ):
            return None

        key = "transcription_entities" if modern else "entities"
        created = self.api_client.request(
            "CreateTranscriptionEntities",
            id=transcription.id,
            body={"worker_run_id": self.worker_run_id, key: entities},
        )
        return created[key]

    def list_transcription_entities(
        self,
        transcription: Transcription,
        worker_version: str | bool | None = None,
        worker_run: str | bool | None = None,
    ) -> Iterable[dict[str, Any]]:
        """List the entities linked to a transcription (always from the API).

        Args:
            transcription: the transcription.
            worker_version: deprecated, use ``worker_run``.
            worker_run: only links of this worker run (a str), or manual ones
                (``False``).
        """
        check_element(
            transcription,
            Transcription,
            "transcription shouldn't be null and should be a Transcription",
        )
        check_source_filter(
            worker_version, "worker_version", deprecated_for="worker_run"
        )
        check_source_filter(worker_run, "worker_run")
        query = {
            name: value
            for name, value in (
                ("worker_version", worker_version),
                ("worker_run", worker_run),
            )
            if value is not None
        }
        return self.api_client.paginate(
            "ListTranscriptionEntities", id=transcription.id, **query
        )

    def list_corpus_entities(
        self, name: str | None = None, parent: Element | None = None
    ) -> None:
        """Load the corpus entities into ``self.entities`` (ID → entity dict).

        Args:
            name: only entities whose name contains this.
            parent: only entities linked to transcriptions of this element's
                descendants.
        """
        query: dict[str, str] = {}
        if name is not None:
            check(name and isinstance(name, str), "name should be of type str")
            query["name"] = name
        if parent is not None:
            check(is_element(parent), "parent should be of type Element")
            query["parent"] = parent.id
        self.entities = {
            entity["id"]: entity
            for entity in self.api_client.paginate(
                "ListCorpusEntities", id=self.corpus_id, **query
            )
        }
        count = len(self.entities)
        logger.info(
            f"Loaded {count} {pluralize('entity', count)} in corpus ({self.corpus_id})"
        )
