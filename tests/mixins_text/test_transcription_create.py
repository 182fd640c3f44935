"""TranscriptionMixin.create_transcription and create_transcriptions (spec 08)."""

from __future__ import annotations

import logging

import pytest
import responses

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedElement, CachedTranscription
from arkindex_worker.models import Element
from arkindex_worker.worker.transcription import TextOrientation
from tests.mixins_text.helpers import (
    BATCH_SIZE_MESSAGE,
    ELEMENT_ID,
    WORKER_RUN_ID,
    api_url,
    cached_page,
    sent,
)

TRANSCRIPTION_ID = "56785678-5678-5678-5678-567812341234"
OTHER_ELEMENT_ID = "43214321-4321-4321-4321-432143214321"
SINGLE_URL = api_url(f"element/{ELEMENT_ID}/transcription/")
BULK_URL = api_url("transcription/bulk/")
READ_ONLY = "Cannot create transcription as this worker is in read-only mode"

ELEMENT_MESSAGE = "element shouldn't be null and should be an Element or CachedElement"
TEXT_MESSAGE = "text shouldn't be null and should be of type str"
ORIENTATION_MESSAGE = (
    "orientation shouldn't be null and should be of type TextOrientation"
)
CONFIDENCE_MESSAGE = (
    "confidence shouldn't be null and should be a float in [0..1] range"
)


@pytest.fixture
def element():
    return Element({"id": ELEMENT_ID, "type": "page", "name": "Page"})


def created_transcription(
    transcription_id=TRANSCRIPTION_ID, element_id=ELEMENT_ID, text="The", **extra
):
    return {
        "id": transcription_id,
        "element_id": element_id,
        "text": text,
        "confidence": 0.42,
        "orientation": "horizontal-lr",
        **extra,
    }


# ---------------------------------------------------------------- create_transcription

INVALID_SINGLE = [
    pytest.param({"element": None}, ELEMENT_MESSAGE, id="element-none"),
    pytest.param({"element": "not element"}, ELEMENT_MESSAGE, id="element-str"),
    pytest.param({"element": Element({})}, ELEMENT_MESSAGE, id="element-empty"),
    pytest.param({"text": None}, TEXT_MESSAGE, id="text-none"),
    pytest.param({"text": ""}, TEXT_MESSAGE, id="text-empty"),
    pytest.param({"text": 1234}, TEXT_MESSAGE, id="text-int"),
    pytest.param({"orientation": None}, ORIENTATION_MESSAGE, id="orientation-none"),
    pytest.param(
        {"orientation": "horizontal-lr"}, ORIENTATION_MESSAGE, id="orientation-str"
    ),
    pytest.param({"confidence": None}, CONFIDENCE_MESSAGE, id="confidence-none"),
    pytest.param({"confidence": "0.2"}, CONFIDENCE_MESSAGE, id="confidence-str"),
    pytest.param({"confidence": 0}, CONFIDENCE_MESSAGE, id="confidence-int"),
    pytest.param({"confidence": 2.0}, CONFIDENCE_MESSAGE, id="confidence-above"),
    pytest.param({"confidence": -1.0}, CONFIDENCE_MESSAGE, id="confidence-below"),
    pytest.param({"confidence": float("nan")}, CONFIDENCE_MESSAGE, id="confidence-nan"),
    pytest.param(
        {"element": None, "text": None, "confidence": None},
        ELEMENT_MESSAGE,
        id="element-checked-first",
    ),
    pytest.param(
        {"orientation": None, "confidence": None},
        ORIENTATION_MESSAGE,
        id="orientation-before-confidence",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), INVALID_SINGLE)
def test_create_transcription_invalid(
    mock_elements_worker, mock_api, element, arguments, message
):
    kwargs = {"element": element, "text": "The", "confidence": 0.42, **arguments}
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_transcription(**kwargs)
    assert str(error.value) == message
    assert len(mock_api.calls) == 0


def test_create_transcription_invalid_in_read_only_mode(
    mock_elements_worker_read_only, element
):
    with pytest.raises(AssertionError, match="^text shouldn't be null"):
        mock_elements_worker_read_only.create_transcription(element, "", 0.42)


def test_create_transcription_read_only(
    mock_elements_worker_read_only, mock_api, element, caplog
):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    assert (
        mock_elements_worker_read_only.create_transcription(element, "The", 0.42)
        is None
    )
    assert caplog.record_tuples == [("arkindex_worker", logging.WARNING, READ_ONLY)]
    assert len(mock_api.calls) == 0


@pytest.mark.parametrize(
    ("orientation", "value"),
    [
        pytest.param({}, "horizontal-lr", id="default"),
        pytest.param(
            {"orientation": TextOrientation.VerticalLeftToRight},
            "vertical-lr",
            id="vertical-lr",
        ),
    ],
)
def test_create_transcription(
    mock_elements_worker, mock_api, element, orientation, value
):
    response = created_transcription(orientation=value)
    mock_api.add(responses.POST, SINGLE_URL, json=response)

    result = mock_elements_worker.create_transcription(
        element, "The", 0.42, **orientation
    )

    assert result == response
    assert sent(mock_api) == [
        (
            "POST",
            SINGLE_URL,
            {
                "text": "The",
                "worker_run_id": WORKER_RUN_ID,
                "confidence": 0.42,
                "orientation": value,
            },
        )
    ]


def test_create_transcription_cached_element(mock_cached_elements_worker, mock_api):
    cached = cached_page()
    mock_api.add(responses.POST, SINGLE_URL, json=created_transcription())

    mock_cached_elements_worker.create_transcription(cached, "The", 0.42)

    assert [call.request.url for call in mock_api.calls] == [SINGLE_URL]


def test_create_transcription_api_error(mock_elements_worker, mock_api, element):
    mock_api.add(responses.POST, SINGLE_URL, status=418)
    with pytest.raises(ErrorResponse) as error:
        mock_elements_worker.create_transcription(element, "The", 0.42)
    assert error.value.status_code == 418
    assert len(mock_api.calls) == 1


def test_create_transcription_writes_cache(mock_cached_elements_worker, mock_api):
    cached = cached_page()
    # The cache row takes text, confidence and orientation from the response.
    mock_api.add(
        responses.POST,
        SINGLE_URL,
        json=created_transcription(
            text="Served", confidence=0.5, orientation="vertical-lr"
        ),
    )

    mock_cached_elements_worker.create_transcription(
        cached, "The", 0.42, TextOrientation.VerticalLeftToRight
    )

    assert [row_of(t) for t in CachedTranscription.select()] == [
        (
            TRANSCRIPTION_ID,
            ELEMENT_ID,
            "Served",
            0.5,
            "vertical-lr",
            None,
            WORKER_RUN_ID,
        )
    ]


def test_create_transcription_cache_integrity_error(
    mock_cached_elements_worker, mock_api, element, caplog
):
    # The element is not in the cache: the foreign key rejects the row.
    response = created_transcription()
    mock_api.add(responses.POST, SINGLE_URL, json=response)

    assert mock_cached_elements_worker.create_transcription(element, "The", 0.42) == (
        response
    )

    assert CachedTranscription.select().count() == 0
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Couldn't save created transcription in local cache: FOREIGN KEY constraint failed",
        )
    ]


def test_create_transcription_cache_missing_response_key(
    mock_cached_elements_worker, mock_api
):
    cached = cached_page()
    mock_api.add(responses.POST, SINGLE_URL, json={"id": TRANSCRIPTION_ID})
    with pytest.raises(KeyError, match="text"):
        mock_cached_elements_worker.create_transcription(cached, "The", 0.42)


# ---------------------------------------------------------------- create_transcriptions


def row_of(transcription):
    """A cached transcription as a tuple of plain values."""
    return (
        str(transcription.id),
        str(transcription.element_id),
        transcription.text,
        transcription.confidence,
        transcription.orientation,
        transcription.worker_version_id,
        str(transcription.worker_run_id),
    )


def item(element_id=ELEMENT_ID, text="The", **extra):
    return {"element_id": element_id, "text": text, "confidence": 0.42, **extra}


def sent_item(element_id=ELEMENT_ID, text="The", orientation="horizontal-lr"):
    return {**item(element_id, text), "orientation": orientation}


def bulk_answer(*items):
    return {"transcriptions": list(items)}


PREFIX = "Transcription at index 1 in transcriptions: "
LIST_MESSAGE = "transcriptions shouldn't be null and should be of type list"

INVALID_BULK = [
    pytest.param(None, LIST_MESSAGE, id="none"),
    pytest.param([], LIST_MESSAGE, id="zero-items"),
    pytest.param("not a list", LIST_MESSAGE, id="str"),
    pytest.param(
        [item(), {"text": "a", "confidence": 0.5}],
        PREFIX + "element_id shouldn't be null and should be of type str",
        id="element-id-missing",
    ),
    pytest.param(
        [item(), item(element_id=1234)],
        PREFIX + "element_id shouldn't be null and should be of type str",
        id="element-id-int",
    ),
    pytest.param([item(), item(text="")], PREFIX + TEXT_MESSAGE, id="text-empty"),
    pytest.param([item(), item(text=None)], PREFIX + TEXT_MESSAGE, id="text-none"),
    pytest.param(
        [item(), {**item(), "confidence": None}],
        PREFIX + CONFIDENCE_MESSAGE,
        id="confidence-none",
    ),
    pytest.param(
        [item(), {**item(), "confidence": 1}],
        PREFIX + CONFIDENCE_MESSAGE,
        id="confidence-int",
    ),
    pytest.param(
        [item(), {**item(), "confidence": 1.42}],
        PREFIX + CONFIDENCE_MESSAGE,
        id="confidence-above",
    ),
    pytest.param(
        [item(), item(orientation=None)],
        PREFIX + ORIENTATION_MESSAGE,
        id="orientation-none",
    ),
    pytest.param(
        [item(), item(orientation="horizontal-lr")],
        PREFIX + ORIENTATION_MESSAGE,
        id="orientation-str",
    ),
    pytest.param(
        [item(), {"confidence": None, "orientation": None}],
        PREFIX + "element_id shouldn't be null and should be of type str",
        id="element-id-checked-first",
    ),
]


@pytest.mark.parametrize(("transcriptions", "message"), INVALID_BULK)
def test_create_transcriptions_invalid(
    mock_elements_worker, mock_api, transcriptions, message
):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_transcriptions(transcriptions=transcriptions)
    assert str(error.value) == message
    assert len(mock_api.calls) == 0


@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(None, id="none"),
        pytest.param("not an int", id="str"),
        pytest.param(0, id="zero"),
    ],
)
def test_create_transcriptions_invalid_batch_size(
    mock_elements_worker_read_only, batch_size
):
    # Checked before the other arguments, even in read-only mode.
    with pytest.raises(AssertionError) as error:
        mock_elements_worker_read_only.create_transcriptions(
            None, batch_size=batch_size
        )
    assert str(error.value) == BATCH_SIZE_MESSAGE


def test_create_transcriptions_read_only(
    mock_elements_worker_read_only, mock_api, caplog
):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    assert mock_elements_worker_read_only.create_transcriptions([item()]) is None
    assert caplog.record_tuples == [("arkindex_worker", logging.WARNING, READ_ONLY)]
    assert len(mock_api.calls) == 0


def test_create_transcriptions_keeps_caller_items(mock_elements_worker, mock_api):
    mock_api.add(responses.POST, BULK_URL, json=bulk_answer(created_transcription()))
    transcriptions = [item(orientation=TextOrientation.HorizontalRightToLeft)]

    mock_elements_worker.create_transcriptions(transcriptions)

    assert transcriptions == [item(orientation=TextOrientation.HorizontalRightToLeft)]
    assert sent(mock_api)[0][2]["transcriptions"] == [
        sent_item(orientation="horizontal-rl")
    ]


@pytest.mark.parametrize(
    ("count", "batch_sizes"),
    [
        pytest.param(1, [1], id="one-item"),
        pytest.param(3, [3], id="batch-size-items"),
        pytest.param(4, [3, 1], id="batch-size-plus-one-items"),
        pytest.param(7, [3, 3, 1], id="three-batches"),
    ],
)
def test_create_transcriptions_batches(
    mock_elements_worker, mock_api, count, batch_sizes
):
    element_ids = [f"{index:08d}-0000-0000-0000-000000000000" for index in range(count)]
    start = 0
    for size in batch_sizes:
        mock_api.add(
            responses.POST,
            BULK_URL,
            json=bulk_answer(
                *(
                    created_transcription(
                        f"{element_id[:8]}-1111-1111-1111-111111111111", element_id
                    )
                    for element_id in element_ids[start : start + size]
                )
            ),
        )
        start += size

    result = mock_elements_worker.create_transcriptions(
        [item(element_id) for element_id in element_ids], batch_size=3
    )

    assert [t["element_id"] for t in result] == element_ids
    expected_bodies = []
    start = 0
    for size in batch_sizes:
        expected_bodies.append(
            (
                "POST",
                BULK_URL,
                {
                    "worker_run_id": WORKER_RUN_ID,
                    "transcriptions": [
                        sent_item(element_id)
                        for element_id in element_ids[start : start + size]
                    ],
                },
            )
        )
        start += size
    assert sent(mock_api) == expected_bodies


def test_create_transcriptions_default_batch_size(mock_elements_worker, mock_api):
    for _ in range(2):
        mock_api.add(responses.POST, BULK_URL, json=bulk_answer())
    mock_elements_worker.create_transcriptions([item()] * 51)
    assert [len(body["transcriptions"]) for _, _, body in sent(mock_api)] == [50, 1]


def test_create_transcriptions_logs_batches(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    mock_api.add(responses.POST, BULK_URL, json=bulk_answer())
    mock_elements_worker.create_transcriptions([item(), item()])
    assert [
        (name, level, message)
        for name, level, message in caplog.record_tuples
        if level >= logging.INFO
    ] == [
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Creating batches of size 50 to process 2 transcriptions",
        ),
        (
            "arkindex_worker.utils",
            logging.INFO,
            "Processing batch 1 containing 2 transcriptions...",
        ),
    ]


def test_create_transcriptions_failing_batch(mock_cached_elements_worker, mock_api):
    cached_page()
    mock_api.add(responses.POST, BULK_URL, json=bulk_answer(created_transcription()))
    mock_api.add(responses.POST, BULK_URL, status=418)

    with pytest.raises(ErrorResponse):
        mock_cached_elements_worker.create_transcriptions(
            [item(), item(), item()], batch_size=1
        )

    # The third batch is not sent, and the first one is not cached.
    assert len(mock_api.calls) == 2
    assert CachedTranscription.select().count() == 0


def test_create_transcriptions_writes_cache(mock_cached_elements_worker, mock_api):
    cached_page()
    cached_page(OTHER_ELEMENT_ID)
    second_id = "99999999-9999-9999-9999-999999999999"
    mock_api.add(
        responses.POST,
        BULK_URL,
        json=bulk_answer(
            created_transcription(orientation="horizontal-rl"),
            created_transcription(
                second_id, OTHER_ELEMENT_ID, text="word", orientation="vertical-lr"
            ),
        ),
    )

    mock_cached_elements_worker.create_transcriptions(
        [
            item(orientation=TextOrientation.HorizontalRightToLeft),
            item(
                OTHER_ELEMENT_ID,
                "word",
                orientation=TextOrientation.VerticalLeftToRight,
            ),
        ]
    )

    assert [row_of(t) for t in CachedTranscription.select()] == [
        (
            TRANSCRIPTION_ID,
            ELEMENT_ID,
            "The",
            0.42,
            "horizontal-rl",
            None,
            WORKER_RUN_ID,
        ),
        (second_id, OTHER_ELEMENT_ID, "word", 0.42, "vertical-lr", None, WORKER_RUN_ID),
    ]


def test_create_transcriptions_cache_integrity_error(
    mock_cached_elements_worker, mock_api, caplog
):
    answer = bulk_answer(created_transcription())
    mock_api.add(responses.POST, BULK_URL, json=answer)

    result = mock_cached_elements_worker.create_transcriptions([item()])

    assert result == answer["transcriptions"]
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Couldn't save created transcriptions in local cache: FOREIGN KEY constraint failed",
        )
    ]
    assert CachedElement.select().count() == 0
