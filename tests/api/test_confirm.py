"""Verify, then retry: the read that settles each write whose answer was lost.

Each case: the write's answer is lost (the connection reset after sending),
then the read with its exact query; applied, the answer is rebuilt from the
read (two requests); not applied, the write is sent again (three requests);
ambiguous, the `UnconfirmedWriteError` of the lost answer is raised (two).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests

from arkindex_worker.api.confirm import CONFIRMATIONS
from arkindex_worker.api.errors import UnconfirmedWriteError
from tests.api.confirm_cases import (
    AMBIGUOUS,
    CASES,
    CORPUS_ID,
    DECIDABLE,
    ENTITY,
    LINE,
    LOST,
    PARENT,
    RUN,
    TYPE,
    Case,
)
from tests.api.conftest import capture_api_logs, page
from tests.conftest import api_url


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


def test_bulk_write_of_no_known_items_keeps_the_unconfirmed_error(client, mock_api):
    """A body of another form (here 0.6's bulk links) is never taken as not applied."""
    url = api_url(f"transcription/{LINE}/entities/bulk/")
    mock_api.add("POST", url, body=LOST)
    mock_api.add("GET", api_url(f"transcription/{LINE}/entities/"), json=page([], 0))
    body = {"worker_run_id": RUN, "transcription_entities": [{"type_id": TYPE}]}
    with pytest.raises(UnconfirmedWriteError):
        client.request("CreateTranscriptionEntities", id=LINE, body=body)
    assert [c.request.method for c in mock_api.calls] == ["POST", "GET"]


def test_write_lost_each_time_is_checked_each_time(client, mock_api, sleeps):
    """Known not applied, a write is sent again as one never sent: 5 attempts."""
    case = CASES["CreateMetaData"]
    write = expect_lost_write(mock_api, case)
    read = ("GET", case.read, None)
    for _ in range(4):
        mock_api.add("GET", case.read, json=[])
        mock_api.add(*case.write, body=LOST)
    mock_api.add("GET", case.read, json=[])
    with pytest.raises(requests.ConnectionError) as error:
        client.request(case.operation, **case.parameters)
    # Known not applied: not an UnconfirmedWriteError
    assert not isinstance(error.value, UnconfirmedWriteError)
    assert calls(mock_api) == [write, read] * 5
    assert sleeps == [3, 4, 8, 16]


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


def test_activity_started_lost_twice_then_409_is_started(client, mock_api, sleeps):
    """However many answers were lost, a 409 to a re-sent ``started`` is ours."""
    parameters = activity("started")
    for _ in range(2):
        mock_api.add("PUT", ACTIVITY_URL, body=LOST)
    mock_api.add("PUT", ACTIVITY_URL, status=409, json={"detail": "Already started"})
    assert client.request("UpdateWorkerActivity", **parameters) == parameters["body"]
    assert len(mock_api.calls) == 3
    assert sleeps == [3]


def test_activity_update_lost_beyond_the_budget_is_unconfirmed(client, mock_api):
    parameters = activity("processed")
    for _ in range(4):
        mock_api.add("PUT", ACTIVITY_URL, body=LOST)
    with pytest.raises(UnconfirmedWriteError) as error:
        client.request("UpdateWorkerActivity", **parameters)
    assert error.value.__cause__ is LOST
    # The first attempt, then 1 + read_retries (2) re-sends
    assert len(mock_api.calls) == 4
