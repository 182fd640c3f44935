"""Verify, then retry: the read that settles each write whose answer was lost.

Each case: the write's answer is lost (the connection reset after sending),
then the read with its exact query; applied, the answer is rebuilt from the
read (two requests); not applied, the write is sent again (three requests);
ambiguous, the `UnconfirmedWriteError` of the lost answer is raised (two).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from arkindex_worker.api.confirm import CONFIRMATIONS
from arkindex_worker.api.errors import UnconfirmedWriteError
from tests.api.conftest import capture_api_logs, page
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


def calls(mock_api) -> list[tuple[str, str, Any]]:
    return [
        (
            call.request.method,
            call.request.url,
            json.loads(call.request.body) if call.request.body else None,
        )
        for call in mock_api.calls
    ]


def expect_lost_write(mock_api, case: Case) -> tuple:
    method, url = case.write
    mock_api.add(method, url, body=LOST)
    return (method, url, case.parameters.get("body"))


def expect_reads(mock_api, case: Case, answer: Any, others: int) -> list[tuple]:
    mock_api.add(case.read_method, case.read.split("?")[0], json=answer)
    reads = [(case.read_method, case.read, None)]
    for url, applied, not_applied in case.extra:
        mock_api.add("GET", url.split("?")[0], json=(applied, not_applied)[others])
        reads.append(("GET", url, None))
    return reads


def test_every_publication_has_a_confirmation():
    operations = {case.operation for case in CASES.values()}
    assert operations | {"UpdateWorkerActivity"} == set(CONFIRMATIONS)


@pytest.mark.parametrize("name", DECIDABLE)
def test_applied_write_is_answered_from_the_read(client, mock_api, name, caplog):
    case = CASES[name]
    capture_api_logs(caplog)
    write = expect_lost_write(mock_api, case)
    reads = expect_reads(mock_api, case, case.applied, 0)
    assert client.request(case.operation, **case.parameters) == case.answer
    assert calls(mock_api) == [write, *reads]
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info[-1] == f"{case.operation} was applied: its answer is rebuilt"


@pytest.mark.parametrize("name", list(CASES))
def test_write_not_applied_is_sent_again(client, mock_api, name, sleeps):
    case = CASES[name]
    write = expect_lost_write(mock_api, case)
    reads = expect_reads(mock_api, case, case.not_applied, 1)
    mock_api.add(*case.write, json={"created": True}, status=201)
    assert client.request(case.operation, **case.parameters) == {"created": True}
    assert calls(mock_api) == [write, *reads, write]
    assert sleeps == [3]


@pytest.mark.parametrize("name", AMBIGUOUS)
def test_ambiguous_read_keeps_the_unconfirmed_error(client, mock_api, name, caplog):
    case = CASES[name]
    write = expect_lost_write(mock_api, case)
    reads = expect_reads(mock_api, case, case.ambiguous, 0)
    with pytest.raises(UnconfirmedWriteError) as error:
        client.request(case.operation, **case.parameters)
    assert type(error.value).__name__ == "UnconfirmedConnectionError"
    assert str(error.value).endswith("it was not sent again")
    assert error.value.__cause__ is LOST
    assert calls(mock_api) == [write, *reads]
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith(
        f"Cannot tell whether {case.operation} was applied: "
    )


def test_failed_read_keeps_the_unconfirmed_error(client, mock_api, caplog):
    case = CASES["CreateMetaData"]
    write = expect_lost_write(mock_api, case)
    mock_api.add("GET", case.read, status=403, json={"detail": "Forbidden"})
    with pytest.raises(UnconfirmedWriteError) as error:
        client.request(case.operation, **case.parameters)
    assert error.value.__cause__ is LOST
    assert calls(mock_api) == [write, ("GET", case.read, None)]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "Cannot tell whether CreateMetaData was applied: ListElementMetaData failed "
        "(403 Forbidden)"
    ]


def test_body_without_worker_run_keeps_the_unconfirmed_error(client, mock_api):
    body = {"type": "numeric", "name": "lines", "value": "2"}
    mock_api.add("POST", api_url(f"element/{PARENT}/metadata/"), body=LOST)
    with pytest.raises(UnconfirmedWriteError):
        client.request("CreateMetaData", id=PARENT, body=body)
    assert len(mock_api.calls) == 1


def test_write_lost_each_time_is_checked_each_time(client, mock_api, sleeps):
    """Two re-sends (``read_retries``), each after a read; then a plain error."""
    case = CASES["CreateMetaData"]
    write = expect_lost_write(mock_api, case)
    read = ("GET", case.read, None)
    for _ in range(2):
        mock_api.add("GET", case.read, json=[])
        mock_api.add(*case.write, body=LOST)
    mock_api.add("GET", case.read, json=[])
    with pytest.raises(requests.ConnectionError) as error:
        client.request(case.operation, **case.parameters)
    # Known not applied: not an UnconfirmedWriteError
    assert not isinstance(error.value, UnconfirmedWriteError)
    assert calls(mock_api) == [write, read, write, read, write, read]
    assert sleeps == [3, 4]


def test_entities_this_client_created_are_not_taken_for_a_lost_one(client, mock_api):
    """Many entities of one name by one run: the client knows its own."""
    case = CASES["CreateEntity"]
    body = case.parameters["body"]
    entity = {"id": LINE, "name": "Paris", "type": {"id": TYPE}, "worker_run_id": RUN}
    mock_api.add("POST", api_url("entity/"), json={**body, "id": LINE}, status=201)
    assert client.request("CreateEntity", body=body)["id"] == LINE
    write = expect_lost_write(mock_api, case)
    listed = page([entity, {**entity, "id": ENTITY}], 2)
    reads = expect_reads(mock_api, case, listed, 0)
    assert client.request("CreateEntity", body=body) == {**body, "id": ENTITY}
    assert calls(mock_api)[1:] == [write, *reads]
    # Another client does not know the first entity: the same read is undecided
    other = type(client)(token="other", base_url=client.document.url)
    mock_api.add("POST", api_url("entity/"), body=LOST)
    mock_api.add("GET", api_url(f"corpus/{CORPUS_ID}/entities/"), json=listed)
    with pytest.raises(UnconfirmedWriteError):
        other.request("CreateEntity", body=body)


def test_write_without_confirmation_is_not_read(client, mock_api):
    mock_api.add("POST", api_url("image/iiif/url/"), body=LOST)
    with pytest.raises(UnconfirmedWriteError):
        client.request("CreateIIIFURL", body={"url": "http://iiif/image"})
    assert len(mock_api.calls) == 1


# ---------------------------------------------------------------- activities

ACTIVITY_URL = api_url(f"workers/versions/{RUN}/activity/")


def activity(state: str) -> dict:
    return {
        "id": RUN,
        "body": {"element_id": PARENT, "process_id": "p", "state": state},
    }


def test_lost_activity_update_is_sent_again(client, mock_api, sleeps):
    parameters = activity("processed")
    mock_api.add("PUT", ACTIVITY_URL, body=LOST)
    mock_api.add("PUT", ACTIVITY_URL, json=parameters["body"])
    assert client.request("UpdateWorkerActivity", **parameters) == parameters["body"]
    assert calls(mock_api) == [("PUT", ACTIVITY_URL, parameters["body"])] * 2
    assert sleeps == []


def test_lost_started_activity_answered_409_is_started(client, mock_api):
    parameters = activity("started")
    mock_api.add("PUT", ACTIVITY_URL, body=LOST)
    mock_api.add("PUT", ACTIVITY_URL, status=409, json={"detail": "Already started"})
    assert client.request("UpdateWorkerActivity", **parameters) == parameters["body"]
    assert len(mock_api.calls) == 2


def test_first_409_of_a_started_activity_stays_an_error(client, mock_api):
    mock_api.add("PUT", ACTIVITY_URL, status=409, json={"detail": "Already started"})
    with pytest.raises(Exception) as error:
        client.request("UpdateWorkerActivity", **activity("started"))
    assert error.value.status_code == 409


def test_activity_update_lost_again_is_sent_within_the_budget(client, mock_api, sleeps):
    parameters = activity("processed")
    for _ in range(2):
        mock_api.add("PUT", ACTIVITY_URL, body=LOST)
    mock_api.add("PUT", ACTIVITY_URL, status=502, body="bad gateway")
    mock_api.add("PUT", ACTIVITY_URL, json=parameters["body"])
    assert client.request("UpdateWorkerActivity", **parameters) == parameters["body"]
    assert len(mock_api.calls) == 4
    assert sleeps == [3, 4]
