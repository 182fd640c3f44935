"""The operations served by the Arkindex API double, over its in-memory corpus.

Each handler is registered for one operationId, HTTP method and path (relative to
``/api/v1/``); it returns ``(status, JSON payload)`` or raises `Reject` to answer
an error, as the Arkindex API would (DRF-style 400 bodies, 404, 409).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.e2e.corpus import Corpus

__all__ = ["ROUTES", "ArkindexRoutes", "Reject", "Request"]

API_PREFIX = "/api/v1/"
DEFAULT_PAGE_SIZE = 20
NOT_FOUND = {"detail": "Not found."}
TRUE_VALUES = ("true", "True", "1")


class Reject(Exception):
    """Stop handling a request and answer with this status and JSON content."""

    def __init__(self, status: int, content: Any):
        super().__init__(status)
        self.status = status
        self.content = content


@dataclass
class Request:
    """What a handler sees of a request (path relative to ``/api/v1/``)."""

    method: str
    path: str
    query: str
    params: dict[str, list[str]]
    body: Any
    host: str
    scheme: str | None = None

    def param(self, name: str, default: str | None = None) -> str | None:
        """Last value of a query parameter."""
        return self.params.get(name, [default])[-1]


ROUTES: list[tuple[str, str, re.Pattern, str]] = []


def _route(operation: str, method: str, pattern: str) -> Callable:
    """Register a handler method for an operation (path relative to /api/v1/)."""

    def register(function: Callable) -> Callable:
        ROUTES.append(
            (operation, method, re.compile(pattern + r"\Z"), function.__name__)
        )
        return function

    return register


def _required(body: Any, *fields: str) -> dict:
    if not isinstance(body, dict):
        raise Reject(400, {"non_field_errors": ["Expected a JSON object."]})
    missing = {name: ["This field is required."] for name in fields if name not in body}
    if missing:
        raise Reject(400, missing)
    return body


def _check_polygon(polygon: Any, field: str = "polygon") -> None:
    valid = (
        isinstance(polygon, list)
        and len(polygon) >= 3
        and all(
            isinstance(point, list | tuple)
            and len(point) == 2
            and all(isinstance(v, int | float) for v in point)
            for point in polygon
        )
    )
    if not valid:
        raise Reject(400, {field: ["Invalid polygon."]})


class ArkindexRoutes(Corpus):
    """The operation handlers, on top of the corpus state."""

    page_size: int = DEFAULT_PAGE_SIZE

    def _element(self, element_id: str | None, field: str | None = None) -> dict:
        if element_id in self.elements:
            return self.elements[element_id]
        if field is None:
            raise Reject(404, NOT_FOUND)
        raise Reject(
            400, {field: [f'Invalid pk "{element_id}" - object does not exist.']}
        )

    def _check_worker_run(self, body: dict) -> None:
        if body.get("worker_run_id") != self.worker_run_id:
            raise Reject(400, {"worker_run_id": ["Invalid worker run."]})

    def _page(self, request: Request, items: list) -> tuple[int, dict]:
        try:
            number = int(request.param("page", "1"))
            size = int(request.param("page_size", str(self.page_size)))
        except ValueError:
            raise Reject(400, {"detail": "Invalid page."})
        start = (number - 1) * size
        if number < 1 or (start >= len(items) and number > 1):
            raise Reject(404, {"detail": "Invalid page."})

        def link(page: int) -> str:
            params = {**request.params, "page": [str(page)]}
            query = urlencode(sorted(params.items()), doseq=True)
            return f"http://{request.host}{API_PREFIX}{request.path}?{query}"

        return 200, {
            "count": len(items),
            "number": number,
            "previous": link(number - 1) if number > 1 else None,
            "next": link(number + 1) if start + size < len(items) else None,
            "results": items[start : start + size],
        }

    def _check_corpus(self, corpus_id: str) -> None:
        if corpus_id != self.corpus_id:
            raise Reject(404, NOT_FOUND)

    def _check_type(self, slug: Any) -> None:
        if slug not in {t["slug"] for t in self.element_types}:
            raise Reject(400, {"type": [f"Type {slug} does not exist in this corpus."]})

    # ------------------------------------------------------------ process & worker

    @_route("RetrieveWorkerRun", "GET", r"process/workers/(?P<id>[^/]+)/")
    def _retrieve_worker_run(self, request: Request, id: str) -> tuple:
        if id != self.worker_run_id:
            raise Reject(404, NOT_FOUND)
        return 200, self.worker_run_payload()

    @_route("UpdateWorkerActivity", "PUT", r"workers/versions/(?P<id>[^/]+)/activity/")
    def _update_worker_activity(self, request: Request, id: str) -> tuple:
        if id != self.worker_run_id:
            raise Reject(404, NOT_FOUND)
        body = _required(request.body, "element_id", "process_id", "state")
        self._element(body["element_id"], "element_id")
        if body["process_id"] != self.process_id:
            raise Reject(400, {"process_id": ["Invalid process."]})
        state = body["state"]
        if state not in ("started", "processed", "error"):
            raise Reject(400, {"state": [f'"{state}" is not a valid choice.']})
        if state == "started" and body["element_id"] in self.activities:
            raise Reject(409, {"__all__": ["Activity is already started."]})
        self.activities[body["element_id"]] = state
        return 200, body

    @_route("RetrieveTask", "GET", r"task/(?P<id>[^/]+)/")
    def _retrieve_task(self, request: Request, id: str) -> tuple:
        # A task without parents: no parent cache to merge
        return 200, {"id": id, "parents": [], "state": "running"}

    @_route("StartWorkerActivity", "POST", r"process/start-activity/")
    def _start_worker_activity(self, request: Request) -> tuple:
        # Only a task may pull: the server finds task, run and process from its token
        if request.scheme != "Ponos":
            raise Reject(403, {"detail": "Only tasks can start worker activities."})
        if self.activity_state != "ready":
            raise Reject(400, {"detail": "Worker activities are not ready."})
        if not self.queue:
            raise Reject(404, {"detail": "No worker activity left."})
        element_id = self.queue.pop(0)
        self.activities[element_id] = "started"
        element = self.elements[element_id]
        return 200, {
            "id": element_id,
            "type_id": element["type"],
            "name": element["name"],
            "confidence": None,
            "image_id": element["image"],
            "image_width": None,
            "image_height": None,
            "image_url": None,
            "polygon": element["polygon"],
            "rotation_angle": 0,
            "mirrored": False,
        }

    @_route(
        "RetrieveWorkerRunConfiguration",
        "GET",
        r"workers/runs/(?P<id>[^/]+)/configuration/",
    )
    def _retrieve_worker_run_configuration(self, request: Request, id: str) -> tuple:
        if id != self.worker_run_id:
            raise Reject(404, NOT_FOUND)
        if not self.current_server:
            raise Reject(400, {"detail": "This worker version uses the old format."})
        return 200, {"configuration": self.configuration_items}

    @_route("RetrieveSecret", "GET", r"secret/(?P<name>.+)")
    def _retrieve_secret(self, request: Request, name: str) -> tuple:
        if name not in self.secrets:
            raise Reject(404, NOT_FOUND)
        return 200, {"name": name, "content": self.secrets[name]}

    # ------------------------------------------------------------ corpus & elements

    @_route("RetrieveCorpus", "GET", r"corpus/(?P<id>[^/]+)/")
    def _retrieve_corpus(self, request: Request, id: str) -> tuple:
        self._check_corpus(id)
        return 200, {
            "id": self.corpus_id,
            "name": self.corpus_name,
            "description": "",
            "public": False,
            "types": self.element_types,
            "rights": ["read", "write", "admin"],
        }

    @_route("RetrieveElement", "GET", r"element/(?P<id>[^/]+)/")
    def _retrieve_element(self, request: Request, id: str) -> tuple:
        self._element(id)
        return 200, self.element_payload(id)

    @_route("ListElementChildren", "GET", r"elements/(?P<id>[^/]+)/children/")
    def _list_element_children(self, request: Request, id: str) -> tuple:
        self._element(id)
        recursive = request.param("recursive") in TRUE_VALUES
        with_zone = request.param("with_zone", "true") in TRUE_VALUES
        wanted_type, name = request.param("type"), request.param("name")
        worker_run = request.param("worker_run")
        ids = [
            child
            for child in self.children(id, recursive)
            if (wanted_type is None or self.elements[child]["type"] == wanted_type)
            and (name is None or name.lower() in self.elements[child]["name"].lower())
            and (
                worker_run is None
                or str(self.elements[child]["worker_run_id"] or False) == worker_run
            )
        ]
        return self._page(request, [self.element_payload(i, with_zone) for i in ids])

    @_route("CreateElement", "POST", r"elements/create/")
    def _create_element(self, request: Request) -> tuple:
        body = _required(request.body, "type", "name", "corpus", "worker_run_id")
        self._check_worker_run(body)
        self._check_type(body["type"])
        if body["corpus"] != self.corpus_id:
            raise Reject(400, {"corpus": ["Invalid corpus."]})
        parent = body.get("parent")
        image = body.get("image")
        if parent is not None:
            image = image or self._element(parent, "parent")["image"]
        if image is not None and image not in self.images:
            raise Reject(400, {"image": ["Invalid image."]})
        if body.get("polygon") is not None:
            if image is None:
                raise Reject(400, {"image": ["An image is required with a polygon."]})
            _check_polygon(body["polygon"])
        elif body.get("image") is None:
            image = None
        element_id = self.add_element(
            body["type"],
            body["name"],
            parent,
            image,
            body.get("polygon"),
            body["worker_run_id"],
            body.get("confidence"),
        )
        return 201, self.element_payload(element_id)

    @_route("CreateElements", "POST", r"element/(?P<id>[^/]+)/children/bulk/")
    def _create_elements(self, request: Request, id: str) -> tuple:
        parent = self._element(id)
        body = _required(request.body, "worker_run_id", "elements")
        self._check_worker_run(body)
        if not parent["image"]:
            raise Reject(400, {"parent": ["The parent element has no image."]})
        if not isinstance(body["elements"], list) or not body["elements"]:
            raise Reject(400, {"elements": ["A non-empty list is required."]})
        for item in body["elements"]:
            _required(item, "name", "type", "polygon")
            self._check_type(item["type"])
            _check_polygon(item["polygon"], "elements")
        created = [
            self.add_element(
                item["type"],
                item["name"],
                id,
                parent["image"],
                item["polygon"],
                body["worker_run_id"],
                item.get("confidence"),
            )
            for item in body["elements"]
        ]
        return 201, [{"id": element_id} for element_id in created]

    # ------------------------------------------------------------ transcriptions

    def _new_transcription(self, element_id: str, item: dict, worker_run: str) -> dict:
        _required(item, "text", "confidence")
        transcription = {
            "id": self.new_id(),
            "element_id": element_id,
            "text": item["text"],
            "confidence": item["confidence"],
            "orientation": item.get("orientation", "horizontal-lr"),
            "worker_run_id": worker_run,
            "worker_version_id": self.worker_version_id,
        }
        self.transcriptions.append(transcription)
        return transcription

    @_route("CreateTranscription", "POST", r"element/(?P<id>[^/]+)/transcription/")
    def _create_transcription(self, request: Request, id: str) -> tuple:
        self._element(id)
        body = _required(request.body, "worker_run_id")
        self._check_worker_run(body)
        created = self._new_transcription(id, body, body["worker_run_id"])
        return 201, {k: v for k, v in created.items() if k != "element_id"}

    @_route("CreateTranscriptions", "POST", r"transcription/bulk/")
    def _create_transcriptions(self, request: Request) -> tuple:
        body = _required(request.body, "worker_run_id", "transcriptions")
        self._check_worker_run(body)
        for item in body["transcriptions"]:
            self._element(_required(item, "element_id")["element_id"], "element_id")
        created = [
            self._new_transcription(item["element_id"], item, body["worker_run_id"])
            for item in body["transcriptions"]
        ]
        return 201, {"worker_run_id": body["worker_run_id"], "transcriptions": created}

    # ------------------------------------------------------------ classifications

    def _classes_payload(self) -> list[dict]:
        return [{"id": i, "name": n} for n, i in self.ml_classes.items()]

    @_route("ListCorpusMLClasses", "GET", r"corpus/(?P<id>[^/]+)/classes/")
    def _list_ml_classes(self, request: Request, id: str) -> tuple:
        self._check_corpus(id)
        return self._page(request, self._classes_payload())

    @_route("CreateMLClass", "POST", r"corpus/(?P<id>[^/]+)/classes/")
    def _create_ml_class(self, request: Request, id: str) -> tuple:
        self._check_corpus(id)
        name = _required(request.body, "name")["name"]
        if name in self.ml_classes:
            raise Reject(400, {"non_field_errors": ["This class already exists."]})
        self.ml_classes[name] = self.new_id()
        return 201, {"id": self.ml_classes[name], "name": name}

    @_route("CreateClassification", "POST", r"classifications/")
    def _create_classification(self, request: Request) -> tuple:
        body = _required(
            request.body, "element", "ml_class", "worker_run_id", "confidence"
        )
        self._check_worker_run(body)
        self._element(body["element"], "element")
        if body["ml_class"] not in self.ml_classes.values():
            raise Reject(400, {"ml_class": ["Invalid ML class."]})
        key = (body["element"], body["ml_class"])
        if any((c["element"], c["ml_class"]) == key for c in self.classifications):
            raise Reject(
                400,
                {
                    "non_field_errors": [
                        "The fields element, worker_run, ml_class must make a unique set."
                    ]
                },
            )
        classification = {
            "id": self.new_id(),
            "element": body["element"],
            "ml_class": body["ml_class"],
            "confidence": body["confidence"],
            "high_confidence": body.get("high_confidence", False),
            "state": "pending",
            "worker_run_id": body["worker_run_id"],
        }
        self.classifications.append(classification)
        return 201, classification

    # ------------------------------------------------------------ metadata & entities

    @_route("CreateMetaData", "POST", r"element/(?P<id>[^/]+)/metadata/")
    def _create_metadata(self, request: Request, id: str) -> tuple:
        self._element(id)
        body = _required(request.body, "type", "name", "value", "worker_run_id")
        self._check_worker_run(body)
        metadata = {"id": self.new_id(), "element_id": id, "dates": [], **body}
        self.metadata.append(metadata)
        return 201, metadata

    @_route("ListCorpusEntityTypes", "GET", r"corpus/(?P<id>[^/]+)/entity-types/")
    def _list_entity_types(self, request: Request, id: str) -> tuple:
        self._check_corpus(id)
        types = [
            {"id": i, "name": n, "color": "ff0000"}
            for n, i in self.entity_types.items()
        ]
        return self._page(request, types)

    @_route("CreateEntityType", "POST", r"entity/types/")
    def _create_entity_type(self, request: Request) -> tuple:
        body = _required(request.body, "name", "corpus")
        self._check_corpus(body["corpus"])
        if body["name"] in self.entity_types:
            raise Reject(400, {"name": ["This entity type already exists."]})
        self.entity_types[body["name"]] = self.new_id()
        return 201, {"id": self.entity_types[body["name"]], **body}

    @_route("CreateEntity", "POST", r"entity/")
    def _create_entity(self, request: Request) -> tuple:
        body = _required(request.body, "name", "type_id", "corpus", "worker_run_id")
        self._check_worker_run(body)
        if body["corpus"] != self.corpus_id:
            raise Reject(400, {"corpus": ["Invalid corpus."]})
        if body["type_id"] not in self.entity_types.values():
            raise Reject(400, {"type_id": ["Invalid entity type."]})
        entity = {"id": self.new_id(), **body}
        self.entities.append(entity)
        return 201, entity

    @_route("CreateTranscriptionEntity", "POST", r"transcription/(?P<id>[^/]+)/entity/")
    def _create_transcription_entity(self, request: Request, id: str) -> tuple:
        if id not in {t["id"] for t in self.transcriptions}:
            raise Reject(404, NOT_FOUND)
        body = _required(request.body, "entity", "offset", "length", "worker_run_id")
        self._check_worker_run(body)
        if body["entity"] not in {e["id"] for e in self.entities}:
            raise Reject(400, {"entity": ["Invalid entity."]})
        link = {"transcription": id, **body}
        self.transcription_entities.append(link)
        return 201, {k: v for k, v in link.items() if k != "transcription"}
