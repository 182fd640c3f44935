"""The operations served by the Arkindex API double, over its in-memory corpus.

Each handler is registered for one operationId, HTTP method and path (relative to
``/api/v1/``); it returns ``(status, JSON payload)`` or raises `Reject` to answer
an error, as the Arkindex API would (DRF-style 400 bodies, 404, 409).

The IIIF image server of the corpus's images is here too (`ArkindexRoutes.iiif`,
outside ``/api/v1/``): ``info.json`` and image requests, answered with real
JPEG (or PNG) bytes made with Pillow (imported on the first image request only).
"""

from __future__ import annotations

import functools
import io
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode

from tests.e2e.corpus import Corpus

__all__ = [
    "IIIF_IMAGE",
    "IIIF_INFO",
    "IIIF_PREFIX",
    "ROUTES",
    "ArkindexRoutes",
    "Reject",
    "Request",
    "page_jpeg",
]

API_PREFIX = "/api/v1/"
IIIF_PREFIX = "/iiif/"
"""Path of the IIIF image server: ``/iiif/{image_id}/...``."""
IIIF_IMAGE = "IIIFImage"
"""Operation recorded for an image request (``{region}/{size}/{rotation}/{quality}.{format}``)."""
IIIF_INFO = "IIIFInfo"
"""Operation recorded for an ``info.json`` request."""
IIIF_FORMATS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png")}
IIIF_QUALITIES = {
    "default": None,
    "color": None,
    "native": None,
    "gray": "L",
    "bitonal": "1",
}
"""IIIF qualities and the Pillow mode they convert to (``None``: as is)."""
JPEG_QUALITY = 85
TEXT = {"Content-Type": "text/plain; charset=utf-8"}
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

    # ------------------------------------------------------------ IIIF server

    def iiif(self, method: str, path: str) -> tuple[str, int, dict, Any]:
        """Answer a request to the IIIF server; ``path`` relative to `IIIF_PREFIX`.

        ``{image_id}/info.json`` (IIIF 2) or ``{image_id}/{region}/{size}/
        {rotation}/{quality}.{format}`` (see `iiif_image`). No token is needed,
        as on a real IIIF server. Thread-safe: it only reads the corpus.

        Returns:
            ``(operation, status, headers, payload)``, the operation `IIIF_INFO`
            or `IIIF_IMAGE`, the payload bytes, a JSON object or an error text.
        """
        image_id, _, rest = path.partition("/")
        operation = IIIF_INFO if rest == "info.json" else IIIF_IMAGE
        headers: dict = {}
        try:
            image = self.images.get(unquote(image_id))
            if image is None:
                raise Reject(404, "Image not found")
            if method != "GET":
                raise Reject(405, "Method not allowed")
            width, height = image["width"], image["height"]
            if operation == IIIF_INFO:
                return operation, 200, {}, self._iiif_info(image["id"], width, height)
            parts = [unquote(part) for part in rest.split("/")]
            if len(parts) != 4:
                raise Reject(400, f"Invalid image request: {rest}")
            status, headers, payload = iiif_image(width, height, *parts)
        except Reject as reject:
            status, payload = reject.status, reject.content
            headers = TEXT if isinstance(payload, str) else {}
        return operation, status, headers, payload

    def _iiif_info(self, image_id: str, width: int, height: int) -> dict:
        return {
            "@context": "http://iiif.io/api/image/2/context.json",
            "@id": f"{self.iiif_base_url()}{image_id}",
            "protocol": "http://iiif.io/api/image",
            "width": width,
            "height": height,
            "profile": ["http://iiif.io/api/image/2/level2.json"],
        }


# ------------------------------------------------------------------ IIIF images


@functools.lru_cache(maxsize=8)
def page_jpeg(width: int, height: int) -> bytes:
    """A scanned page of ``width`` × ``height`` pixels, as JPEG bytes.

    A parchment-like gradient, lines of dark "words" and a little seeded noise,
    encoded once per size (about 250 KB for 1000 × 1500), so that a worker
    downloads and decodes what a real page weighs. Same size, same bytes.
    """
    from PIL import Image, ImageChops, ImageDraw

    draws = random.Random(f"page-{width}x{height}")
    gradient = Image.linear_gradient("L").resize((width, height))
    page = Image.merge(
        "RGB",
        [
            gradient.point(lambda v: 215 + v // 8),
            gradient.point(lambda v: 200 + v // 8),
            gradient.point(lambda v: 170 + v // 10),
        ],
    )
    pen = ImageDraw.Draw(page)
    margin = min(80, width // 10)
    for top in range(margin, height - margin, 45):
        left = margin
        while left < width - margin:
            right = min(left + draws.randint(20, 90), width - margin)
            pen.rectangle(
                [left, top, right, top + draws.randint(14, 24)], fill=(60, 45, 30)
            )
            left = right + draws.randint(10, 25)
    # Uniform noise of standard deviation ~3 around 0 (randbytes' is ~74)
    noise_lut = [max(0, min(255, 128 + round((v - 128) * 3 / 74))) for v in range(256)]
    noise = Image.frombytes(
        "L", (width, height), draws.randbytes(width * height)
    ).point(noise_lut)
    page = ImageChops.add(page, Image.merge("RGB", [noise] * 3), 1, -128)
    output = io.BytesIO()
    page.save(output, "JPEG", quality=JPEG_QUALITY)
    return output.getvalue()


@functools.lru_cache(maxsize=8)
def _decoded_page(width: int, height: int) -> Any:
    """`page_jpeg` decoded (crops and resizes are cut from what is served whole)."""
    from PIL import Image

    image = Image.open(io.BytesIO(page_jpeg(width, height)))
    image.load()
    return image


def _iiif_region(region: str, width: int, height: int) -> tuple[int, int, int, int]:
    """The IIIF region as a box ``(left, top, right, bottom)`` clipped to the image."""
    if region == "full":
        return 0, 0, width, height
    if region == "square":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side, top + side
    percent = region.startswith("pct:")
    values = region[4:] if percent else region
    try:
        x, y, w, h = (float(v) if percent else int(v) for v in values.split(","))
    except ValueError:
        raise Reject(400, f"Invalid region: {region}")
    if percent:
        x, w = x * width / 100, w * width / 100
        y, h = y * height / 100, h * height / 100
    box = (
        max(0, round(x)),
        max(0, round(y)),
        min(width, round(x + w)),
        min(height, round(y + h)),
    )
    if w <= 0 or h <= 0 or box[0] >= box[2] or box[1] >= box[3]:
        raise Reject(400, f"Invalid region: {region}")
    return box


def _iiif_size(size: str, width: int, height: int) -> tuple[int, int]:
    """The IIIF size (2 and 3: ``max``, ``^`` upscaling) of a ``width`` × ``height`` region."""
    size = size.removeprefix("^")
    if size in ("full", "max"):
        return width, height
    try:
        if size.startswith("pct:"):
            ratio = float(size[4:]) / 100
            wanted = (round(width * ratio), round(height * ratio))
        else:
            fit = size.startswith("!")
            w_text, _, h_text = size.removeprefix("!").partition(",")
            w = int(w_text) if w_text else None
            h = int(h_text) if h_text else None
            if fit and w and h:
                ratio = min(w / width, h / height)
                wanted = (round(width * ratio), round(height * ratio))
            elif w and h and not fit:
                wanted = (w, h)
            elif w and h_text == "":
                wanted = (w, round(height * w / width))
            elif h and w_text == "":
                wanted = (round(width * h / height), h)
            else:
                raise ValueError(size)
    except ValueError:
        raise Reject(400, f"Invalid size: {size}")
    if min(wanted) < 1:
        raise Reject(400, f"Invalid size: {size}")
    return wanted


def iiif_image(
    width: int, height: int, region: str, size: str, rotation: str, filename: str
) -> tuple[int, dict, bytes]:
    """Answer a IIIF image request on the `page_jpeg` of that size.

    Region (``full``, ``square``, ``x,y,w,h``, ``pct:…``), size (``full``,
    ``max``, ``w,``, ``,h``, ``w,h``, ``!w,h``, ``pct:n``, with IIIF 3's ``^``),
    rotation (multiples of 90°, ``!`` to mirror first), quality (``default``,
    ``color``, ``native``, ``gray``, ``bitonal``) and format (``jpg``, ``png``)
    are all honoured. The whole image as a JPEG (the usual request of a page:
    its zone covers it) is answered with the cached `page_jpeg` bytes; any other
    request is cut from the decoded page and encoded again.

    Raises:
        Reject: a 400 (plain text) for a request out of these shapes.
    """
    quality, dot, extension = filename.partition(".")
    if not dot or extension not in IIIF_FORMATS or quality not in IIIF_QUALITIES:
        raise Reject(400, f"Invalid quality or format: {filename}")
    mirrored = rotation.startswith("!")
    try:
        angle = float(rotation.removeprefix("!"))
    except ValueError:
        raise Reject(400, f"Invalid rotation: {rotation}")
    if angle % 90 or not 0 <= angle < 360:
        raise Reject(400, f"Unsupported rotation (multiples of 90 only): {rotation}")
    box = _iiif_region(region, width, height)
    wanted = _iiif_size(size, box[2] - box[0], box[3] - box[1])
    pillow_format, content_type = IIIF_FORMATS[extension]
    headers = {"Content-Type": content_type}
    whole = box == (0, 0, width, height) and wanted == (width, height)
    as_is = not mirrored and not angle and IIIF_QUALITIES[quality] is None
    if whole and as_is and extension == "jpg":
        return 200, headers, page_jpeg(width, height)

    from PIL import Image

    image = _decoded_page(width, height)
    if not whole:
        image = image.crop(box).resize(wanted)
    if mirrored:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if angle:
        image = image.rotate(-angle, expand=True)
    if IIIF_QUALITIES[quality] is not None:
        image = image.convert(IIIF_QUALITIES[quality])
    output = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if pillow_format == "JPEG" else {}
    image.save(output, pillow_format, **options)
    return 200, headers, output.getvalue()
