"""TranscriptionMixin.create_element_transcriptions (spec 08)."""

from __future__ import annotations

import logging

import pytest
import responses

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedElement, CachedImage, CachedTranscription
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

URL = api_url(f"element/{ELEMENT_ID}/transcriptions/bulk/")
READ_ONLY = "Cannot create transcriptions as this worker is in read-only mode"
IMAGE_ID = "22222222-3333-4444-5555-666666666666"
POLYGON = [[100, 150], [700, 150], [700, 200], [100, 200]]
LINE_1 = "11111111-1111-1111-1111-111111111111"
LINE_2 = "22222222-2222-2222-2222-222222222222"
TR_IDS = [f"{digit * 8}-0000-0000-0000-000000000000" for digit in "abcdef"]


@pytest.fixture
def element():
    return Element({"id": ELEMENT_ID, "type": "page", "name": "Page", "zone": None})


def item(text="The", **extra):
    return {"polygon": POLYGON, "text": text, "confidence": 0.5, **extra}


def sent_item(text="The", orientation="horizontal-lr", **extra):
    return {**item(text, **extra), "orientation": orientation}


def annotation(index, element_id, created=True):
    return {"id": TR_IDS[index], "element_id": element_id, "created": created}


def body(*items):
    return {
        "element_type": "line",
        "worker_run_id": WORKER_RUN_ID,
        "transcriptions": list(items),
        "return_elements": True,
    }


PREFIX = "Transcription at index 1 in transcriptions: "
LIST_MESSAGE = "transcriptions shouldn't be null and should be of type list"
ELEMENT_MESSAGE = "element shouldn't be null and should be an Element or CachedElement"
TYPE_MESSAGE = "sub_element_type shouldn't be null and should be of type str"


def with_second(**fields):
    """Two items, the second one updated with ``fields``."""
    return [item(), {**item(), **fields}]


INVALID_ITEMS = [
    pytest.param(None, LIST_MESSAGE, id="none"),
    pytest.param([], LIST_MESSAGE, id="zero-items"),
    pytest.param(
        with_second(text=None),
        PREFIX + "text shouldn't be null and should be of type str",
        id="text-none",
    ),
    pytest.param(
        with_second(text=""),
        PREFIX + "text shouldn't be null and should be of type str",
        id="text-empty",
    ),
    pytest.param(
        with_second(confidence=0),
        PREFIX + "confidence shouldn't be null and should be a float in [0..1] range",
        id="confidence-int",
    ),
    pytest.param(
        with_second(confidence=None),
        PREFIX + "confidence shouldn't be null and should be a float in [0..1] range",
        id="confidence-none",
    ),
    pytest.param(
        with_second(orientation="horizontal-lr"),
        PREFIX + "orientation shouldn't be null and should be of type TextOrientation",
        id="orientation-str",
    ),
    pytest.param(
        with_second(polygon=None),
        PREFIX + "polygon shouldn't be null and should be of type list",
        id="polygon-none",
    ),
    pytest.param(
        with_second(polygon=[]),
        PREFIX + "polygon shouldn't be null and should be of type list",
        id="polygon-empty",
    ),
    pytest.param(
        with_second(polygon="not a polygon"),
        PREFIX + "polygon shouldn't be null and should be of type list",
        id="polygon-str",
    ),
    pytest.param(
        with_second(polygon=[[1, 1], [2, 2]]),
        PREFIX + "polygon should have at least three points",
        id="polygon-two-points",
    ),
    pytest.param(
        with_second(polygon=[[1, 1], [2, 2], (2, 1)]),
        PREFIX + "polygon points should be lists of two items",
        id="polygon-tuple-point",
    ),
    pytest.param(
        with_second(polygon=[[1, 1, 1], [2, 2], [2, 1]]),
        PREFIX + "polygon points should be lists of two items",
        id="polygon-three-coordinates",
    ),
    pytest.param(
        with_second(polygon=[["a", 1], [2, 2], [2, 1]]),
        PREFIX + "polygon points should be lists of two numbers",
        id="polygon-str-coordinate",
    ),
    pytest.param(
        with_second(element_confidence=1),
        PREFIX + "element_confidence should be either null or a float in [0..1] range",
        id="element-confidence-int",
    ),
    pytest.param(
        with_second(element_confidence=2.0),
        PREFIX + "element_confidence should be either null or a float in [0..1] range",
        id="element-confidence-above",
    ),
    pytest.param(
        with_second(text=None, polygon=None),
        PREFIX + "text shouldn't be null and should be of type str",
        id="text-before-polygon",
    ),
    pytest.param(
        with_second(orientation=None, polygon=None),
        PREFIX + "orientation shouldn't be null and should be of type TextOrientation",
        id="orientation-before-polygon",
    ),
]


@pytest.mark.parametrize(("transcriptions", "message"), INVALID_ITEMS)
def test_invalid_items(
    mock_elements_worker, mock_api, element, transcriptions, message
):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_element_transcriptions(
            element, "line", transcriptions
        )
    assert str(error.value) == message
    assert len(mock_api.calls) == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param({"element": None}, ELEMENT_MESSAGE, id="element-none"),
        pytest.param({"element": "page"}, ELEMENT_MESSAGE, id="element-str"),
        pytest.param({"sub_element_type": None}, TYPE_MESSAGE, id="type-none"),
        pytest.param({"sub_element_type": ""}, TYPE_MESSAGE, id="type-empty"),
        pytest.param({"sub_element_type": 1234}, TYPE_MESSAGE, id="type-int"),
        pytest.param(
            {"element": None, "sub_element_type": None, "transcriptions": None},
            ELEMENT_MESSAGE,
            id="element-checked-first",
        ),
        pytest.param(
            {"sub_element_type": None, "transcriptions": None},
            TYPE_MESSAGE,
            id="type-before-transcriptions",
        ),
    ],
)
def test_invalid_arguments(mock_elements_worker, mock_api, element, arguments, message):
    kwargs = {
        "element": element,
        "sub_element_type": "line",
        "transcriptions": [item()],
        **arguments,
    }
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_element_transcriptions(**kwargs)
    assert str(error.value) == message


def test_invalid_batch_size(mock_elements_worker, element):
    with pytest.raises(AssertionError) as error:
        mock_elements_worker.create_element_transcriptions(
            element, "line", [item()], batch_size=0
        )
    assert str(error.value) == BATCH_SIZE_MESSAGE


def test_read_only(mock_elements_worker_read_only, mock_api, element, caplog):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    result = mock_elements_worker_read_only.create_element_transcriptions(
        element, "line", [item()]
    )
    assert result is None
    assert caplog.record_tuples == [("arkindex_worker", logging.WARNING, READ_ONLY)]
    assert len(mock_api.calls) == 0


def test_request_and_result(mock_elements_worker, mock_api, element):
    answer = [annotation(0, LINE_1), annotation(1, LINE_2, created=False)]
    mock_api.add(responses.POST, URL, json=answer)
    transcriptions = [
        item(orientation=TextOrientation.VerticalRightToLeft),
        item("word", element_confidence=0.75),
    ]

    result = mock_elements_worker.create_element_transcriptions(
        element, "line", transcriptions
    )

    assert result == answer
    assert sent(mock_api) == [
        (
            "POST",
            URL,
            body(
                sent_item(orientation="vertical-rl"),
                sent_item("word", element_confidence=0.75),
            ),
        )
    ]
    # The caller's dicts are not modified.
    assert transcriptions[0]["orientation"] is TextOrientation.VerticalRightToLeft
    assert "orientation" not in transcriptions[1]


@pytest.mark.parametrize(
    ("count", "batch_sizes"),
    [
        pytest.param(1, [1], id="one-item"),
        pytest.param(2, [2], id="batch-size-items"),
        pytest.param(3, [2, 1], id="batch-size-plus-one-items"),
    ],
)
def test_batches(mock_elements_worker, mock_api, element, count, batch_sizes):
    texts = [f"text {index}" for index in range(count)]
    start = 0
    for size in batch_sizes:
        mock_api.add(
            responses.POST,
            URL,
            json=[annotation(i, LINE_1) for i in range(start, start + size)],
        )
        start += size

    result = mock_elements_worker.create_element_transcriptions(
        element, "line", [item(text) for text in texts], batch_size=2
    )

    assert result == [annotation(i, LINE_1) for i in range(count)]
    expected = []
    start = 0
    for size in batch_sizes:
        expected.append(
            (
                "POST",
                URL,
                body(*(sent_item(text) for text in texts[start : start + size])),
            )
        )
        start += size
    assert sent(mock_api) == expected


def test_failing_batch(mock_cached_elements_worker, mock_api):
    parent = cached_page()
    mock_api.add(responses.POST, URL, json=[annotation(0, LINE_1)])
    mock_api.add(responses.POST, URL, status=418)

    with pytest.raises(ErrorResponse):
        mock_cached_elements_worker.create_element_transcriptions(
            parent, "line", [item(), item(), item()], batch_size=1
        )

    assert len(mock_api.calls) == 2
    assert CachedElement.select().count() == 1
    assert CachedTranscription.select().count() == 0


def test_logs_created_sub_elements(mock_elements_worker, mock_api, element, caplog):
    mock_api.add(
        responses.POST,
        URL,
        json=[annotation(0, LINE_1), annotation(1, LINE_2, created=False)],
    )
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")

    mock_elements_worker.create_element_transcriptions(
        element, "line", [item(), item()]
    )

    assert [
        message
        for name, _, message in caplog.record_tuples
        if name == "arkindex_worker"
    ] == [
        f"A sub_element of {ELEMENT_ID} with type line was created during transcriptions bulk creation"
    ]


def element_row(element):
    return (
        str(element.id),
        str(element.parent_id),
        element.type,
        element.image_id and str(element.image_id),
        element.polygon,
        str(element.worker_run_id),
        element.confidence,
    )


def transcription_row(transcription):
    return (
        str(transcription.id),
        str(transcription.element_id),
        transcription.text,
        transcription.confidence,
        transcription.orientation,
        str(transcription.worker_run_id),
    )


def test_writes_cache(mock_cached_elements_worker, mock_api):
    parent = cached_page()
    mock_api.add(
        responses.POST,
        URL,
        json=[annotation(0, LINE_1), annotation(1, LINE_2)],
    )
    mock_api.add(responses.POST, URL, json=[annotation(2, LINE_1, created=False)])

    mock_cached_elements_worker.create_element_transcriptions(
        parent,
        "line",
        [
            item("first"),
            item(
                "second",
                polygon=[[1, 1], [2, 2], [2, 1]],
                element_confidence=0.75,
                orientation=TextOrientation.HorizontalRightToLeft,
            ),
            item("third", polygon=[[5, 5], [6, 6], [6, 5]], element_confidence=0.1),
        ],
        batch_size=2,
    )

    # The element of item 2 was seen with item 0: only one row for it.
    lines = CachedElement.select().where(CachedElement.type == "line")
    assert [element_row(e) for e in lines] == [
        (LINE_1, ELEMENT_ID, "line", None, POLYGON, WORKER_RUN_ID, None),
        (
            LINE_2,
            ELEMENT_ID,
            "line",
            None,
            [[1, 1], [2, 2], [2, 1]],
            WORKER_RUN_ID,
            0.75,
        ),
    ]
    assert [transcription_row(t) for t in CachedTranscription.select()] == [
        (TR_IDS[0], LINE_1, "first", 0.5, "horizontal-lr", WORKER_RUN_ID),
        (TR_IDS[1], LINE_2, "second", 0.5, "horizontal-rl", WORKER_RUN_ID),
        (TR_IDS[2], LINE_1, "third", 0.5, "horizontal-lr", WORKER_RUN_ID),
    ]


def test_cache_keeps_existing_sub_element(mock_cached_elements_worker, mock_api):
    parent = cached_page()
    CachedElement.create(id=LINE_1, type="line", parent_id=ELEMENT_ID, polygon=[[0, 0]])
    mock_api.add(responses.POST, URL, json=[annotation(0, LINE_1, created=False)])

    mock_cached_elements_worker.create_element_transcriptions(parent, "line", [item()])

    assert CachedElement.get_by_id(LINE_1).polygon == [[0, 0]]
    assert CachedElement.select().count() == 2
    assert CachedTranscription.select().count() == 1


def test_cache_image_of_cached_parent(mock_cached_elements_worker, mock_api):
    CachedImage.create(id=IMAGE_ID, width=800, height=600, url="http://iiif/image")
    parent = cached_page(image=IMAGE_ID)
    mock_api.add(responses.POST, URL, json=[annotation(0, LINE_1)])

    mock_cached_elements_worker.create_element_transcriptions(parent, "line", [item()])

    assert str(CachedElement.get_by_id(LINE_1).image_id) == IMAGE_ID


def test_cache_image_of_api_parent(mock_cached_elements_worker, mock_api):
    cached_page()
    parent = Element(
        {
            "id": ELEMENT_ID,
            "type": "page",
            "zone": {
                "image": {
                    "id": IMAGE_ID,
                    "width": 800,
                    "height": 600,
                    "url": "http://iiif/image",
                }
            },
        }
    )
    mock_api.add(responses.POST, URL, json=[annotation(0, LINE_1)])

    mock_cached_elements_worker.create_element_transcriptions(parent, "line", [item()])

    image = CachedImage.get_by_id(IMAGE_ID)
    assert (image.width, image.height, image.url) == (800, 600, "http://iiif/image")
    assert str(CachedElement.get_by_id(LINE_1).image_id) == IMAGE_ID


def test_cache_api_parent_without_zone(mock_cached_elements_worker, mock_api, element):
    cached_page()
    mock_api.add(responses.POST, URL, json=[annotation(0, LINE_1)])

    mock_cached_elements_worker.create_element_transcriptions(element, "line", [item()])

    assert CachedElement.get_by_id(LINE_1).image_id is None
    assert CachedImage.select().count() == 0


def test_cache_integrity_error(mock_cached_elements_worker, mock_api, caplog):
    parent = cached_page()
    cached_line = CachedElement.create(id=LINE_1, type="line")
    CachedTranscription.create(
        id=TR_IDS[1], element=cached_line, text="old", orientation="horizontal-lr"
    )
    answer = [annotation(0, LINE_2), annotation(1, LINE_1)]
    mock_api.add(responses.POST, URL, json=answer)

    result = mock_cached_elements_worker.create_element_transcriptions(
        parent, "line", [item(), item()]
    )

    assert result == answer
    assert caplog.record_tuples == [
        (
            "arkindex_worker",
            logging.WARNING,
            "Couldn't save created transcriptions in local cache: "
            "UNIQUE constraint failed: transcriptions.id",
        )
    ]
    # The elements were inserted before the failing statement.
    assert CachedElement.select().count() == 3
    assert [t.text for t in CachedTranscription.select()] == ["old"]
