"""Generation 0.6: transcriptions (spec 15 §6)."""

from __future__ import annotations

import pytest

from arkindex_worker.cache import CachedElement, CachedTranscription
from arkindex_worker.models import Element
from arkindex_worker.worker.transcription import TextOrientation
from tests.conftest import WORKER_RUN_ID, api_url
from tests.generation_06.helpers import page_of, sent

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
ELEMENT = Element(id=ELEMENT_ID)
ELEMENT_ONLY = "element shouldn't be null and should be an Element"
POLYGON = [[0, 0], [0, 10], [10, 10]]


@pytest.mark.parametrize("value", [None, CachedElement(id=ELEMENT_ID), "id"])
def test_element_only(worker06, value):
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY}$"):
        worker06.create_transcription(value, "text", 0.5)
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY}$"):
        worker06.create_element_transcriptions(value, "line", [])
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY}$"):
        worker06.list_transcriptions(value)


def test_create_transcription_no_cache(worker06, mock_api, cache_path):
    worker06.use_cache = True
    answer = {
        "id": "t1",
        "text": "a",
        "confidence": 0.5,
        "orientation": "horizontal-lr",
    }
    mock_api.post(api_url(f"element/{ELEMENT_ID}/transcription/"), json=answer)

    assert worker06.create_transcription(ELEMENT, "a", 0.5) == answer

    assert sent(mock_api) == [
        (
            "POST",
            api_url(f"element/{ELEMENT_ID}/transcription/"),
            {
                "text": "a",
                "worker_run_id": WORKER_RUN_ID,
                "confidence": 0.5,
                "orientation": "horizontal-lr",
            },
        )
    ]
    assert CachedTranscription.select().count() == 0


def test_create_element_transcriptions(worker06, mock_api, cache_path):
    worker06.use_cache = True
    answer = [
        {"id": "t1", "element_id": "e1", "created": True},
        {"id": "t2", "element_id": "e2", "created": False},
    ]
    url = api_url(f"element/{ELEMENT_ID}/transcriptions/bulk/")
    mock_api.post(url, json=answer)

    created = worker06.create_element_transcriptions(
        ELEMENT,
        "line",
        [
            {"polygon": POLYGON, "text": "a", "confidence": 0.5},
            {
                "polygon": POLYGON,
                "text": "b",
                "confidence": 0.6,
                "orientation": TextOrientation.VerticalLeftToRight,
            },
        ],
    )

    assert created == answer
    assert sent(mock_api) == [
        (
            "POST",
            url,
            {
                "element_type": "line",
                "worker_run_id": WORKER_RUN_ID,
                "transcriptions": [
                    {
                        "polygon": POLYGON,
                        "text": "a",
                        "confidence": 0.5,
                        "orientation": "horizontal-lr",
                    },
                    {
                        "polygon": POLYGON,
                        "text": "b",
                        "confidence": 0.6,
                        "orientation": "vertical-lr",
                    },
                ],
                "return_elements": True,
            },
        )
    ]
    assert CachedElement.select().count() == 0
    assert CachedTranscription.select().count() == 0


def test_list_transcriptions_always_paginates(worker06, mock_api, cache_path):
    worker06.use_cache = True
    url = api_url(f"element/{ELEMENT_ID}/transcriptions/")
    mock_api.get(url, json=page_of([{"id": "t1"}]))

    assert list(worker06.list_transcriptions(ELEMENT, recursive=True)) == [{"id": "t1"}]

    assert sent(mock_api) == [("GET", url + "?recursive=True", None)]
