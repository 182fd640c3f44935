"""One contract for the three API clients: `ApiClient`, and the same refusals.

The real client (its server schema being the bundled document), the offline
client and the mock refuse an invalid call with the same `ClientError` messages,
from `arkindex_worker.api.validation`.
"""

from __future__ import annotations

import json

import pytest
import responses

from arkindex_worker.api import ArkindexClient, ClientError
from arkindex_worker.api.protocol import ApiClient
from arkindex_worker.api.schema import BUNDLED_SCHEMA
from arkindex_worker.offline import OfflineClient
from arkindex_worker.testing import MockApiClient
from tests.conftest import BASE_URL

SCHEMA_URL = "http://testserver/api/v1/openapi/?format=json"
ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
CLIENTS = ["online", "offline", "mock"]


@pytest.fixture
def online():
    """A real client whose server serves the bundled document as its schema."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as server:
        server.get(SCHEMA_URL, json=json.loads(BUNDLED_SCHEMA.read_text()))
        yield ArkindexClient(base_url=BASE_URL)
        assert [call.request.url for call in server.calls] in ([], [SCHEMA_URL])


@pytest.fixture
def offline(cache_path):
    client = OfflineClient()
    yield client
    client.close()


@pytest.fixture
def mock():
    return MockApiClient()


@pytest.fixture(params=CLIENTS)
def any_client(request):
    return request.getfixturevalue(request.param)


def refusal(call) -> list[tuple[str, str]]:
    with pytest.raises(ClientError) as error:
        call()
    return [(message.text, message.code) for message in error.value.messages]


def unknown(name: str, operation: str) -> tuple[str, str]:
    return (
        f"Unknown parameter {name!r} for operation {operation!r}.",
        "invalid-parameter",
    )


def missing(name: str) -> tuple[str, str]:
    return (f"Missing required parameter {name!r}.", "required")


NOT_FOUND = ("Operation ID 'NoSuchOperation' not found in schema.", "invalid-operation")


def test_every_client_is_an_api_client(any_client):
    assert isinstance(any_client, ApiClient)


def test_a_client_needs_both_methods():
    class RequestOnly:
        def request(self, operation_id, **parameters): ...

    assert not isinstance(RequestOnly(), ApiClient)
    assert not isinstance(object(), ApiClient)


@pytest.mark.parametrize(
    ("operation", "parameters", "expected"),
    [
        pytest.param(
            "RetrieveElement",
            {"id": ELEMENT_ID, "with_zonez": True},
            [unknown("with_zonez", "RetrieveElement")],
            id="unknown-parameter",
        ),
        pytest.param("NoSuchOperation", {"id": 1}, [NOT_FOUND], id="unknown-operation"),
        pytest.param("RetrieveElement", {}, [missing("id")], id="missing-path"),
        pytest.param(
            "RetrieveElement",
            {"id": None},
            [("Path parameter 'id' must not be None.", "invalid-parameter")],
            id="none-path",
        ),
        pytest.param(
            "CreateMetaData", {"id": ELEMENT_ID}, [missing("body")], id="no-body"
        ),
        pytest.param(
            "CreateMetaData",
            {"bogus": 1, "body": {}},
            [unknown("bogus", "CreateMetaData"), missing("id")],
            id="several",
        ),
    ],
)
def test_request_refusals_are_the_same(any_client, operation, parameters, expected):
    assert refusal(lambda: any_client.request(operation, **parameters)) == expected


@pytest.mark.parametrize(
    ("operation", "parameters", "expected"),
    [
        pytest.param(
            "ListElementChildren",
            {"id": ELEMENT_ID, "bogus": 1},
            [unknown("bogus", "ListElementChildren")],
            id="unknown-parameter",
        ),
        pytest.param("NoSuchOperation", {}, [NOT_FOUND], id="unknown-operation"),
        pytest.param("ListElementChildren", {}, [missing("id")], id="missing-path"),
        pytest.param(
            "ListElementChildren",
            {"id": ELEMENT_ID, "retries": 2, "allow_missing_data": True, "typ": "x"},
            [unknown("typ", "ListElementChildren")],
            id="pagination-keywords-accepted",
        ),
    ],
)
def test_paginate_refusals_are_the_same(any_client, operation, parameters, expected):
    assert refusal(lambda: list(any_client.paginate(operation, **parameters))) == (
        expected
    )


# The mock does not tell `request` from `paginate` (upstream's mock neither): it
# ignores the pagination keywords in both, where the real client refuses them in
# a request, and in the `paginate` of an operation that is not paginated.
@pytest.mark.parametrize("client_name", ["online", "offline"])
@pytest.mark.parametrize(
    ("method", "operation"),
    [
        pytest.param("request", "ListCorpusMLClasses", id="request"),
        pytest.param("paginate", "ListElementMetaData", id="paginate-not-paginated"),
    ],
)
def test_pagination_keywords_outside_pagination(
    request, client_name, method, operation
):
    client = request.getfixturevalue(client_name)

    assert refusal(
        lambda: getattr(client, method)(operation, id=ELEMENT_ID, retries=2)
    ) == [unknown("retries", operation)]
