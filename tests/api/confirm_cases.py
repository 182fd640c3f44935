"""The writes of `tests/api/test_confirm.py`: each with its read and what it lists.

A `Case` is one write (operation, keywords, method and URL), the read that
settles its lost answer (exact URL and query), the read's answer when the write
was applied, the answer rebuilt from it, the read's answer when it was not, and
one that cannot decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from tests.api.conftest import page
from tests.conftest import CORPUS_ID, api_url

RUN = "56785678-5678-5678-5678-567856785678"
OTHER_RUN = "99999999-9999-9999-9999-999999999999"
PARENT = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
CHILD = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
LINE = "cccccccc-cccc-cccc-cccc-cccccccccccc"
TRANSCRIPTION = "dddddddd-dddd-dddd-dddd-dddddddddddd"
ENTITY = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"
CLASS = "0000aaaa-0000-0000-0000-000000000000"
TYPE = "0000bbbb-0000-0000-0000-000000000000"
SQUARE = [[0, 0], [0, 10], [10, 10], [10, 0]]
CLOSED = [*SQUARE, [0, 0]]
LOST = requests.ConnectionError("Connection reset by peer")


@dataclass
class Case:
    """A write, the read that settles it, and what the read lists."""

    operation: str
    parameters: dict
    write: tuple[str, str]
    read: str
    """The read's exact URL, query included."""
    applied: Any
    """The read's answer when the write was applied."""
    answer: Any
    """The answer rebuilt from it."""
    not_applied: Any
    ambiguous: Any = None
    """The read's answer that cannot decide (``None``: no such case)."""
    read_method: str = "GET"
    extra: list = field(default_factory=list)
    """Further reads (URL, answer when applied, answer when not)."""


def element(id: str, name: str, polygon=CLOSED, run: str = RUN, **extra) -> dict:
    return {
        "id": id,
        "type": "text_line",
        "name": name,
        "zone": {"polygon": polygon, "image": {"id": "image"}},
        "confidence": None,
        "worker_run_id": run,
        **extra,
    }


def transcription(id: str, text: str, confidence: float = 0.5, **extra) -> dict:
    return {
        "id": id,
        "text": text,
        "confidence": confidence,
        "orientation": "horizontal-lr",
        "worker_run": {"id": RUN, "summary": "Worker @ run"},
        **extra,
    }


def classification(id: str, ml_class: str = CLASS, run: str = RUN, **extra) -> dict:
    return {
        "id": id,
        "ml_class": {"id": ml_class, "name": "cat"},
        "confidence": 0.5,
        "high_confidence": False,
        "state": "pending",
        "worker_run": {"id": run, "summary": "Worker @ run"},
        **extra,
    }


def metadata(id: str, value: str = "2", run: str | None = RUN) -> dict:
    item = {
        "id": id,
        "type": "numeric",
        "name": "lines",
        "value": value,
        "dates": [],
        "entity_id": None,
    }
    if run is not None:
        item["worker_run"] = {"id": run, "summary": "Worker @ run"}
    return item


def link(id: str, offset: int = 0, **entity) -> dict:
    return {
        "id": id,
        "entity": {"id": ENTITY, "name": "Paris", "type": {"id": TYPE}, **entity},
        "offset": offset,
        "length": 5,
        "confidence": None,
        "worker_run": {"id": RUN, "summary": "Worker @ run"},
    }


ELEMENT_BODY = {
    "type": "text_line",
    "name": "Line 1",
    "image": "image",
    "corpus": CORPUS_ID,
    "polygon": SQUARE,
    "parent": PARENT,
    "worker_run_id": RUN,
    "confidence": None,
}
TRANSCRIPTIONS = [
    {"element_id": LINE, "text": "a", "confidence": 0.5},
    {"element_id": CHILD, "text": "b", "confidence": 0.5},
]
METADATA_LIST = [
    {"type": "numeric", "name": "lines", "value": "2", "entity_id": None},
    {"type": "numeric", "name": "lines", "value": "3", "entity_id": None},
]

CASES = {
    "CreateElement": Case(
        "CreateElement",
        {"body": ELEMENT_BODY},
        ("POST", api_url("elements/create/")),
        api_url(
            f"elements/{PARENT}/children/?name=Line+1&type=text_line"
            f"&with_zone=True&worker_run={RUN}"
        ),
        page([element(CHILD, "Line 1"), element(LINE, "Line 1", [[5, 5]] * 3)], 2),
        element(CHILD, "Line 1"),
        page([], 0),
        page([element(CHILD, "Line 1"), element(LINE, "Line 1")], 2),
    ),
    "CreateElement-top-level": Case(
        "CreateElement",
        {"body": {**ELEMENT_BODY, "parent": None}},
        ("POST", api_url("elements/create/")),
        api_url(
            f"corpus/{CORPUS_ID}/elements/?name=Line+1&type=text_line"
            f"&with_zone=True&worker_run={RUN}"
        ),
        page([element(CHILD, "Line 1")], 1),
        element(CHILD, "Line 1"),
        page([element(LINE, "Line 10")], 1),
    ),
    "CreateElements": Case(
        "CreateElements",
        {
            "id": PARENT,
            "body": {
                "worker_run_id": RUN,
                "elements": [
                    {"name": "1", "type": "text_line", "polygon": SQUARE},
                    {"name": "2", "type": "text_line", "polygon": SQUARE},
                ],
            },
        },
        ("POST", api_url(f"element/{PARENT}/children/bulk/")),
        api_url(
            f"elements/{PARENT}/children/?type=text_line&with_zone=True"
            f"&worker_run={RUN}"
        ),
        page([element(LINE, "2"), element(CHILD, "1")], 2),
        [{"id": CHILD}, {"id": LINE}],
        page([], 0),
        # One applied, not the other: a bulk write is applied whole or not at all
        page([element(CHILD, "1")], 1),
    ),
    "CreateElementParent": Case(
        "CreateElementParent",
        {"child": CHILD, "parent": PARENT},
        ("POST", api_url(f"element/{CHILD}/parent/{PARENT}/")),
        api_url(f"elements/{CHILD}/parents/"),
        page([element(PARENT, "Page")], 1),
        {"parent": PARENT, "child": CHILD},
        page([element(LINE, "Other page")], 1),
    ),
    "CreateElementChildren": Case(
        "CreateElementChildren",
        {"id": PARENT, "body": {"children": [CHILD, LINE]}},
        ("POST", api_url(f"element/parent/{PARENT}/")),
        api_url(f"elements/{PARENT}/children/"),
        page([element(LINE, "2"), element(CHILD, "1")], 2),
        {"children": [CHILD, LINE]},
        page([], 0),
        page([element(CHILD, "1")], 1),
    ),
    "CreateTranscription": Case(
        "CreateTranscription",
        {
            "id": LINE,
            "body": {
                "text": "Paris",
                "worker_run_id": RUN,
                "confidence": 0.5,
                "orientation": "horizontal-lr",
            },
        },
        ("POST", api_url(f"element/{LINE}/transcription/")),
        api_url(f"element/{LINE}/transcriptions/?worker_run={RUN}"),
        page([transcription(TRANSCRIPTION, "Paris"), transcription(ENTITY, "Pa")], 2),
        {
            "id": TRANSCRIPTION,
            "text": "Paris",
            "confidence": 0.5,
            "orientation": "horizontal-lr",
            "worker_run_id": RUN,
        },
        page([transcription(ENTITY, "Paris", confidence=0.6)], 1),
        page(
            [transcription(TRANSCRIPTION, "Paris"), transcription(ENTITY, "Paris")], 2
        ),
    ),
    "CreateTranscriptions": Case(
        "CreateTranscriptions",
        {"body": {"worker_run_id": RUN, "transcriptions": TRANSCRIPTIONS}},
        ("POST", api_url("transcription/bulk/")),
        api_url(f"element/{LINE}/transcriptions/?worker_run={RUN}"),
        page([transcription(TRANSCRIPTION, "a")], 1),
        {
            "worker_run_id": RUN,
            "transcriptions": [
                {
                    "id": TRANSCRIPTION,
                    "element_id": LINE,
                    "text": "a",
                    "confidence": 0.5,
                    "orientation": "horizontal-lr",
                    "worker_run_id": RUN,
                },
                {
                    "id": ENTITY,
                    "element_id": CHILD,
                    "text": "b",
                    "confidence": 0.5,
                    "orientation": "horizontal-lr",
                    "worker_run_id": RUN,
                },
            ],
        },
        page([], 0),
        extra=[
            (
                api_url(f"element/{CHILD}/transcriptions/?worker_run={RUN}"),
                page([transcription(ENTITY, "b")], 1),
                page([], 0),
            )
        ],
    ),
    "CreateElementTranscriptions": Case(
        "CreateElementTranscriptions",
        {
            "id": PARENT,
            "body": {
                "element_type": "text_line",
                "worker_run_id": RUN,
                "transcriptions": [
                    {"polygon": SQUARE, "text": "a", "confidence": 0.5},
                ],
                "return_elements": True,
            },
        },
        ("POST", api_url(f"element/{PARENT}/transcriptions/bulk/")),
        api_url(
            f"element/{PARENT}/transcriptions/?element_type=text_line"
            f"&recursive=True&worker_run={RUN}"
        ),
        None,  # applied: the created flags cannot be read back
        None,
        page([transcription(TRANSCRIPTION, "b")], 1),
        page([transcription(TRANSCRIPTION, "a")], 1),
    ),
    "CreateClassification": Case(
        "CreateClassification",
        {
            "body": {
                "element": PARENT,
                "ml_class": CLASS,
                "worker_run_id": RUN,
                "confidence": 0.5,
                "high_confidence": False,
            }
        },
        ("POST", api_url("classifications/")),
        api_url(f"element/{PARENT}/"),
        {
            "id": PARENT,
            "classifications": [
                classification(CHILD, run=OTHER_RUN),
                classification(LINE),
            ],
        },
        {
            "id": LINE,
            "element": PARENT,
            "ml_class": CLASS,
            "confidence": 0.5,
            "high_confidence": False,
            "state": "pending",
            "worker_run_id": RUN,
        },
        {"id": PARENT, "classifications": [classification(CHILD, run=OTHER_RUN)]},
        # The element's answer does not list its classifications
        {"id": PARENT},
    ),
    "CreateClassifications": Case(
        "CreateClassifications",
        {
            "body": {
                "parent": PARENT,
                "worker_run_id": RUN,
                "classifications": [
                    {"ml_class": CLASS, "confidence": 0.5, "high_confidence": False}
                ],
            }
        },
        ("POST", api_url("classification/bulk/")),
        api_url(f"element/{PARENT}/"),
        {"id": PARENT, "classifications": [classification(LINE)]},
        {
            "parent": PARENT,
            "worker_run_id": RUN,
            "classifications": [
                {
                    "id": LINE,
                    "ml_class": CLASS,
                    "confidence": 0.5,
                    "high_confidence": False,
                    "state": "pending",
                }
            ],
        },
        {"id": PARENT, "classifications": []},
        # Made before with another confidence
        {"id": PARENT, "classifications": [classification(LINE, confidence=0.9)]},
    ),
    "CreateMetaData": Case(
        "CreateMetaData",
        {
            "id": PARENT,
            "body": {
                "type": "numeric",
                "name": "lines",
                "value": "2",
                "entity_id": None,
                "worker_run_id": RUN,
            },
        },
        ("POST", api_url(f"element/{PARENT}/metadata/")),
        api_url(f"element/{PARENT}/metadata/"),
        [metadata(CHILD, run=OTHER_RUN), metadata(LINE), metadata(ENTITY, "3")],
        {
            "id": LINE,
            "type": "numeric",
            "name": "lines",
            "value": "2",
            "dates": [],
            "entity_id": None,
            "worker_run_id": RUN,
        },
        [metadata(CHILD, run=OTHER_RUN)],
        # A metadata that does not say its worker run could be this one
        [metadata(CHILD, run=None)],
    ),
    "CreateMetaDataBulk": Case(
        "CreateMetaDataBulk",
        {"id": PARENT, "body": {"worker_run_id": RUN, "metadata_list": METADATA_LIST}},
        ("POST", api_url(f"element/{PARENT}/metadata/bulk/")),
        api_url(f"element/{PARENT}/metadata/"),
        [metadata(LINE, "3"), metadata(CHILD, "2")],
        {
            "worker_run_id": RUN,
            "metadata_list": [
                {k: v for k, v in metadata(CHILD, "2").items() if k != "worker_run"},
                {k: v for k, v in metadata(LINE, "3").items() if k != "worker_run"},
            ],
        },
        [],
        [metadata(LINE, "2"), metadata(CHILD, "2"), metadata(ENTITY, "3")],
    ),
    "CreateEntity": Case(
        "CreateEntity",
        {
            "body": {
                "name": "Paris",
                "type_id": TYPE,
                "metas": None,
                "validated": None,
                "corpus": CORPUS_ID,
                "worker_run_id": RUN,
            }
        },
        ("POST", api_url("entity/")),
        api_url(f"corpus/{CORPUS_ID}/entities/?name=Paris"),
        page(
            [
                {
                    "id": ENTITY,
                    "name": "Paris",
                    "type": {"id": TYPE},
                    "worker_run_id": RUN,
                },
                {
                    "id": LINE,
                    "name": "Paris 2",
                    "type": {"id": TYPE},
                    "worker_run_id": RUN,
                },
            ],
            2,
        ),
        {
            "id": ENTITY,
            "name": "Paris",
            "type_id": TYPE,
            "metas": None,
            "validated": None,
            "corpus": CORPUS_ID,
            "worker_run_id": RUN,
        },
        page(
            [
                {
                    "id": LINE,
                    "name": "Paris",
                    "type": {"id": TYPE},
                    "worker_run_id": OTHER_RUN,
                }
            ],
            1,
        ),
        page(
            [
                {
                    "id": ENTITY,
                    "name": "Paris",
                    "type": {"id": TYPE},
                    "worker_run_id": RUN,
                },
                {
                    "id": LINE,
                    "name": "Paris",
                    "type": {"id": TYPE},
                    "worker_run_id": RUN,
                },
            ],
            2,
        ),
    ),
    "CreateTranscriptionEntity": Case(
        "CreateTranscriptionEntity",
        {
            "id": TRANSCRIPTION,
            "body": {"entity": ENTITY, "length": 5, "offset": 0, "worker_run_id": RUN},
        },
        ("POST", api_url(f"transcription/{TRANSCRIPTION}/entity/")),
        api_url(f"transcription/{TRANSCRIPTION}/entities/?worker_run={RUN}"),
        page([link(LINE, offset=7), link(CHILD)], 2),
        {"entity": ENTITY, "length": 5, "offset": 0, "worker_run_id": RUN},
        page([link(LINE, offset=7)], 1),
        page([link(LINE), link(CHILD)], 2),
    ),
    "CreateTranscriptionEntity@0.6": Case(
        "CreateTranscriptionEntity@0.6",
        {
            "id": TRANSCRIPTION,
            "body": {"type_id": TYPE, "length": 5, "offset": 0, "worker_run_id": RUN},
        },
        ("POST", api_url(f"transcription/{TRANSCRIPTION}/entities/")),
        api_url(f"transcription/{TRANSCRIPTION}/entities/?worker_run={RUN}"),
        page([link(LINE, offset=7), link(CHILD)], 2),
        {"type_id": TYPE, "length": 5, "offset": 0, "worker_run_id": RUN},
        page([link(LINE, type={"id": CLASS})], 1),
        page([link(LINE), link(CHILD)], 2),
    ),
    "CreateTranscriptionEntities": Case(
        "CreateTranscriptionEntities",
        {
            "id": TRANSCRIPTION,
            "body": {
                "worker_run_id": RUN,
                "entities": [
                    {"name": "Paris", "type_id": TYPE, "offset": 0, "length": 5},
                ],
            },
        },
        ("POST", api_url(f"transcription/{TRANSCRIPTION}/entities/bulk/")),
        api_url(f"transcription/{TRANSCRIPTION}/entities/?worker_run={RUN}"),
        page([link(CHILD)], 1),
        {"entities": [{"transcription_entity_id": CHILD, "entity_id": ENTITY}]},
        page([link(CHILD, name="London")], 1),
        page([link(CHILD), link(LINE)], 2),
    ),
    "CreateEntityType": Case(
        "CreateEntityType",
        {"body": {"name": "person", "corpus": CORPUS_ID}},
        ("POST", api_url("entity/types/")),
        api_url(f"corpus/{CORPUS_ID}/entity-types/"),
        page([{"id": TYPE, "name": "person", "color": "ff0000"}], 1),
        {"id": TYPE, "name": "person", "color": "ff0000", "corpus": CORPUS_ID},
        page([{"id": TYPE, "name": "place", "color": "ff0000"}], 1),
    ),
    "CreateMLClass": Case(
        "CreateMLClass",
        {"id": CORPUS_ID, "body": {"name": "cat"}},
        ("POST", api_url(f"corpus/{CORPUS_ID}/classes/")),
        api_url(f"corpus/{CORPUS_ID}/classes/"),
        page([{"id": CLASS, "name": "cat"}, {"id": TYPE, "name": "dog"}], 2),
        {"id": CLASS, "name": "cat"},
        page([{"id": TYPE, "name": "dog"}], 1),
    ),
    "CreateElementType": Case(
        "CreateElementType",
        {
            "body": {
                "slug": "page",
                "display_name": "Page",
                "folder": False,
                "corpus": CORPUS_ID,
            }
        },
        ("POST", api_url("elements/type/")),
        api_url(f"corpus/{CORPUS_ID}/"),
        {"id": CORPUS_ID, "types": [{"id": TYPE, "slug": "page", "folder": False}]},
        {
            "id": TYPE,
            "slug": "page",
            "display_name": "Page",
            "folder": False,
            "corpus": CORPUS_ID,
        },
        {"id": CORPUS_ID, "types": [{"id": TYPE, "slug": "folder"}]},
        {"id": CORPUS_ID},
    ),
}

DECIDABLE = [name for name, case in CASES.items() if case.applied is not None]
AMBIGUOUS = [name for name, case in CASES.items() if case.ambiguous is not None]
