"""Offline mode: an API client that answers from the local cache database.

Our addition (upstream has none). A worker that supports the cache, runs
read-only (``--dev`` or no worker run) and is given ``--database PATH`` swaps its
API client for an [OfflineClient][arkindex_worker.offline.OfflineClient]. It has
the client's two methods, ``request`` and ``paginate``
(the ``ApiClient`` of ``arkindex_worker.api.protocol``), so the mixins run
unchanged: reads come from the database, and publications get new UUIDs and
API-shaped answers. Calls are checked against the bundled operation table
first, so offline refuses (``ClientError``) what the API client refuses. The
mixins' own cache write-through then stores the rows of the helpers that have
one; this client stores rows only for the helpers that have none (sub-elements,
bulk transcription entities, metadata). No request is ever sent and no API URL
or token is needed.

Class, entity type and corpus type IDs are not stored in schema v3: they are
derived from names (``uuid5``), so they are stable across runs.
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peewee

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.api.schema import bundled_operations
from arkindex_worker.api.validation import (
    PAGINATION_KEYWORDS,
    check_call,
    find_operation,
)
from arkindex_worker.cache import (
    CachedClassification,
    CachedElement,
    CachedEntity,
    CachedTranscriptionEntity,
    db,
    reject_failed_writes,
)
from arkindex_worker.errors import OfflineUnavailableError, OfflineWriteRejected
from arkindex_worker.local_images import use_local_images
from arkindex_worker.offline_records import element_payload
from arkindex_worker.offline_runs import OfflineRun, prepare_database

__all__ = [
    "OFFLINE_CORPUS_ID",
    "OfflineClient",
    "OfflineMetaData",
    "OfflineUnavailableError",
    "stable_id",
]


class OfflineMetaData(peewee.Model):
    """Metadata published offline (schema v3 has no metadata table).

    The table is created on first offline use only: never by ``create_tables()``,
    never merged, so the v3 schema and ``SQL_VERSION`` are unaffected.
    """

    id = peewee.UUIDField(primary_key=True)
    element_id = peewee.UUIDField(index=True)
    type = peewee.CharField(max_length=50)
    name = peewee.TextField()
    value = peewee.TextField()
    entity_id = peewee.UUIDField(null=True)
    worker_run_id = peewee.UUIDField(null=True)

    class Meta:
        database = db
        table_name = "offline_metadata"

    def to_dict(self) -> dict:
        """The metadata as the API returns it."""
        return {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "value": self.value,
            "entity_id": str(self.entity_id) if self.entity_id else None,
            "worker_run_id": str(self.worker_run_id) if self.worker_run_id else None,
        }


def stable_id(kind: str, name: str) -> str:
    """Deterministic ID of a named corpus object (class, entity type…)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}:{name}"))


OFFLINE_CORPUS_ID = stable_id("corpus", "offline")
"""Corpus ID of an offline worker when ``ARKINDEX_CORPUS_ID`` is not set."""


def _new_id() -> str:
    return str(uuid.uuid4())


def _not_found(what: str, object_id: Any) -> ErrorResponse:
    return ErrorResponse(
        title="404 Not Found",
        status_code=404,
        content={"detail": f"No {what} {object_id} in the offline database."},
    )


def _distinct(field: peewee.Field) -> list[str]:
    return [value for (value,) in field.model.select(field).distinct().tuples()]


class OfflineClient:
    """Answers API operations from the bound cache database, with no network.

    Args:
        worker_run_id: attributed to the rows this client writes (may be None).
    """

    def __init__(self, worker_run_id: str | None = None, run: OfflineRun | None = None):
        self.worker_run_id = worker_run_id
        self.run = run
        self.element_types: set[str] = set()
        self.ml_classes: set[str] = set()
        self.entity_types: set[str] = set()
        self._warned_links = False
        prepare_database()
        db.create_tables([OfflineMetaData])
        reject_failed_writes()
        # Image paths in the database are local files, relative to its folder
        use_local_images(Path(db.database).parent)
        atexit.register(self.close)
        self._handlers: dict[str, Callable[..., Any]] = {
            name.removeprefix("op_"): getattr(self, name)
            for name in dir(self)
            if name.startswith("op_")
        }

    def __repr__(self) -> str:
        return f"<OfflineClient on {db.database!r}>"

    def close(self) -> None:
        """End the run, leave the database as one self-contained file (no WAL), close it.

        Local images are turned off again. When another process still uses
        the database, the WAL stays for it to checkpoint. Errors are not
        raised (this runs at exit).
        """
        use_local_images(None)
        if db.is_closed():
            return
        if self.run is not None:
            self.run.close()
        else:
            try:
                db.execute_sql("PRAGMA busy_timeout = 0")
                db.pragma("journal_mode", "delete")
            except peewee.DatabaseError as e:
                logger.debug(f"The database stays in WAL mode: {e}")
        db.close()

    def request(self, operation_id: str, **parameters: Any) -> Any:
        """Answer one operation from the database.

        The call is first checked against the bundled operation table, as
        `ArkindexClient` checks it (`arkindex_worker.api.validation`).

        A write operation first begins the current element's transaction
        (`OfflineRun.writing`).

        Raises:
            ClientError: the API client would refuse the call.
            OfflineUnavailableError: the operation needs a server.
            ErrorResponse: 404 when a requested object is not in the database.
            OfflineWriteRejected: the database rejected the write (a foreign
                key, a trigger, a constraint), as a 400 answer online.
        """
        operation = check_call(bundled_operations(), operation_id, parameters)
        handler = self._handlers.get(operation_id)
        if handler is None:
            raise OfflineUnavailableError(
                f"Operation {operation_id} is not available offline"
            )
        if self.run is not None and operation.method != "GET":
            self.run.writing()
        try:
            with db.atomic():
                return handler(**parameters)
        except peewee.IntegrityError as e:
            raise OfflineWriteRejected(
                f"The database rejected {operation_id}: {e}"
            ) from e

    def paginate(self, operation_id: str, **parameters: Any) -> Any:
        """Same as ``request``: offline listings are plain lists.

        ``retries`` and ``allow_missing_data`` are ignored, on paginated
        operations only: ``ArkindexClient.paginate`` sends the others as
        ``request`` does, which refuses them.
        """
        operation = find_operation(bundled_operations(), operation_id)
        if operation.paginated is not False:
            for name in PAGINATION_KEYWORDS:
                parameters.pop(name, None)
        return self.request(operation_id, **parameters)

    # --- elements and types ------------------------------------------------------

    def _element(self, element_id: Any) -> CachedElement:
        element = CachedElement.get_or_none(CachedElement.id == element_id)
        if element is None:
            raise _not_found("element", element_id)
        return element

    def op_RetrieveElement(self, id: Any, **_: Any) -> dict:
        return element_payload(self._element(id))

    def op_RetrieveCorpus(self, id: Any, **_: Any) -> dict:
        slugs = sorted(set(_distinct(CachedElement.type)) | self.element_types)
        return {
            "id": str(id),
            "name": "Offline corpus",
            "types": [
                {"slug": slug, "display_name": slug, "folder": False} for slug in slugs
            ],
        }

    def op_CreateElementType(self, body: dict, **_: Any) -> dict:
        self.element_types.add(body["slug"])
        return {"id": stable_id("element-type", body["slug"]), **body}

    def op_CreateElement(self, body: dict, **_: Any) -> dict:
        parent = self._element(body["parent"])
        image_id = body.get("image") or parent.image_id
        element = CachedElement.create(
            id=_new_id(),
            parent_id=parent.id,
            type=body["type"],
            image=image_id,
            polygon=body.get("polygon"),
            confidence=body.get("confidence"),
            worker_run_id=self.worker_run_id,
        )
        return {**element_payload(element), "name": body["name"]}

    def op_CreateElements(self, id: Any, body: dict, **_: Any) -> list[dict]:
        self._element(id)
        return [{"id": _new_id()} for _ in body["elements"]]

    def _warn_links_once(self) -> None:
        if not self._warned_links:
            self._warned_links = True
            logger.warning(
                "Element links are not stored offline: the cache stores one parent per element"
            )

    def op_CreateElementParent(self, child: Any, parent: Any, **_: Any) -> dict:
        self._warn_links_once()
        return {"parent": str(parent), "child": str(child)}

    def op_CreateElementChildren(self, id: Any, body: dict, **_: Any) -> dict:
        self._warn_links_once()
        return {"children": [str(child) for child in body["children"]]}

    def op_PartialUpdateElement(self, id: Any, body: dict, **_: Any) -> dict:
        return {**element_payload(self._element(id)), **body}

    # --- transcriptions -----------------------------------------------------------

    def op_CreateTranscription(self, id: Any, body: dict, **_: Any) -> dict:
        self._element(id)
        return {"id": _new_id(), "element_id": str(id), **body}

    def op_CreateTranscriptions(self, body: dict, **_: Any) -> dict:
        return {
            "worker_run_id": body.get("worker_run_id"),
            "transcriptions": [
                {"id": _new_id(), **item} for item in body["transcriptions"]
            ],
        }

    def op_CreateElementTranscriptions(
        self, id: Any, body: dict, **_: Any
    ) -> list[dict]:
        parent = self._element(id)
        existing = {
            repr(child.polygon): str(child.id)
            for child in CachedElement.select().where(
                CachedElement.parent_id == parent.id,
                CachedElement.type == body["element_type"],
            )
        }
        answers = []
        for item in body["transcriptions"]:
            child_id = existing.get(repr(item["polygon"]))
            answers.append(
                {
                    "id": _new_id(),
                    "element_id": child_id or _new_id(),
                    "created": child_id is None,
                }
            )
        return answers

    # --- classifications --------------------------------------------------------------

    def _class_names(self) -> set[str]:
        return set(_distinct(CachedClassification.class_name)) | self.ml_classes

    def op_ListCorpusMLClasses(self, id: Any, **_: Any) -> list[dict]:
        return [
            {"id": stable_id("class", name), "name": name}
            for name in sorted(self._class_names())
        ]

    def op_CreateMLClass(self, id: Any, body: dict, **_: Any) -> dict:
        self.ml_classes.add(body["name"])
        return {"id": stable_id("class", body["name"]), "name": body["name"]}

    def op_CreateClassification(self, body: dict, **_: Any) -> dict:
        return {"id": _new_id(), "state": "pending", **body}

    def op_CreateClassifications(self, body: dict, **_: Any) -> dict:
        return {
            "parent": body["parent"],
            "worker_run_id": body.get("worker_run_id"),
            "classifications": [
                {"id": _new_id(), "state": "pending", **item}
                for item in body["classifications"]
            ],
        }

    # --- entities ---------------------------------------------------------------------

    def op_ListCorpusEntityTypes(self, id: Any, **_: Any) -> list[dict]:
        names = sorted(set(_distinct(CachedEntity.type)) | self.entity_types)
        return [{"id": stable_id("entity-type", name), "name": name} for name in names]

    def op_CreateEntityType(self, body: dict, **_: Any) -> dict:
        self.entity_types.add(body["name"])
        return {"id": stable_id("entity-type", body["name"]), "name": body["name"]}

    def op_CreateEntity(self, body: dict, **_: Any) -> dict:
        return {"id": _new_id(), **body}

    def op_ListCorpusEntities(
        self, id: Any, name: str | None = None, **_: Any
    ) -> list[dict]:
        query = CachedEntity.select()
        if name:
            query = query.where(CachedEntity.name.contains(name))
        return [
            {
                "id": str(entity.id),
                "name": entity.name,
                "type": entity.type,
                "metas": entity.metas,
                "validated": entity.validated,
            }
            for entity in query
        ]

    def op_CreateTranscriptionEntity(self, id: Any, body: dict, **_: Any) -> dict:
        return {"transcription": str(id), **body}

    def op_CreateTranscriptionEntities(self, id: Any, body: dict, **_: Any) -> dict:
        type_names = {
            t["id"]: t["name"] for t in self.op_ListCorpusEntityTypes(id=None)
        }
        results = []
        for item in body["entities"]:
            entity = CachedEntity.create(
                id=_new_id(),
                type=type_names.get(item["type_id"], item["type_id"]),
                name=item["name"],
                validated=False,
                metas={},
                worker_run_id=self.worker_run_id,
            )
            CachedTranscriptionEntity.create(
                transcription=id,
                entity=entity.id,
                offset=item["offset"],
                length=item["length"],
                confidence=item.get("confidence"),
                worker_run_id=self.worker_run_id,
            )
            results.append(
                {"transcription_entity_id": _new_id(), "entity_id": str(entity.id)}
            )
        return {"entities": results}

    def op_ListTranscriptionEntities(self, id: Any, **_: Any) -> list[dict]:
        query = CachedTranscriptionEntity.select().where(
            CachedTranscriptionEntity.transcription == id
        )
        return [
            {
                "entity": {
                    "id": str(link.entity.id),
                    "name": link.entity.name,
                    "type": link.entity.type,
                },
                "offset": link.offset,
                "length": link.length,
                "confidence": link.confidence,
                "worker_run": (
                    {"id": str(link.worker_run_id)} if link.worker_run_id else None
                ),
            }
            for link in query
        ]

    # --- metadata -----------------------------------------------------------------------

    def _store_metadata(self, element_id: Any, item: dict) -> dict:
        return OfflineMetaData.create(
            id=_new_id(),
            element_id=element_id,
            type=item["type"],
            name=item["name"],
            value=str(item["value"]),
            entity_id=item.get("entity_id"),
            worker_run_id=self.worker_run_id,
        ).to_dict()

    def op_CreateMetaData(self, id: Any, body: dict, **_: Any) -> dict:
        self._element(id)
        return self._store_metadata(id, body)

    def op_CreateMetaDataBulk(self, id: Any, body: dict, **_: Any) -> dict:
        self._element(id)
        return {
            "worker_run_id": body.get("worker_run_id"),
            "metadata_list": [
                self._store_metadata(id, item) for item in body["metadata_list"]
            ],
        }

    def op_ListElementMetaData(self, id: Any, **_: Any) -> list[dict]:
        query = OfflineMetaData.select().where(OfflineMetaData.element_id == id)
        return [metadata.to_dict() for metadata in query]
