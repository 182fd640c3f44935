"""Generation 0.6: ML classes and classifications (spec 15 §5)."""

from __future__ import annotations

import logging

import pytest

from arkindex_worker.cache import CachedClassification, CachedElement
from arkindex_worker.models import Element
from tests.conftest import CORPUS_ID, WORKER_RUN_ID, api_url
from tests.generation_06.helpers import page_of, sent, worker_logs

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
ELEMENT = Element(id=ELEMENT_ID)
CLASSES_URL = api_url(f"corpus/{CORPUS_ID}/classes/")
ELEMENT_ONLY = "element shouldn't be null and should be an Element"


def test_get_ml_class_id_creates(worker06, mock_api, caplog):
    caplog.set_level(logging.DEBUG, logger="arkindex_worker")
    mock_api.get(CLASSES_URL, json=page_of([{"id": "c0", "name": "other"}]))
    mock_api.post(CLASSES_URL, json={"id": "c1", "name": "cat"})

    assert worker06.get_ml_class_id("cat") == "c1"

    assert sent(mock_api) == [
        ("GET", CLASSES_URL, None),
        ("POST", CLASSES_URL, {"name": "cat"}),
    ]
    assert worker_logs(caplog) == [
        (logging.INFO, f"Loaded 1 ML class in corpus ({CORPUS_ID})"),
        (logging.INFO, "Creating ML class cat..."),
        (logging.DEBUG, "Created a new ML class c1"),
    ]


def test_get_ml_class_id_refreshes_after_400(worker06, mock_api, caplog):
    worker06.classes = {"other": "c0"}
    mock_api.post(CLASSES_URL, status=400, json={"name": ["exists"]})
    mock_api.get(CLASSES_URL, json=page_of([{"id": "c1", "name": "cat"}]))

    assert worker06.get_ml_class_id("cat") == "c1"

    assert [method for method, _, _ in sent(mock_api)] == ["POST", "GET"]
    assert worker_logs(caplog) == [
        (logging.INFO, "Creating ML class cat..."),
        (
            logging.INFO,
            "Unable to create the ML class `cat`. Refreshing corpus classes cache.",
        ),
        (logging.INFO, f"Loaded 1 ML class in corpus ({CORPUS_ID})"),
    ]


def test_get_ml_class_id_still_missing(worker06, mock_api):
    worker06.classes = {"other": "c0"}
    mock_api.post(CLASSES_URL, status=400, json={"name": ["exists"]})
    mock_api.get(CLASSES_URL, json=page_of([{"id": "c0", "name": "other"}]))

    with pytest.raises(
        AssertionError, match="^Missing ML class cat even after refreshing.$"
    ):
        worker06.get_ml_class_id("cat")


@pytest.mark.parametrize("value", [None, CachedElement(id=ELEMENT_ID), "id"])
def test_element_only(worker06, value):
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY}$"):
        worker06.create_classification(value, "cat", 0.5)
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY}$"):
        worker06.create_classifications(value, [{"ml_class": "cat", "confidence": 0.5}])


def test_create_classification_no_cache(worker06, mock_api, cache_path):
    worker06.use_cache = True
    worker06.classes = {"cat": "c1"}
    answer = {"id": "cl1", "ml_class": "c1", "confidence": 0.5, "state": "pending"}
    mock_api.post(api_url("classifications/"), json=answer)

    assert worker06.create_classification(ELEMENT, "cat", 0.5) == answer

    assert sent(mock_api) == [
        (
            "POST",
            api_url("classifications/"),
            {
                "element": ELEMENT_ID,
                "ml_class": "c1",
                "worker_run_id": WORKER_RUN_ID,
                "confidence": 0.5,
                "high_confidence": False,
            },
        )
    ]
    assert CachedClassification.select().count() == 0


def test_create_classifications_answers_as_received(worker06, mock_api):
    worker06.classes = {"cat": "c1", "dog": "c2"}
    answers = [
        {"id": "cl1", "ml_class": "c1", "confidence": 0.5, "state": "pending"},
        {"id": "cl2", "ml_class": "c2", "confidence": 0.7, "state": "pending"},
    ]
    mock_api.post(api_url("classification/bulk/"), json={"classifications": answers})

    created = worker06.create_classifications(
        ELEMENT,
        [
            {"ml_class": "cat", "confidence": 0.5},
            {"ml_class": "dog", "confidence": 0.7, "high_confidence": True},
        ],
    )

    # No class_name key, no RetrieveMLClass / ListCorpusMLClasses request
    assert created == answers
    assert sent(mock_api) == [
        (
            "POST",
            api_url("classification/bulk/"),
            {
                "parent": ELEMENT_ID,
                "worker_run_id": WORKER_RUN_ID,
                "classifications": [
                    {"ml_class": "c1", "confidence": 0.5},
                    {"ml_class": "c2", "confidence": 0.7, "high_confidence": True},
                ],
            },
        )
    ]
