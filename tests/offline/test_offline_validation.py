"""Offline, a call is refused exactly as the API client refuses it."""

from __future__ import annotations

import pytest

from arkindex_worker.api import ArkindexClient, ClientError
from arkindex_worker.api.schema import BUNDLED_SCHEMA
from arkindex_worker.cache import CachedElement
from arkindex_worker.offline import (
    OfflineClient,
    OfflineMetaData,
    OfflineUnavailableError,
    stable_id,
)

PAGE_ID = "11111111-0000-0000-0000-000000000001"
METADATA = {"type": "text", "name": "lang", "value": "fr"}


@pytest.fixture
def offline(cache_path):
    CachedElement.create(id=PAGE_ID, type="page", initial=True)
    client = OfflineClient()
    yield client
    client.close()


@pytest.fixture
def online():
    """The real client on the bundled table, which it never needs to download."""
    return ArkindexClient(schema_url=str(BUNDLED_SCHEMA))


def refusal(call) -> list[tuple[str, str]]:
    with pytest.raises(ClientError) as error:
        call()
    return [(message.text, message.code) for message in error.value.messages]


@pytest.mark.parametrize(
    ("operation", "parameters"),
    [
        pytest.param(
            "RetrieveElement", {"id": PAGE_ID, "with_zonez": True}, id="unknown"
        ),
        pytest.param("RetrieveElemnt", {"id": PAGE_ID}, id="unknown-operation"),
        pytest.param("RetrieveElement", {"id": None}, id="none-path"),
        pytest.param("CreateMetaData", {"body": METADATA}, id="missing-path"),
    ],
)
def test_request_refused_as_online(offline, online, operation, parameters):
    expected = refusal(lambda: online.request(operation, **parameters))

    assert refusal(lambda: offline.request(operation, **parameters)) == expected


def test_with_zonez_is_refused(offline):
    assert refusal(
        lambda: offline.request("RetrieveElement", id=PAGE_ID, with_zonez=True)
    ) == [
        (
            "Unknown parameter 'with_zonez' for operation 'RetrieveElement'.",
            "invalid-parameter",
        )
    ]


def test_paginate_refused_as_online(offline, online):
    parameters = {"id": PAGE_ID, "nam": "x"}
    expected = refusal(
        lambda: list(online.paginate("ListCorpusEntities", **parameters))
    )

    assert refusal(lambda: offline.paginate("ListCorpusEntities", **parameters)) == (
        expected
    )
    assert expected == [
        (
            "Unknown parameter 'nam' for operation 'ListCorpusEntities'.",
            "invalid-parameter",
        )
    ]


def test_paginate_unknown_operation(offline):
    assert refusal(lambda: offline.paginate("ListNothing", id=PAGE_ID)) == [
        ("Operation ID 'ListNothing' not found in schema.", "invalid-operation")
    ]


def test_paginate_accepts_the_paginator_keywords(offline):
    offline.request("CreateMLClass", id="corpus", body={"name": "cat"})

    assert offline.paginate(
        "ListCorpusMLClasses", id="corpus", retries=2, allow_missing_data=True
    ) == [{"id": stable_id("class", "cat"), "name": "cat"}]


def test_a_refused_call_writes_nothing(offline):
    with pytest.raises(ClientError):
        offline.request("CreateMetaData", id=PAGE_ID, body=METADATA, bogus=1)

    assert OfflineMetaData.select().count() == 0
    offline.request("CreateMetaData", id=PAGE_ID, body=METADATA)
    assert OfflineMetaData.select().count() == 1


def test_valid_call_unavailable_offline(offline):
    with pytest.raises(OfflineUnavailableError):
        offline.request("RetrieveTask", id=PAGE_ID)


def test_invalid_call_unavailable_offline_is_refused_first(offline):
    assert refusal(lambda: offline.request("RetrieveTask")) == [
        ("Missing required parameter 'id'.", "required")
    ]
