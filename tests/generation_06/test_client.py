"""Generation 0.6: the API client's pagination lines and operation table (spec 15 §17)."""

from __future__ import annotations

import logging

import pytest

from arkindex_worker import generation
from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.schema import bundled_operations
from arkindex_worker.api.validation import find_operation
from tests.conftest import API_TOKEN, BASE_URL, CORPUS_ID, PROCESS_ID, api_url

SETS_URL = api_url(f"process/{PROCESS_ID}/sets/")
DATASET_URL = api_url("datasets/d/elements/")
EXPORTS_URL = api_url(f"corpus/{CORPUS_ID}/export/")


@pytest.fixture
def client() -> ArkindexClient:
    return ArkindexClient(token=API_TOKEN, base_url=BASE_URL)


def api_lines(caplog) -> list[tuple[int, str]]:
    return [
        (level, message)
        for name, level, message in caplog.record_tuples
        if name == "arkindex_worker.api" and level >= logging.INFO
    ]


def page(results: list, count: int | None, next_url: str | None = None) -> dict:
    return {"count": count, "next": next_url, "results": results}


def test_list_exports_lines(client, mock_api, caplog):
    caplog.set_level(logging.INFO, logger="arkindex_worker.api")
    mock_api.get(EXPORTS_URL, json=page([1, 2, 3, 4, 5], count=4))

    assert list(client.paginate("ListExports", id=CORPUS_ID)) == [1, 2, 3, 4, 5]

    assert api_lines(caplog) == [
        (logging.INFO, "Loading first page on try 1/5"),
        (logging.INFO, "Pagination will load a total of 1 page."),
    ]


def test_page_mode_lines(client, mock_api, caplog):
    caplog.set_level(logging.INFO, logger="arkindex_worker.api")
    mock_api.get(SETS_URL, json=page([1, 2], count=5, next_url=SETS_URL + "?page=2"))
    mock_api.get(SETS_URL + "?page=2", status=500)
    mock_api.get(
        SETS_URL + "?page=2", json=page([3, 4], count=5, next_url=SETS_URL + "?page=3")
    )
    mock_api.get(SETS_URL + "?page=3", json=page([5], count=5))

    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == [1, 2, 3, 4, 5]

    loading = [
        m for _, m in api_lines(caplog) if m.startswith(("Loading", "Pagination"))
    ]
    assert loading == [
        "Loading first page on try 1/5",
        "Pagination will load a total of 3 pages.",
        "Loading page 2 on try 1/5 - remains 2 pages to load.",
        "Loading page 2 on try 2/5 - remains 2 pages to load.",
        "Loading page 3 on try 1/5 - remains 1 page to load.",
    ]


def test_initial_page_lines(client, mock_api, caplog):
    caplog.set_level(logging.INFO, logger="arkindex_worker.api")
    mock_api.get(
        SETS_URL + "?page=2", json=page([3, 4], count=6, next_url=SETS_URL + "?page=3")
    )
    mock_api.get(SETS_URL + "?page=3", json=page([5, 6], count=6))

    assert list(client.paginate("ListProcessSets", id=PROCESS_ID, page=2)) == [
        3,
        4,
        5,
        6,
    ]

    assert [m for _, m in api_lines(caplog)] == [
        "Loading page 2 on try 1/5",
        "Pagination will load a total of 2 pages.",
        "Loading page 3 on try 1/5 - remains 1 page to load.",
    ]


def test_cursor_lines(client, mock_api, caplog):
    caplog.set_level(logging.INFO, logger="arkindex_worker.api")
    mock_api.get(
        DATASET_URL + "?with_count=true",
        json=page(["a", "b"], count=3, next_url=DATASET_URL + "?cursor=DEF"),
    )
    mock_api.get(DATASET_URL + "?cursor=DEF", json=page(["c"], count=3))

    assert list(client.paginate("ListDatasetElements", id="d")) == ["a", "b", "c"]

    assert [m for _, m in api_lines(caplog)] == [
        "Loading first page on try 1/5",
        "Pagination will load a total of 2 pages",
        "Loading cursor DEF on try 1/5 - remains 1 page to load.",
    ]


def test_initial_cursor_lines(client, mock_api, caplog):
    caplog.set_level(logging.INFO, logger="arkindex_worker.api")
    mock_api.get(
        DATASET_URL + "?cursor=XYZ&with_count=true",
        json=page(["a"], count=3, next_url=DATASET_URL + "?cursor=DEF"),
    )
    mock_api.get(DATASET_URL + "?cursor=DEF", json=page(["b"], count=3))

    assert list(client.paginate("ListDatasetElements", id="d", cursor="XYZ")) == [
        "a",
        "b",
    ]

    assert [m for _, m in api_lines(caplog)] == [
        "Loading page XYZ on try 1/5",
        "Pagination will load a maximum of 3 pages",
        "Loading cursor DEF on try 1/5 - remains a maximum of 2 pages to load.",
    ]


def test_zero_count_logs_no_total(client, mock_api, caplog):
    caplog.set_level(logging.INFO, logger="arkindex_worker.api")
    mock_api.get(SETS_URL, json=page([], count=0))
    assert list(client.paginate("ListProcessSets", id=PROCESS_ID)) == []
    assert [m for _, m in api_lines(caplog)] == ["Loading first page on try 1/5"]


def test_no_info_lines_under_04(client, mock_api, caplog):
    generation.use(generation.GENERATION_0_4)
    caplog.set_level(logging.INFO, logger="arkindex_worker.api")
    mock_api.get(EXPORTS_URL, json=page([1], count=1))
    assert list(client.paginate("ListExports", id=CORPUS_ID)) == [1]
    assert api_lines(caplog) == []


# ---------------------------------------------------------------- operation table


def test_bundled_operations_of_spec_15():
    operations = bundled_operations()
    assert (
        operations["RetrieveDatasetSet"].method,
        operations["RetrieveDatasetSet"].url,
    ) == (
        "GET",
        "/api/v1/datasets/{dataset}/sets/{set}/",
    )
    assert operations["CreateEmbedding"].url == "/api/v1/element/{id}/embedding/"
    assert operations["ListEmbeddings"].paginated is True
    form_06 = operations["CreateTranscriptionEntity@0.6"]
    assert (form_06.method, form_06.url) == (
        "POST",
        "/api/v1/transcription/{id}/entities/",
    )
    assert (
        operations["CreateTranscriptionEntity"].url
        == "/api/v1/transcription/{id}/entity/"
    )


def test_06_form_falls_back_to_the_plain_name():
    plain = bundled_operations()["CreateTranscriptionEntity"]
    table = {"CreateTranscriptionEntity": plain}
    assert find_operation(table, "CreateTranscriptionEntity@0.6") is plain


def test_server_schema_replaces_the_06_form(client):
    server_operation = {
        "operationId": "CreateTranscriptionEntity",
        "requestBody": {"content": {"application/json": {"schema": {}}}},
        "responses": {},
    }
    document = {
        "openapi": "3.0.0",
        "paths": {
            "/api/v1/transcription/{id}/server-path/": {"post": server_operation}
        },
    }
    client._use_document(document)

    assert "CreateTranscriptionEntity@0.6" not in client.document.links
    operation = client.lookup_operation("CreateTranscriptionEntity@0.6")
    assert operation.url == "/api/v1/transcription/{id}/server-path/"
