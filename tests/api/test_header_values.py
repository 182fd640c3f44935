"""Header values are checked before sending, and never shown in the error."""

from __future__ import annotations

import pytest
import requests

from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.auth import check_header_values
from arkindex_worker.errors import InvalidHeaderValueError
from tests.conftest import BASE_URL, api_url


@pytest.mark.parametrize(
    "value",
    ["Token abc", "", "caf\u00e9", "a\tb", b"raw bytes", "trailing "],
)
def test_valid_values(value):
    check_header_values({"X-Value": value})


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("hidden\nX-Injected: yes", id="line-feed"),
        pytest.param("hidden\r", id="carriage-return"),
        pytest.param("hidden\x00", id="nul"),
        pytest.param("hidden\x7f", id="delete"),
        pytest.param(" hidden", id="leading-space"),
        pytest.param("hidden \u20ac", id="not-latin-1"),
        pytest.param(b"hidden\n", id="bytes-line-feed"),
        pytest.param(12, id="not-text"),
    ],
)
def test_invalid_values_name_the_header_only(value):
    with pytest.raises(InvalidHeaderValueError) as e:
        check_header_values({"Accept": "application/json", "X-Secret": value})
    assert str(e.value) == (
        "The value of the X-Secret header cannot be sent: it holds a line break, "
        "a control character, leading whitespace or a character outside latin-1"
    )
    assert "hidden" not in repr(e.value)
    assert isinstance(e.value, ValueError)


def test_none_values_are_dropped_by_requests():
    check_header_values({"X-Absent": None})


def test_token_checked_on_every_request_of_the_client(mock_api):
    client = ArkindexClient(token="fine", base_url=BASE_URL)
    mock_api.get(api_url("element/e/"), json={"id": "e"})
    assert client.request("RetrieveElement", id="e") == {"id": "e"}
    client.auth.token = "now\nbroken"
    with pytest.raises(InvalidHeaderValueError, match="Authorization header"):
        client.request("RetrieveElement", id="e")
    assert len(mock_api.calls) == 1


def test_csrf_token_from_a_cookie_is_checked(mock_api):
    client = ArkindexClient(token="fine", base_url=BASE_URL)
    client.auth.csrf_token = "bad\r\ncookie"
    with pytest.raises(InvalidHeaderValueError) as e:
        client.request("CreateClassification", body={"element": "e"})
    assert str(e.value).startswith("The value of the X-CSRFToken header")
    assert "cookie" not in str(e.value)
    assert isinstance(e.value, requests.exceptions.InvalidHeader)
