"""Success answers that are not the JSON an operation returns: UnexpectedContentError."""

from __future__ import annotations

import logging

import pytest

from arkindex_worker.api import DownloadedFile, ErrorResponse
from arkindex_worker.api.errors import UnexpectedContentError
from arkindex_worker.cli import run_worker
from tests.conftest import PROCESS_ID, WORKER_RUN_ID, api_url

ELEMENT_URL = api_url("element/1/")
PAGE = b"<!DOCTYPE html><html><head><title>Arkindex</title></head><body></body></html>"
WEB_PAGE = "the API URL may point at a web page, or a proxy answered"


def html_error(url: str, media: str = "text/html", status: int = 200) -> str:
    return (
        f"Operation RetrieveElement expected JSON, got an HTML page "
        f"({media}, HTTP {status} from {url}): {WEB_PAGE}"
    )


@pytest.mark.parametrize(
    ("content_type", "body", "media"),
    [
        pytest.param("text/html; charset=utf-8", PAGE, "text/html", id="html"),
        pytest.param("application/json", PAGE, "application/json", id="json-type"),
        pytest.param(None, PAGE, "no Content-Type", id="no-type"),
        pytest.param("text/plain", PAGE, "text/plain", id="text-type"),
        pytest.param(
            "text/html",
            b"\n  <html lang='en'><body/></html>",
            "text/html",
            id="html-tag",
        ),
        pytest.param(
            "text/html", b"\xef\xbb\xbf<!doctype html><p>", "text/html", id="bom"
        ),
    ],
)
def test_html_page_for_a_json_operation(
    client, mock_api, sleeps, content_type, body, media
):
    mock_api.get(ELEMENT_URL, body=body, content_type=content_type)
    with pytest.raises(UnexpectedContentError) as e:
        client.request("RetrieveElement", id=1)
    assert str(e.value) == html_error(ELEMENT_URL, media)
    assert len(mock_api.calls) == 1
    assert sleeps == []


def test_error_attributes(client, mock_api):
    mock_api.get(ELEMENT_URL, body=PAGE, status=203, content_type="text/html")
    with pytest.raises(UnexpectedContentError) as e:
        client.request("RetrieveElement", id=1)
    assert (
        e.value.operation_id,
        e.value.status_code,
        e.value.content_type,
        e.value.url,
    ) == ("RetrieveElement", 203, "text/html", ELEMENT_URL)


def test_is_a_value_error_not_an_api_error(client, mock_api):
    """Callers catching ErrorResponse must not mistake it for a 4xx/5xx answer."""
    mock_api.get(ELEMENT_URL, body=PAGE, content_type="text/html")
    with pytest.raises(ValueError) as e:
        client.request("RetrieveElement", id=1)
    assert not isinstance(e.value, ErrorResponse)


def test_write_answered_with_html_is_not_sent_again(client, mock_api, sleeps):
    url = api_url("classifications/")
    mock_api.post(url, body=PAGE, status=201, content_type="text/html")
    with pytest.raises(UnexpectedContentError) as e:
        client.request("CreateClassification", body={"element": "e"})
    assert str(e.value) == (
        "Operation CreateClassification expected JSON, got an HTML page "
        f"(text/html, HTTP 201 from {url}): {WEB_PAGE}"
    )
    assert len(mock_api.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("content_type", "body", "media", "detail"),
    [
        pytest.param(
            "application/json",
            b"{'id': 1}",
            "application/json",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            id="not-json",
        ),
        pytest.param(
            None,
            b'{"id": 1',
            "no Content-Type",
            "Expecting ',' delimiter: line 1 column 9 (char 8)",
            id="truncated-no-type",
        ),
        pytest.param(
            "application/json",
            b'"\xff"',
            "application/json",
            "'utf-8' codec can't decode byte 0xff in position 1: invalid start byte",
            id="not-utf8",
        ),
    ],
)
def test_invalid_json_body(client, mock_api, content_type, body, media, detail):
    mock_api.get(ELEMENT_URL, body=body, content_type=content_type)
    with pytest.raises(UnexpectedContentError) as e:
        client.request("RetrieveElement", id=1)
    assert str(e.value) == (
        "Operation RetrieveElement expected JSON, got an invalid JSON body "
        f"({media}, HTTP 200 from {ELEMENT_URL}): {detail}"
    )
    assert isinstance(e.value.__cause__, ValueError)


def test_html_fragment_stays_text(client, mock_api):
    """Only whole documents are pages: a text answer may hold markup."""
    mock_api.get(ELEMENT_URL, body=b"<b>bold</b>", content_type="text/html")
    assert client.request("RetrieveElement", id=1) == "<b>bold</b>"


def test_download_operation_may_be_html(client, mock_api):
    url = api_url("task/t/artifact/report.html")
    mock_api.get(url, body=PAGE, content_type="text/html")
    with client.request("DownloadArtifact", id="t", path="report.html") as file:
        assert isinstance(file, DownloadedFile)
        assert file.read() == PAGE


@pytest.mark.parametrize("status", [404, 502])
def test_error_status_with_html_stays_an_error_response(client, mock_api, status):
    client.retry_policy = type(client.retry_policy)(attempts=1)
    mock_api.get(ELEMENT_URL, body=PAGE, status=status, content_type="text/html")
    with pytest.raises(ErrorResponse) as e:
        client.request("RetrieveElement", id=1)
    assert e.value.content == PAGE.decode()


def test_paginator_stops_at_once(client, mock_api, sleeps):
    url = api_url(f"process/{PROCESS_ID}/sets/")
    mock_api.get(url, body=PAGE, content_type="text/html")
    with pytest.raises(UnexpectedContentError, match="^Operation ListProcessSets "):
        list(client.paginate("ListProcessSets", id=PROCESS_ID))
    assert len(mock_api.calls) == 1
    assert sleeps == []


def test_run_worker_reports_it_in_one_line(client, mock_api, caplog):
    url = api_url(f"process/workers/{WORKER_RUN_ID}/")
    mock_api.get(url, body=PAGE, content_type="text/html")

    class Worker:
        def run(self):
            client.request("RetrieveWorkerRun", id=WORKER_RUN_ID)

    with pytest.raises(SystemExit) as e:
        run_worker(Worker)
    assert e.value.code == 1
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.getMessage() == (
        "Worker stopped: UnexpectedContentError: Operation RetrieveWorkerRun "
        f"expected JSON, got an HTML page (text/html, HTTP 200 from {url}): "
        f"{WEB_PAGE}"
    )
    assert record.exc_info is None


def test_json_answers_unchanged(client, mock_api):
    mock_api.get(ELEMENT_URL, json={"html": "<!DOCTYPE html><html>"})
    assert client.request("RetrieveElement", id=1) == {"html": "<!DOCTYPE html><html>"}
