"""Offline, a call is refused exactly as the API client refuses it."""

from __future__ import annotations

import uuid

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


# ---------------------------------------------------------------- one validation of values
# (issue 14, item 8): the same call is refused with the same error online and
# offline, before anything is sent or written.

IMAGE_ID = "99999999-9999-9999-9999-999999999999"
SQUARE = [[0, 0], [0, 10], [10, 10], [10, 0]]
NOT_NUMBERS = "polygon points should be lists of two numbers"


@pytest.fixture(params=["online", "offline"])
def publisher(request, mock_api, api_env, cache_path, monkeypatch):
    """A publishing worker and a page: online (``responses``) or offline (the database).

    Nothing may be sent online (``mock_api`` has no registration) and nothing
    written offline: each test checks the database after its refusals.
    """
    from arkindex_worker.cache import CachedImage
    from arkindex_worker.models import Element
    from arkindex_worker.worker import ElementsWorker
    from tests.conftest import _configured

    CachedImage.create(id=IMAGE_ID, width=100, height=100, url="page.png")
    CachedElement.create(
        id=PAGE_ID, type="page", image=IMAGE_ID, polygon=SQUARE, initial=True
    )
    if request.param == "online":
        worker = _configured(ElementsWorker(), [])
        page = Element(
            id=PAGE_ID,
            type="page",
            name="1",
            corpus={"id": "corpus"},
            zone={
                "polygon": SQUARE,
                "image": {
                    "id": IMAGE_ID,
                    "url": "https://iiif/p",
                    "width": 100,
                    "height": 100,
                },
            },
        )
    else:
        monkeypatch.delenv("ARKINDEX_WORKER_RUN_ID")
        monkeypatch.setattr(
            "sys.argv", ["worker", "--dev", "--database", str(cache_path)]
        )
        worker = ElementsWorker(support_cache=True)
        worker.configure()
        page = next(iter(worker.list_elements(type="page")))
    yield worker, page
    if request.param == "offline":
        worker.api_client.close()


def written() -> dict[str, int]:
    from arkindex_worker.cache import CachedTranscription

    return {
        "elements": CachedElement.select().count(),
        "transcriptions": CachedTranscription.select().count(),
        "metadata": OfflineMetaData.select().count()
        if OfflineMetaData.table_exists()
        else 0,
    }


@pytest.mark.parametrize(
    "point",
    [
        pytest.param([float("nan"), 1], id="nan"),
        pytest.param([1, float("inf")], id="inf"),
        pytest.param([float("-inf"), 1], id="minus-inf"),
        pytest.param([True, 1], id="true"),
        pytest.param([0, False], id="false"),
        pytest.param(["1", 1], id="str"),
    ],
)
def test_polygon_coordinates_refused_both_ways(publisher, point):
    worker, page = publisher
    polygon = [point, [0, 10], [10, 10]]
    before = written()

    calls = {
        "create_sub_element": lambda: worker.create_sub_element(
            page, "line", "1", polygon
        ),
        "create_elements": lambda: worker.create_elements(
            page, [{"name": "1", "type": "line", "polygon": polygon}]
        ),
        "partial_update_element": lambda: worker.partial_update_element(
            page, polygon=polygon
        ),
        "create_element_transcriptions": lambda: worker.create_element_transcriptions(
            page, "line", [{"polygon": polygon, "text": "a", "confidence": 0.5}]
        ),
    }
    for name, call in calls.items():
        with pytest.raises(AssertionError) as error:
            call()
        assert str(error.value).endswith(NOT_NUMBERS), name

    assert written() == before


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("a\x00b", "text must not contain NUL characters", id="nul"),
        pytest.param(
            "a\ud800b", "text must not contain lone surrogates", id="surrogate"
        ),
        pytest.param(
            "\udfff", "text must not contain lone surrogates", id="low-surrogate"
        ),
    ],
)
def test_unstorable_text_refused_both_ways(publisher, text, problem):
    from arkindex_worker.api import ClientError
    from arkindex_worker.worker import MetaType

    worker, page = publisher
    before = written()

    cases = [
        (
            lambda: worker.create_transcription(page, text, 0.5),
            "body.text",
        ),
        (
            lambda: worker.create_transcriptions(
                [{"element_id": PAGE_ID, "text": text, "confidence": 0.5}]
            ),
            "body.transcriptions[0].text",
        ),
        (
            lambda: worker.create_sub_element(page, "line", text, SQUARE),
            "body.name",
        ),
        (
            lambda: worker.create_metadata(page, MetaType.Text, "lang", text),
            "body.value",
        ),
    ]
    for call, where in cases:
        with pytest.raises(ClientError) as error:
            call()
        assert [(m.text, m.code) for m in error.value.messages] == [
            (f"Invalid value for {where!r}: {problem}.", "invalid-value")
        ]

    assert written() == before


def test_valid_unicode_text_is_published_both_ways(publisher, mock_api):
    import json

    from tests.conftest import api_url

    worker, page = publisher
    text = "émoji 🎉, 中文 and a tab\t"
    if not worker.is_offline:
        mock_api.post(
            api_url(f"element/{PAGE_ID}/transcription/"),
            json={"id": "t1", "text": text, "confidence": 0.5},
        )

    worker.create_transcription(page, text, 0.5)

    if worker.is_offline:
        (row,) = worker.list_transcriptions(page)
        assert row["text"] == text
    else:
        (call,) = mock_api.calls
        assert json.loads(call.request.body)["text"] == text


@pytest.mark.parametrize(
    "confidence",
    [True, False, 1, 0, float("nan"), float("inf"), -0.1, 1.5, "0.5", None],
)
def test_confidence_refused_both_ways(publisher, confidence):
    worker, page = publisher
    before = written()

    with pytest.raises(AssertionError) as error:
        worker.create_transcription(page, "text", confidence)

    assert str(error.value) == (
        "confidence shouldn't be null and should be a float in [0..1] range"
    )
    assert written() == before


def test_non_finite_number_anywhere_in_a_body_is_refused(offline, online):
    body = {"type": "numeric", "name": "n", "value": float("nan")}
    expected = [
        ("Invalid value for 'body.value': numbers must be finite.", "invalid-value")
    ]

    assert (
        refusal(lambda: online.request("CreateMetaData", id=PAGE_ID, body=body))
        == expected
    )
    assert (
        refusal(lambda: offline.request("CreateMetaData", id=PAGE_ID, body=body))
        == expected
    )
    assert OfflineMetaData.select().count() == 0


def test_value_problems_paths_and_non_json_values():
    from arkindex_worker.api.validation import value_problems

    problems = value_problems(
        {
            "id": uuid.UUID(PAGE_ID),
            "body": {"items": [{"polygon": [[0, float("inf")]]}, ("ok", "\x00")]},
        }
    )

    assert [(m.text, m.code) for m in problems] == [
        (
            "Invalid value for 'body.items[0].polygon[0][1]': numbers must be finite.",
            "invalid-value",
        ),
        (
            "Invalid value for 'body.items[1][1]': text must not contain NUL characters.",
            "invalid-value",
        ),
    ]


def test_the_test_double_refuses_the_same_values(offline, online):
    from arkindex_worker.testing import MockApiClient

    mock = MockApiClient()
    body = {"text": "a\x00b", "confidence": 0.5, "orientation": "horizontal-lr"}
    expected = [
        (
            "Invalid value for 'body.text': text must not contain NUL characters.",
            "invalid-value",
        )
    ]

    for client in (online, offline, mock):
        assert (
            refusal(
                lambda c=client: c.request("CreateTranscription", id=PAGE_ID, body=body)
            )
            == expected
        )
