"""Rows of the offline database that read like the API's payloads (our addition).

Online, the element listings yield API dicts (``line["id"]``, ``line["zone"]``);
offline they read the cache, whose rows are `CachedElement` and
`CachedTranscription` instances. So that one worker runs unchanged both ways,
offline listings yield [OfflineElement][arkindex_worker.offline_records.OfflineElement]
and [OfflineTranscription][arkindex_worker.offline_records.OfflineTranscription]
rows: subclasses of the cache models on the same tables, so that they

- keep every attribute and method of the cache row that 0.4 cached workers use
  (``element.image_id``, ``element.open_image()``, ``isinstance(row, CachedElement)``…);
- also answer dict access with the API's field names (``row["id"]`` is the
  ID as a str, ``row["name"]``, ``row["zone"]["polygon"]``…), and ``get``,
  ``keys``, ``items``, ``in``, ``dict(row)``;
- answer attribute access for the API fields the row lacks (``row.name``,
  ``row.zone.image.url``, ``row.corpus.id``);
- are accepted by every mixin method that takes an element, including those
  that only take an API `Element` (``create_sub_element``, the link helpers).

Where a cache column and an API field share a name, the attribute is the
column (``row.id`` is a ``uuid.UUID``, as on `CachedElement`) and the key is the
API value (``row["id"]`` a str): ``row["id"]`` and ``str(row.id)`` work the
same online and offline.

Online, with a real server, the cache listings keep returning plain
`CachedElement` rows (spec 06): [offline_rows][arkindex_worker.offline_records.offline_rows]
converts a query only when the worker runs offline.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import peewee

from arkindex_worker import iiif
from arkindex_worker.cache import CachedElement, CachedTranscription
from arkindex_worker.geometry import polygon_bounding_box
from arkindex_worker.models import MagicDict
from arkindex_worker.types import Polygon

__all__ = [
    "ApiFields",
    "OfflineElement",
    "OfflineTranscription",
    "element_payload",
    "offline_rows",
    "transcription_payload",
]

# arkindex_worker.offline.OFFLINE_CORPUS_ID (that module imports this one)
_OFFLINE_CORPUS_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "corpus:offline"))


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _zone_url(image_url: str, polygon: Polygon | str | None) -> str | None:
    """IIIF URL of the bounding box of a polygon on an image, as the API gives."""
    if isinstance(polygon, str):
        polygon = json.loads(polygon)
    if not polygon:
        return None
    region = iiif.box_region(*polygon_bounding_box(polygon))
    return iiif.image_request_url(image_url.rstrip("/"), region)


def _polygon(value: Polygon | str | None) -> Polygon | None:
    # partial_update_element stores the Python repr (spec 06): read it as the API would give it
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def element_payload(element: CachedElement) -> dict:
    """An API-shaped element dict built from a cached element.

    The cache has no element names: ``name`` is the element's ID.
    """
    zone = None
    if element.image_id is not None:
        image = element.image
        polygon = _polygon(element.polygon)
        zone = {
            "polygon": polygon,
            "image": {
                "id": str(image.id),
                "url": image.url,
                "width": image.width,
                "height": image.height,
                "s3_url": None,
                "server": {"max_width": None, "max_height": None},
            },
            "url": _zone_url(image.url, polygon),
        }
    return {
        "id": str(element.id),
        "type": element.type,
        "name": str(element.id),
        "corpus": {"id": _OFFLINE_CORPUS_ID},
        "zone": zone,
        "rotation_angle": element.rotation_angle,
        "mirrored": element.mirrored,
        "confidence": element.confidence,
        "worker_version_id": _str_or_none(element.worker_version_id),
        "worker_run_id": _str_or_none(element.worker_run_id),
    }


def transcription_payload(transcription: CachedTranscription) -> dict:
    """An API-shaped transcription dict built from a cached transcription."""
    element = transcription.element
    return {
        "id": str(transcription.id),
        "text": transcription.text,
        "confidence": transcription.confidence,
        "orientation": transcription.orientation,
        "worker_version_id": _str_or_none(transcription.worker_version_id),
        "worker_run_id": _str_or_none(transcription.worker_run_id),
        "element": {
            "id": str(element.id),
            "type": element.type,
            "name": str(element.id),
        },
    }


def _magic(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, MagicDict):
        return MagicDict(value)
    return value


class _RowGet:
    """``get`` of a row reads its payload, as ``dict.get``; of the class, peewee's query."""

    def __get__(self, row: Any, owner: type) -> Any:
        if row is None:
            return peewee.Model.__dict__["get"].__get__(None, owner)
        return functools.partial(ApiFields._get_field, row)


class ApiFields:
    """Read access to a row through its API payload, as a mapping and as attributes.

    Subclasses give the payload with `api_payload`. Attribute lookup falls back to
    the payload only for names the row itself lacks. Not a ``dict`` (a peewee row
    cannot be one): use ``dict(row)`` or `to_dict` where a real dict is needed,
    e.g. for ``json.dumps``.
    """

    def api_payload(self) -> dict:
        """The row as the API would return it."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        """A plain dict copy of `api_payload`."""
        return self.api_payload()

    def __getitem__(self, key: str) -> Any:
        return _magic(self.api_payload()[key])

    def _get_field(self, key: str, default: Any = None) -> Any:
        return _magic(self.api_payload().get(key, default))

    get = _RowGet()
    """``row.get(key, default=None)``: the API field ``key``, or ``default``.
    On the class, peewee's ``Model.get`` query."""

    def keys(self) -> Any:
        """The API field names."""
        return self.api_payload().keys()

    def values(self) -> list[Any]:
        """The API field values."""
        return [_magic(value) for value in self.api_payload().values()]

    def items(self) -> list[tuple[str, Any]]:
        """The API fields as ``(name, value)`` pairs."""
        return [(key, _magic(value)) for key, value in self.api_payload().items()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.api_payload())

    def __len__(self) -> int:
        return len(self.api_payload())

    def __contains__(self, key: object) -> bool:
        return key in self.api_payload()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the row lacks; peewee's internals start with "_"
        if not name.startswith("_"):
            payload = self.api_payload()
            if name in payload:
                return _magic(payload[name])
        raise AttributeError(f"{type(self).__name__} object has no attribute {name!r}")


class OfflineElement(ApiFields, CachedElement):
    """A `CachedElement` row that also reads as an API element payload (offline only)."""

    class Meta:
        table_name = "elements"

    def api_payload(self) -> dict:
        """The element as ``RetrieveElement`` would return it (see `element_payload`)."""
        return element_payload(self)


class OfflineTranscription(ApiFields, CachedTranscription):
    """A `CachedTranscription` row that also reads as an API transcription payload."""

    class Meta:
        table_name = "transcriptions"

    def api_payload(self) -> dict:
        """The transcription as ``ListTranscriptions`` would list it."""
        return transcription_payload(self)


Mapping.register(OfflineElement)
Mapping.register(OfflineTranscription)

_RECORDS: dict[type, type] = {
    CachedElement: OfflineElement,
    CachedTranscription: OfflineTranscription,
}


def offline_rows(worker: Any, query: peewee.ModelSelect) -> peewee.ModelSelect:
    """The cache query a listing helper returns: offline, it yields API-like rows.

    Args:
        worker: the worker; its ``is_offline`` decides.
        query: a query on `CachedElement` or `CachedTranscription`.

    Online (a real server and its cache) the query is returned unchanged, so it
    yields plain cache rows as upstream's.
    """
    record = _RECORDS.get(query.model)
    if record is None or not getattr(worker, "is_offline", False):
        return query
    return query.objects(record)
