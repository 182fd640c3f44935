"""Tests of ``arkindex_worker.worker.process`` (05)."""

from __future__ import annotations

import logging

import pytest

from arkindex_worker.worker.process import (
    PROCESS_ELEMENTS_PAGE_SIZE,
    ActivityState,
    ProcessMode,
)
from tests.conftest import PROCESS_ID, api_url

ELEMENTS_URL = api_url(f"process/{PROCESS_ID}/elements/")


def process_element(number: int) -> dict:
    """An item of ``ListProcessElements`` without image fields."""
    return {
        "id": f"0000000{number}-0000-0000-0000-000000000000",
        "type_id": "page-type",
        "name": f"Page {number}",
        "confidence": None,
        "image_id": None,
        "image_width": None,
        "image_height": None,
        "image_url": None,
        "polygon": None,
        "rotation_angle": 0,
        "mirrored": False,
    }


def test_activity_state_values():
    assert [(state.name, state.value) for state in ActivityState] == [
        ("Queued", "queued"),
        ("Started", "started"),
        ("Processed", "processed"),
        ("Error", "error"),
    ]


def test_process_mode_values():
    assert [(mode.name, mode.value) for mode in ProcessMode] == [
        ("Files", "files"),
        ("Workers", "workers"),
        ("Template", "template"),
        ("S3", "s3"),
        ("Local", "local"),
        ("Dataset", "dataset"),
        ("Export", "export"),
    ]


def test_enum_members_are_not_strings():
    assert ActivityState.Started != "started"
    assert str(ActivityState.Started) == "ActivityState.Started"


def test_page_size():
    assert PROCESS_ELEMENTS_PAGE_SIZE == 500


def test_list_process_elements_is_lazy(mock_elements_worker, mock_api):
    mock_elements_worker.list_process_elements()
    assert len(mock_api.calls) == 0


@pytest.mark.parametrize(
    "with_image", [pytest.param(False, id="without"), pytest.param(True, id="with")]
)
def test_list_process_elements(mock_elements_worker, mock_api, with_image):
    mock_api.get(
        f"{ELEMENTS_URL}?page_size=500&with_count=true&with_image={with_image}",
        json={
            "count": 3,
            "next": f"{ELEMENTS_URL}?cursor=abc&page_size=500&with_image={with_image}",
            "results": [process_element(1), process_element(2)],
        },
    )
    mock_api.get(
        f"{ELEMENTS_URL}?cursor=abc&page_size=500&with_image={with_image}",
        json={"count": None, "next": None, "results": [process_element(3)]},
    )

    elements = list(mock_elements_worker.list_process_elements(with_image=with_image))

    assert elements == [process_element(1), process_element(2), process_element(3)]
    assert all(type(element) is dict for element in elements)
    assert [call.request.url for call in mock_api.calls] == [
        f"{ELEMENTS_URL}?page_size=500&with_count=true&with_image={with_image}",
        f"{ELEMENTS_URL}?cursor=abc&page_size=500&with_image={with_image}",
    ]


def test_list_process_elements_skips_failing_pages(mock_elements_worker, mock_api):
    mock_api.get(
        f"{ELEMENTS_URL}?page_size=500&with_count=true&with_image=False",
        json={
            "count": 2,
            "next": f"{ELEMENTS_URL}?cursor=abc&page_size=500&with_image=False",
            "results": [process_element(1)],
        },
    )
    mock_api.get(
        f"{ELEMENTS_URL}?cursor=abc&page_size=500&with_image=False", status=500
    )

    assert list(mock_elements_worker.list_process_elements()) == [process_element(1)]
    # One first page, then five tries of the second before giving it up.
    assert len(mock_api.calls) == 6


def test_list_process_elements_cache_warning(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.get(
        f"{ELEMENTS_URL}?page_size=500&with_count=true&with_image=False",
        json={"count": 0, "next": None, "results": []},
    )
    assert list(mock_cached_elements_worker.list_process_elements()) == []
    assert (
        "arkindex_worker",
        logging.WARNING,
        "This API helper `list_process_elements` did not update the cache database",
    ) in caplog.record_tuples
