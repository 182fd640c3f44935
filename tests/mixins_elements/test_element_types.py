"""ElementMixin: corpus element types, their creation and checks (07, 14 §3.3)."""

from __future__ import annotations

import logging
import uuid

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.worker.element import (
    ElementType,
    MissingElementType,
    MissingTypeError,
    slugify,
)
from tests.conftest import CORPUS_ID, api_url
from tests.mixins_elements.conftest import ELEMENT_ID, calls, records

CORPUS_URL = api_url(f"corpus/{CORPUS_ID}/")
TYPE_URL = api_url("elements/type/")
CORPUS_TYPES = {"folder": {"slug": "folder"}, "page": {"slug": "page"}}


def type_body(slug: str, name: str | None = None, folder: bool = False) -> dict:
    return {
        "slug": slug,
        "display_name": name or slug,
        "folder": folder,
        "corpus": CORPUS_ID,
    }


def mock_corpus(mock_api, *slugs: str) -> None:
    mock_api.get(
        CORPUS_URL,
        json={"id": CORPUS_ID, "types": [{"slug": slug} for slug in slugs]},
    )


# --- list_corpus_types ---------------------------------------------------------


def test_list_corpus_types(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    mock_corpus(mock_api, "folder", "page")

    assert mock_elements_worker.list_corpus_types() is None

    assert mock_elements_worker.corpus_types == CORPUS_TYPES
    assert calls(mock_api) == [("GET", CORPUS_URL, None)]
    assert records(caplog) == [
        (logging.INFO, f"Loaded 2 element types in corpus ({CORPUS_ID}).")
    ]


def test_list_corpus_types_single(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    mock_corpus(mock_api, "page")

    mock_elements_worker.list_corpus_types()

    assert records(caplog) == [
        (logging.INFO, f"Loaded 1 element type in corpus ({CORPUS_ID}).")
    ]


# --- create_required_types ----------------------------------------------------


@pytest.mark.parametrize(
    "worker_fixture",
    [
        pytest.param("mock_elements_worker", id="online"),
        pytest.param("mock_elements_worker_read_only", id="read-only"),
    ],
)
def test_create_required_types(request, mock_api, caplog, worker_fixture):
    worker = request.getfixturevalue(worker_fixture)
    caplog.set_level(logging.INFO)
    caplog.clear()  # The worker was built during the call phase: drop its logs.
    mock_api.post(TYPE_URL, json={})

    result = worker.create_required_types(
        [ElementType("Act", "act", True), ElementType("Line", "text_line", False)]
    )

    assert result is None
    assert calls(mock_api) == [
        ("POST", TYPE_URL, type_body("act", "Act", folder=True)),
        ("POST", TYPE_URL, type_body("text_line", "Line")),
    ]
    assert records(caplog) == [
        (logging.INFO, "Created a new element type with slug act"),
        (logging.INFO, "Created a new element type with slug text_line"),
    ]
    assert worker.corpus_types == {}


def test_create_required_types_cache_warning(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.post(TYPE_URL, json={})

    mock_cached_elements_worker.create_required_types([ElementType("A", "a", False)])

    assert records(caplog)[-1] == (
        logging.WARNING,
        "This API helper `create_required_types` did not update the cache database",
    )


# --- check_required_types (0.4 form) -------------------------------------------


@pytest.mark.parametrize(
    ("slugs", "message"),
    [
        pytest.param((), "At least one element type slug is required.", id="none"),
        pytest.param(("page", 42), "Element type slugs must be strings.", id="not-str"),
    ],
)
def test_check_required_types_invalid(mock_elements_worker, slugs, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.check_required_types(*slugs)
    assert str(e.value) == message


def test_check_required_types_loads_types(mock_elements_worker, mock_api):
    mock_corpus(mock_api, "folder", "page")

    assert mock_elements_worker.check_required_types("page") is True
    assert mock_elements_worker.check_required_types("page", "folder") is True

    # Loaded once, then kept.
    assert calls(mock_api) == [("GET", CORPUS_URL, None)]
    assert mock_elements_worker.corpus_types == CORPUS_TYPES


def test_check_required_types_missing(mock_elements_worker):
    mock_elements_worker.corpus_types = CORPUS_TYPES

    with pytest.raises(MissingTypeError) as e:
        mock_elements_worker.check_required_types("page", "text_line", "act")

    assert str(e.value) == (
        f"Element types act, text_line were not found in corpus ({CORPUS_ID})."
    )


def test_check_required_types_missing_one(mock_elements_worker):
    mock_elements_worker.corpus_types = CORPUS_TYPES

    with pytest.raises(MissingTypeError) as e:
        mock_elements_worker.check_required_types("act")

    assert str(e.value) == f"Element type act were not found in corpus ({CORPUS_ID})."


def test_check_required_types_create_missing(mock_elements_worker, mock_api):
    mock_elements_worker.corpus_types = CORPUS_TYPES
    mock_api.post(TYPE_URL, json={})

    assert (
        mock_elements_worker.check_required_types(
            "page", "text_line", "act", create_missing=True
        )
        is True
    )

    # Sorted order; the corpus types are not refreshed.
    assert calls(mock_api) == [
        ("POST", TYPE_URL, type_body("act")),
        ("POST", TYPE_URL, type_body("text_line")),
    ]
    assert mock_elements_worker.corpus_types == CORPUS_TYPES


# --- check_required_types (0.6 forms) -----------------------------------------


def test_check_required_types_both_forms(mock_elements_worker):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.check_required_types("page", type_names=["Page"])
    assert str(e.value) == (
        "Use either type slugs as positional arguments or type_names, not both."
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"type_names": []},
            "type_names shouldn't be null and should be of type list",
            id="empty",
        ),
        pytest.param(
            {"type_names": ("Page",)},
            "type_names shouldn't be null and should be of type list",
            id="tuple",
        ),
        pytest.param(
            {"type_names": ["Page", 1]},
            "Element type at index 1 in type_names: Should be of type str",
            id="not-str",
        ),
        pytest.param(
            {"type_names": ["Page"], "create_missing": None},
            "create_missing shouldn't be null and should be of type bool",
            id="create-missing-none",
        ),
    ],
)
def test_check_required_type_names_invalid(mock_elements_worker, kwargs, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.check_required_types(**kwargs)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        pytest.param((), {"type_names": ["Page", "Folder", "Page"]}, id="keyword"),
        pytest.param((["Page", "Folder", "Page"],), {}, id="one-list-positional"),
    ],
)
def test_check_required_type_names(mock_elements_worker, mock_api, args, kwargs):
    mock_corpus(mock_api, "folder", "page")

    mapping = mock_elements_worker.check_required_types(*args, **kwargs)

    assert mapping == {"Page": "page", "Folder": "folder"}
    assert calls(mock_api) == [("GET", CORPUS_URL, None)]


def test_check_required_type_names_missing(mock_elements_worker):
    mock_elements_worker.corpus_types = CORPUS_TYPES

    with pytest.raises(MissingElementType) as e:
        mock_elements_worker.check_required_types(type_names=["Page", "Text Line"])

    assert isinstance(e.value, MissingTypeError)
    assert str(e.value) == "Element type `text_line` was not in the corpus."


def test_check_required_type_names_create_missing(
    mock_elements_worker, mock_api, caplog
):
    caplog.set_level(logging.INFO)
    mock_elements_worker.corpus_types = dict(CORPUS_TYPES)
    mock_api.post(TYPE_URL, json={"slug": "text_line", "id": "type-id"})

    mapping = mock_elements_worker.check_required_types(
        type_names=["Text Line", "Page"], create_missing=True
    )

    assert mapping == {"Text Line": "text_line", "Page": "page"}
    assert calls(mock_api) == [("POST", TYPE_URL, type_body("text_line", "Text Line"))]
    assert mock_elements_worker.corpus_types["text_line"] == {
        "slug": "text_line",
        "id": "type-id",
    }
    assert records(caplog) == [
        (logging.INFO, "Created a new element type with slug `text_line`.")
    ]


# --- slugify --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        pytest.param("Text Line", "text_line", id="space"),
        pytest.param("Zoné!", "zon", id="drop-others"),
        pytest.param("a-b_C9", "a-b_c9", id="kept"),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


# --- create_element_type -------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"slug": None, "name": "A"},
            "slug shouldn't be null and should be of type str",
            id="slug",
        ),
        pytest.param(
            {"slug": "a", "name": ""},
            "name shouldn't be null and should be of type str",
            id="name",
        ),
        pytest.param(
            {"slug": "a", "name": "A", "is_folder": 1},
            "is_folder shouldn't be null and should be of type bool",
            id="is-folder",
        ),
    ],
)
def test_create_element_type_invalid(mock_elements_worker, kwargs, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_element_type(**kwargs)
    assert str(e.value) == message


def test_create_element_type_read_only(mock_elements_worker_read_only, mock_api):
    mock_api.post(TYPE_URL, json={"slug": "act"})

    assert (
        mock_elements_worker_read_only.create_element_type("act", "Act", is_folder=True)
        is None
    )

    assert calls(mock_api) == [("POST", TYPE_URL, type_body("act", "Act", True))]
    assert mock_elements_worker_read_only.corpus_types == {"act": {"slug": "act"}}


def test_create_element_type_exists(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    mock_api.post(TYPE_URL, status=400, json={"slug": ["already exists"]})
    mock_corpus(mock_api, "act")

    mock_elements_worker.create_element_type("act", "Act")

    assert calls(mock_api) == [
        ("POST", TYPE_URL, type_body("act", "Act")),
        ("GET", CORPUS_URL, None),
    ]
    assert mock_elements_worker.corpus_types == {"act": {"slug": "act"}}
    assert records(caplog) == [
        (
            logging.WARNING,
            "Unable to create the element type `act`. Refreshing corpus element types cache.",
        ),
        (logging.INFO, f"Loaded 1 element type in corpus ({CORPUS_ID})."),
    ]


def test_create_element_type_still_missing(mock_elements_worker, mock_api):
    mock_api.post(TYPE_URL, status=400, json={})
    mock_corpus(mock_api, "page")

    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_element_type("act", "Act")

    assert str(e.value) == "Missing element type `act` even after refreshing."


def test_create_element_type_error(mock_elements_worker, mock_api):
    mock_api.post(TYPE_URL, status=403, json={"detail": "Forbidden"})

    with pytest.raises(ErrorResponse) as e:
        mock_elements_worker.create_element_type("act", "Act")

    assert e.value.status_code == 403
    assert len(mock_api.calls) == 1


# --- retrieve_element ----------------------------------------------------------


@pytest.mark.parametrize(
    "element_id",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param(42, id="int"),
    ],
)
def test_retrieve_element_invalid(mock_elements_worker, element_id):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.retrieve_element(element_id)
    assert str(e.value) == "element_id shouldn't be null and should be of type str"


@pytest.mark.parametrize(
    "element_id",
    [
        pytest.param(ELEMENT_ID, id="str"),
        pytest.param(uuid.UUID(ELEMENT_ID), id="uuid"),
    ],
)
def test_retrieve_element(mock_elements_worker, mock_api, element_id):
    payload = {"id": ELEMENT_ID, "name": "0"}
    mock_api.get(api_url(f"element/{ELEMENT_ID}/"), json=payload)

    assert mock_elements_worker.retrieve_element(element_id) == payload
    assert calls(mock_api) == [("GET", api_url(f"element/{ELEMENT_ID}/"), None)]


# --- consume_worker_activities ------------------------------------------------


@pytest.mark.parametrize(
    ("skip", "task_id", "expected"),
    [
        pytest.param(True, None, True, id="true"),
        pytest.param(False, "task", False, id="false"),
        pytest.param(None, None, False, id="missing-outside-task"),
        pytest.param(None, "task", True, id="missing-inside-task"),
    ],
)
def test_consume_worker_activities(mock_elements_worker, skip, task_id, expected):
    if skip is not None:
        mock_elements_worker.process_information["skip_elements_json"] = skip
    mock_elements_worker.task_id = task_id

    assert mock_elements_worker.consume_worker_activities is expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--dev"], False, id="default"),
        pytest.param(["--dev", "--no-elements-list"], True, id="option"),
    ],
)
def test_consume_worker_activities_read_only(
    mock_elements_worker_read_only, argv, expected
):
    worker = mock_elements_worker_read_only
    worker.args = worker.parser.parse_args(argv)

    assert worker.consume_worker_activities is expected
