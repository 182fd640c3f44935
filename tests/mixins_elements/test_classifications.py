"""ClassificationMixin: ML classes and classifications (09)."""

from __future__ import annotations

import logging

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedClassification, CachedElement
from tests.conftest import CORPUS_ID, WORKER_RUN_ID, api_url
from tests.mixins_elements.conftest import (
    BATCH_BOUNDARIES,
    ELEMENT_ID,
    calls,
    element,
    records,
)

CLASSES_URL = api_url(f"corpus/{CORPUS_ID}/classes/")
CLASSIFICATION_URL = api_url("classifications/")
BULK_URL = api_url("classification/bulk/")
CLASSES = [
    {"id": "0000", "name": "good"},
    {"id": "1111", "name": "average"},
    {"id": "2222", "name": "bad"},
]
CLASSIFICATION_ID = "77777777-7777-7777-7777-777777777777"
UNIQUE_SET = "The fields element, worker_run, ml_class must make a unique set."


def classes_page(classes: list[dict] = CLASSES) -> dict:
    return {"count": len(classes), "next": None, "results": classes}


def classification_body(**overrides) -> dict:
    body = {
        "element": ELEMENT_ID,
        "ml_class": "0000",
        "worker_run_id": WORKER_RUN_ID,
        "confidence": 0.42,
        "high_confidence": True,
    }
    body.update(overrides)
    return body


def classification_id(index: int) -> str:
    return f"{index:08d}-7777-7777-7777-777777777777"


# --- load_corpus_classes -------------------------------------------------------


def test_load_corpus_classes(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    mock_api.get(CLASSES_URL, json=classes_page())

    assert mock_elements_worker.load_corpus_classes() is None

    assert mock_elements_worker.classes == {
        "good": "0000",
        "average": "1111",
        "bad": "2222",
    }
    assert calls(mock_api) == [("GET", CLASSES_URL, None)]
    assert records(caplog) == [
        (logging.INFO, f"Loaded 3 ML classes in corpus ({CORPUS_ID})")
    ]


def test_load_corpus_classes_replaces(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"old": "9999"}
    mock_api.get(CLASSES_URL, json=classes_page(CLASSES[:1]))

    mock_elements_worker.load_corpus_classes()

    assert mock_elements_worker.classes == {"good": "0000"}


def test_load_corpus_classes_api_error(mock_elements_worker, mock_api, sleeps):
    mock_api.get(CLASSES_URL, status=418)

    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        mock_elements_worker.load_corpus_classes()

    assert calls(mock_api) == [("GET", CLASSES_URL, None)]  # 4xx: not retried
    assert sleeps == []
    assert mock_elements_worker.classes == {}


def test_load_corpus_classes_server_error(mock_elements_worker, mock_api, sleeps):
    mock_api.get(CLASSES_URL, status=502)

    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        mock_elements_worker.load_corpus_classes()

    assert calls(mock_api) == [("GET", CLASSES_URL, None)] * 5
    assert sleeps == [3, 4, 8, 16]
    assert mock_elements_worker.classes == {}


# --- get_ml_class_id ------------------------------------------------------------


def test_get_ml_class_id_loads(mock_elements_worker, mock_api):
    mock_api.get(CLASSES_URL, json=classes_page())

    assert mock_elements_worker.get_ml_class_id("good") == "0000"
    assert mock_elements_worker.get_ml_class_id("bad") == "2222"
    assert calls(mock_api) == [("GET", CLASSES_URL, None)]


@pytest.mark.parametrize(
    "worker_fixture",
    [
        pytest.param("mock_elements_worker", id="online"),
        pytest.param("mock_elements_worker_read_only", id="read-only"),
    ],
)
def test_get_ml_class_id_creates(request, mock_api, caplog, worker_fixture):
    worker = request.getfixturevalue(worker_fixture)
    caplog.set_level(logging.INFO)
    caplog.clear()  # The worker was built during the call phase: drop its logs.
    worker.classes = {"good": "0000"}
    mock_api.post(CLASSES_URL, status=201, json={"id": "new-ml-class-1234"})

    assert worker.get_ml_class_id("bad") == "new-ml-class-1234"

    assert worker.classes == {"good": "0000", "bad": "new-ml-class-1234"}
    assert calls(mock_api) == [("POST", CLASSES_URL, {"name": "bad"})]
    assert records(caplog) == [
        (logging.INFO, f"Creating ML class bad on corpus {CORPUS_ID}")
    ]


def test_get_ml_class_id_already_exists(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    mock_api.get(
        CLASSES_URL, json=classes_page([{"id": "class1_id", "name": "class1"}])
    )
    mock_api.post(CLASSES_URL, status=400, json={"non_field_errors": "Already exists"})
    mock_api.get(
        CLASSES_URL,
        json=classes_page(
            [
                {"id": "class1_id", "name": "class1"},
                {"id": "class2_id", "name": "class2"},
            ]
        ),
    )

    assert mock_elements_worker.get_ml_class_id("class2") == "class2_id"

    assert calls(mock_api) == [
        ("GET", CLASSES_URL, None),
        ("POST", CLASSES_URL, {"name": "class2"}),
        ("GET", CLASSES_URL, None),
    ]
    assert records(caplog) == [
        (logging.INFO, f"Loaded 1 ML class in corpus ({CORPUS_ID})"),
        (logging.INFO, f"Creating ML class class2 on corpus {CORPUS_ID}"),
        (logging.INFO, "Reloading corpus classes to see if class2 already exists"),
        (logging.INFO, f"Loaded 2 ML classes in corpus ({CORPUS_ID})"),
    ]


def test_get_ml_class_id_missing_after_reload(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"good": "0000"}
    mock_api.post(CLASSES_URL, status=400, json={"name": ["invalid"]})
    mock_api.get(CLASSES_URL, json=classes_page())

    with pytest.raises(AssertionError) as e:
        mock_elements_worker.get_ml_class_id("unknown")

    assert str(e.value) == "Missing class unknown even after reloading"


def test_get_ml_class_id_api_error(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"good": "0000"}
    mock_api.post(CLASSES_URL, status=403, json={"detail": "Forbidden"})

    with pytest.raises(ErrorResponse) as e:
        mock_elements_worker.get_ml_class_id("bad")

    assert e.value.status_code == 403
    assert len(mock_api.calls) == 1
    assert mock_elements_worker.classes == {"good": "0000"}


# --- retrieve_ml_class ---------------------------------------------------------


def test_retrieve_ml_class_known(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"class1": "uuid1"}

    assert mock_elements_worker.retrieve_ml_class("uuid1") == "class1"
    assert len(mock_api.calls) == 0


def test_retrieve_ml_class_loads(mock_elements_worker, mock_api):
    mock_api.get(CLASSES_URL, json=classes_page([{"id": "uuid1", "name": "class1"}]))

    assert mock_elements_worker.retrieve_ml_class("uuid1") == "class1"
    assert calls(mock_api) == [("GET", CLASSES_URL, None)]


def test_retrieve_ml_class_missing(mock_elements_worker):
    mock_elements_worker.classes = {"class1": "uuid1"}

    with pytest.raises(AssertionError) as e:
        mock_elements_worker.retrieve_ml_class("uuid2")

    assert str(e.value) == f"Missing class with id (uuid2) in corpus ({CORPUS_ID})"


# --- create_classification ------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"element": None},
            "element shouldn't be null and should be an Element or CachedElement",
            id="element-none",
        ),
        pytest.param(
            {"element": "not an element"},
            "element shouldn't be null and should be an Element or CachedElement",
            id="element-str",
        ),
        pytest.param(
            {"ml_class": None},
            "ml_class shouldn't be null and should be of type str",
            id="ml-class-none",
        ),
        pytest.param(
            {"ml_class": 1234},
            "ml_class shouldn't be null and should be of type str",
            id="ml-class-int",
        ),
        *(
            pytest.param(
                {"confidence": value},
                "confidence shouldn't be null and should be a float in [0..1] range",
                id=f"confidence-{label}",
            )
            for label, value in (
                ("none", None),
                ("str", "wrong confidence"),
                ("int", 0),
                ("above", 2.0),
                ("nan", float("nan")),
            )
        ),
        pytest.param(
            {"high_confidence": None},
            "high_confidence shouldn't be null and should be of type bool",
            id="high-confidence-none",
        ),
        pytest.param(
            {"high_confidence": "wrong"},
            "high_confidence shouldn't be null and should be of type bool",
            id="high-confidence-str",
        ),
    ],
)
def test_create_classification_invalid(mock_elements_worker, kwargs, message):
    kwargs = {"element": element(), "ml_class": "a_class", "confidence": 0.42, **kwargs}
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_classification(**kwargs)
    assert str(e.value) == message


def test_create_classification_read_only(mock_elements_worker_read_only, caplog):
    result = mock_elements_worker_read_only.create_classification(
        element=element(), ml_class="a_class", confidence=0.42
    )

    assert result is None
    assert records(caplog) == [
        (
            logging.WARNING,
            "Cannot create classification as this worker is in read-only mode",
        )
    ]


def test_create_classification(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"a_class": "0000"}
    answer = {"id": CLASSIFICATION_ID, "confidence": 0.42, "state": "pending"}
    mock_api.post(CLASSIFICATION_URL, json=answer)

    result = mock_elements_worker.create_classification(
        element=element(), ml_class="a_class", confidence=0.42, high_confidence=True
    )

    assert result == answer
    assert calls(mock_api) == [("POST", CLASSIFICATION_URL, classification_body())]


def test_create_classification_empty_answer(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"a_class": "0000"}
    mock_api.post(CLASSIFICATION_URL, status=200)

    result = mock_elements_worker.create_classification(
        element=element(), ml_class="a_class", confidence=0.42
    )

    assert result is None
    assert calls(mock_api) == [
        ("POST", CLASSIFICATION_URL, classification_body(high_confidence=False))
    ]


def test_create_classification_creates_class(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"another_class": "0000"}
    mock_api.post(CLASSES_URL, status=201, json={"id": "new-ml-class-1234"})
    mock_api.post(CLASSIFICATION_URL, json={"id": CLASSIFICATION_ID})

    mock_elements_worker.create_classification(
        element=element(), ml_class="a_class", confidence=0.42, high_confidence=True
    )

    assert calls(mock_api) == [
        ("POST", CLASSES_URL, {"name": "a_class"}),
        (
            "POST",
            CLASSIFICATION_URL,
            classification_body(ml_class="new-ml-class-1234"),
        ),
    ]


def test_create_classification_duplicate(mock_elements_worker, mock_api, caplog):
    mock_elements_worker.classes = {"a_class": "0000"}
    mock_api.post(
        CLASSIFICATION_URL, status=400, json={"non_field_errors": [UNIQUE_SET]}
    )

    result = mock_elements_worker.create_classification(
        element=element(), ml_class="a_class", confidence=0.42, high_confidence=True
    )

    assert result is None
    assert len(mock_api.calls) == 1
    assert records(caplog) == [
        (
            logging.WARNING,
            f"This worker run has already set a_class on element {ELEMENT_ID}",
        )
    ]


@pytest.mark.parametrize(
    ("status", "content"),
    [
        pytest.param(418, None, id="teapot"),
        pytest.param(400, {"non_field_errors": ["Something else."]}, id="other-400"),
        pytest.param(400, {"confidence": ["Invalid."]}, id="400-without-non-field"),
        pytest.param(400, None, id="400-empty-body"),
        pytest.param(400, "plain text " + UNIQUE_SET, id="400-text"),
    ],
)
def test_create_classification_api_error(
    mock_elements_worker, mock_api, status, content
):
    mock_elements_worker.classes = {"a_class": "0000"}
    if isinstance(content, str):
        mock_api.post(
            CLASSIFICATION_URL, status=status, body=content, content_type="text/plain"
        )
    elif content is None:
        mock_api.post(CLASSIFICATION_URL, status=status)
    else:
        mock_api.post(CLASSIFICATION_URL, status=status, json=content)

    with pytest.raises(ErrorResponse) as e:
        mock_elements_worker.create_classification(
            element=element(), ml_class="a_class", confidence=0.42
        )

    assert e.value.status_code == status
    assert len(mock_api.calls) == 1


@pytest.fixture
def cached_page(mock_cached_elements_worker):
    return CachedElement.create(id=ELEMENT_ID, type="page")


def cached_classifications() -> list[tuple]:
    return [
        (
            str(row.id),
            str(row.element_id),
            row.class_name,
            row.confidence,
            row.state,
            str(row.worker_run_id),
        )
        for row in CachedClassification.select()
    ]


def test_create_classification_cache(
    mock_cached_elements_worker, cached_page, mock_api
):
    mock_cached_elements_worker.classes = {"a_class": "0000"}
    answer = {"id": CLASSIFICATION_ID, "confidence": 0.42, "state": "pending"}
    mock_api.post(CLASSIFICATION_URL, json=answer)

    result = mock_cached_elements_worker.create_classification(
        element=cached_page, ml_class="a_class", confidence=0.42, high_confidence=True
    )

    assert result == answer
    assert calls(mock_api) == [("POST", CLASSIFICATION_URL, classification_body())]
    assert cached_classifications() == [
        (CLASSIFICATION_ID, ELEMENT_ID, "a_class", 0.42, "pending", WORKER_RUN_ID)
    ]


def test_create_classification_cache_integrity_error(
    mock_cached_elements_worker, mock_api, caplog
):
    # The element is not cached: the foreign key rejects the row.
    mock_cached_elements_worker.classes = {"a_class": "0000"}
    answer = {"id": CLASSIFICATION_ID, "confidence": 0.42, "state": "pending"}
    mock_api.post(CLASSIFICATION_URL, json=answer)

    result = mock_cached_elements_worker.create_classification(
        element=element(), ml_class="a_class", confidence=0.42
    )

    assert result == answer
    assert records(caplog) == [
        (
            logging.WARNING,
            "Couldn't save created classification in local cache: FOREIGN KEY constraint failed",
        )
    ]
    assert cached_classifications() == []


# --- create_classifications ---------------------------------------------------------


def item(ml_class: str = "portrait", confidence: float = 0.75, **extra) -> dict:
    return {"ml_class": ml_class, "confidence": confidence, **extra}


@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(None, id="none"),
        pytest.param("not an int", id="str"),
        pytest.param(0, id="zero"),
    ],
)
def test_create_classifications_invalid_batch_size(mock_elements_worker, batch_size):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_classifications(None, None, batch_size=batch_size)
    assert (
        str(e.value)
        == "batch_size shouldn't be null and should be a strictly positive integer"
    )


PREFIX = "Classification at index 1 in classifications: "


@pytest.mark.parametrize(
    ("element_arg", "classifications", "message"),
    [
        pytest.param(
            None,
            [item()],
            "element shouldn't be null and should be an Element or CachedElement",
            id="element-none",
        ),
        pytest.param(
            element(),
            None,
            "classifications shouldn't be null and should be of type list",
            id="classifications-none",
        ),
        pytest.param(
            element(),
            [],
            "classifications shouldn't be null and should be of type list",
            id="classifications-empty",
        ),
        pytest.param(
            element(),
            item(),
            "classifications shouldn't be null and should be of type list",
            id="classifications-dict",
        ),
        pytest.param(
            element(),
            [item(), {"confidence": 0.5}],
            PREFIX + "ml_class shouldn't be null and should be of type str",
            id="ml-class-missing",
        ),
        pytest.param(
            element(),
            [item(), item(ml_class=1234)],
            PREFIX + "ml_class shouldn't be null and should be of type str",
            id="ml-class-int",
        ),
        pytest.param(
            element(),
            [item(), {"ml_class": "landscape"}],
            PREFIX
            + "confidence shouldn't be null and should be a float in [0..1] range",
            id="confidence-missing",
        ),
        pytest.param(
            element(),
            [item(), item(confidence=1)],
            PREFIX
            + "confidence shouldn't be null and should be a float in [0..1] range",
            id="confidence-int",
        ),
        pytest.param(
            element(),
            [item(), item(confidence=1.5)],
            PREFIX
            + "confidence shouldn't be null and should be a float in [0..1] range",
            id="confidence-above",
        ),
        pytest.param(
            element(),
            [item(), item(high_confidence="wrong")],
            PREFIX + "high_confidence should be of type bool",
            id="high-confidence-str",
        ),
    ],
)
def test_create_classifications_invalid(
    mock_elements_worker, element_arg, classifications, message
):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_classifications(
            element=element_arg, classifications=classifications
        )
    assert str(e.value) == message


def test_create_classifications_read_only(mock_elements_worker_read_only, caplog):
    result = mock_elements_worker_read_only.create_classifications(
        element=element(), classifications=[item(high_confidence=None)]
    )

    assert result is None
    assert records(caplog) == [
        (
            logging.WARNING,
            "Cannot create classifications as this worker is in read-only mode",
        )
    ]


def bulk_answer(items: list[dict], start: int = 0) -> dict:
    return {
        "parent": ELEMENT_ID,
        "worker_run_id": WORKER_RUN_ID,
        "classifications": [
            {
                "id": classification_id(start + index),
                "ml_class": entry["ml_class"],
                "confidence": entry["confidence"],
                "high_confidence": entry.get("high_confidence", False),
                "state": "pending",
            }
            for index, entry in enumerate(items)
        ],
    }


@pytest.mark.parametrize(("count", "batch_size", "sizes"), BATCH_BOUNDARIES)
def test_create_classifications_batches(
    mock_elements_worker, mock_api, count, batch_size, sizes
):
    mock_elements_worker.classes = {"portrait": "0000"}
    items = [
        item(confidence=index / 100, high_confidence=False) for index in range(count)
    ]
    sent = [{**entry, "ml_class": "0000"} for entry in items]
    expected_calls, start = [], 0
    for size in sizes:
        batch = sent[start : start + size]
        mock_api.post(BULK_URL, json=bulk_answer(batch, start))
        expected_calls.append(
            (
                "POST",
                BULK_URL,
                {
                    "parent": ELEMENT_ID,
                    "worker_run_id": WORKER_RUN_ID,
                    "classifications": batch,
                },
            )
        )
        start += size

    result = mock_elements_worker.create_classifications(
        element=element(), classifications=items, batch_size=batch_size
    )

    assert calls(mock_api) == expected_calls
    assert result == [
        {**created, "class_name": "portrait"}
        for created in bulk_answer(sent)["classifications"]
    ]


def test_create_classifications_creates_class_per_batch(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"portrait": "0000"}
    items = [item("portrait"), item("landscape", 0.25, high_confidence=True)]
    mock_api.post(BULK_URL, json=bulk_answer([{**items[0], "ml_class": "0000"}]))
    mock_api.post(CLASSES_URL, status=201, json={"id": "1111"})
    mock_api.post(BULK_URL, json=bulk_answer([{**items[1], "ml_class": "1111"}], 1))

    result = mock_elements_worker.create_classifications(
        element=element(), classifications=items, batch_size=1
    )

    assert calls(mock_api) == [
        (
            "POST",
            BULK_URL,
            {
                "parent": ELEMENT_ID,
                "worker_run_id": WORKER_RUN_ID,
                "classifications": [{"ml_class": "0000", "confidence": 0.75}],
            },
        ),
        ("POST", CLASSES_URL, {"name": "landscape"}),
        (
            "POST",
            BULK_URL,
            {
                "parent": ELEMENT_ID,
                "worker_run_id": WORKER_RUN_ID,
                "classifications": [
                    {"ml_class": "1111", "confidence": 0.25, "high_confidence": True}
                ],
            },
        ),
    ]
    assert [entry["class_name"] for entry in result] == ["portrait", "landscape"]


def test_create_classifications_api_error(mock_elements_worker, mock_api):
    mock_elements_worker.classes = {"portrait": "0000"}
    mock_api.post(BULK_URL, status=418)

    with pytest.raises(ErrorResponse):
        mock_elements_worker.create_classifications(
            element=element(), classifications=[item()]
        )
    assert len(mock_api.calls) == 1


def test_create_classifications_cache(
    mock_cached_elements_worker, cached_page, mock_api
):
    mock_cached_elements_worker.classes = {"portrait": "0000", "landscape": "1111"}
    items = [
        item("portrait", high_confidence=False),
        item("landscape", 0.25, high_confidence=False),
    ]
    sent = [{**items[0], "ml_class": "0000"}, {**items[1], "ml_class": "1111"}]
    mock_api.post(BULK_URL, json=bulk_answer(sent[:1]))
    mock_api.post(BULK_URL, json=bulk_answer(sent[1:], 1))

    result = mock_cached_elements_worker.create_classifications(
        element=cached_page, classifications=items, batch_size=1
    )

    # With the cache on, `class_name` is popped again (upstream quirk).
    assert result == bulk_answer(sent)["classifications"]
    assert cached_classifications() == [
        (classification_id(0), ELEMENT_ID, "portrait", 0.75, "pending", WORKER_RUN_ID),
        (classification_id(1), ELEMENT_ID, "landscape", 0.25, "pending", WORKER_RUN_ID),
    ]


def test_create_classifications_cache_integrity_error(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_cached_elements_worker.classes = {"portrait": "0000"}
    mock_api.post(BULK_URL, json=bulk_answer([{**item(), "ml_class": "0000"}]))

    result = mock_cached_elements_worker.create_classifications(
        element=element(), classifications=[item()]
    )

    assert len(result) == 1
    assert records(caplog) == [
        (
            logging.WARNING,
            "Couldn't save created classifications in local cache: FOREIGN KEY constraint failed",
        )
    ]
    assert cached_classifications() == []
