"""`arkindex_worker.api.answers`: statuses, answer size and JSON depth."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arkindex_worker.api.answers import (
    MAX_ANSWER_BYTES,
    MAX_JSON_DEPTH,
    MAX_PAGES,
    AnswerLimits,
    check_json_depth,
    valid_status,
)
from arkindex_worker.errors import (
    AnswerLimitError,
    ErrorResponse,
    InvalidStatusError,
)
from tests.conftest import api_url

ELEMENT_URL = api_url("element/e/")


def depth(value) -> int:
    """Reference: nesting depth of a decoded JSON value."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


# Strings full of what could fool a scanner: brackets, quotes, backslashes
tricky = st.text(alphabet='[]{}"\\ab', max_size=8)
values = st.recursive(
    st.none() | st.integers() | tricky,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(tricky, children, max_size=4)
    ),
    max_leaves=40,
)


@given(value=values, limit=st.integers(min_value=1, max_value=8))
def test_check_json_depth_matches_the_decoded_depth(value, limit):
    text = json.dumps(value).encode()
    assert check_json_depth(text, limit) == (depth(value) <= limit)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param(b'[["]]]]]]", [1]]]', 2, False, id="closing-brackets-in-a-string"),
        pytest.param(b'[["]]]]]]", [1]]]', 3, True, id="deep-enough"),
        pytest.param(b'["\\\\", [[]]]', 2, False, id="escaped-backslash-ends-string"),
        pytest.param(b'["\\"[[[", []]', 2, True, id="escaped-quote-stays-inside"),
        pytest.param(b"[" * 10 + b"]" * 10, 10, True, id="exactly-the-limit"),
        pytest.param(b"[" * 11 + b"]" * 11, 10, False, id="one-more"),
        pytest.param(b"[" * 50, 10, True, id="not-json-left-to-the-decoder"),
    ],
)
def test_check_json_depth_examples(text, limit, expected):
    assert check_json_depth(text, limit) is expected


def test_defaults():
    assert AnswerLimits() == AnswerLimits(
        max_bytes=100 * 1024 * 1024, max_depth=256, max_pages=100_000
    )
    assert (MAX_ANSWER_BYTES, MAX_JSON_DEPTH, MAX_PAGES) == (104857600, 256, 100000)


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("ARKINDEX_API_MAX_ANSWER_SIZE", "1000")
    monkeypatch.setenv("ARKINDEX_API_MAX_JSON_DEPTH", "12")
    monkeypatch.setenv("ARKINDEX_API_MAX_PAGES", "")
    assert AnswerLimits.from_env() == AnswerLimits(1000, 12, MAX_PAGES)
    # A keyword wins over the variable
    assert AnswerLimits.from_env(max_depth=3).max_depth == 3


@pytest.mark.parametrize(
    ("status", "valid"),
    [(99, False), (100, True), (200, True), (599, True), (600, False), (999, False)],
)
def test_valid_status(status, valid):
    assert valid_status(status) is valid


@pytest.mark.parametrize("status", [99, 600, 700])
def test_invalid_status_is_an_error(client, mock_api, status):
    mock_api.get(ELEMENT_URL, status=status, json={"id": "e"})
    with pytest.raises(InvalidStatusError) as e:
        client.request("RetrieveElement", id="e")
    assert str(e.value) == (
        "Operation RetrieveElement expected JSON, got an invalid HTTP status "
        f"(application/json, HTTP {status} from {ELEMENT_URL}): "
        "HTTP statuses go from 100 to 599"
    )
    assert e.value.status_code == status
    assert len(mock_api.calls) == 1


def test_599_is_still_an_error_answer(client, mock_api, sleeps):
    mock_api.get(ELEMENT_URL, status=599, json={"detail": "odd"})
    with pytest.raises(ErrorResponse) as e:
        client.request("RetrieveElement", id="e")
    assert not isinstance(e.value, InvalidStatusError)
    assert (e.value.status_code, e.value.content) == (599, {"detail": "odd"})
    # A 5xx answer: retried as any other
    assert len(mock_api.calls) == 5


def test_unbalanced_deep_text_is_refused_not_a_recursion_error(client, mock_api):
    mock_api.get(ELEMENT_URL, body=b"[" * 100_000, content_type="application/json")
    with pytest.raises(AnswerLimitError, match="JSON nested too deep"):
        client.request("RetrieveElement", id="e")


def test_depth_limit_of_the_client(mock_api):
    from arkindex_worker.api import ArkindexClient
    from tests.conftest import API_TOKEN, BASE_URL

    client = ArkindexClient(
        token=API_TOKEN, base_url=BASE_URL, limits=AnswerLimits(max_depth=2)
    )
    mock_api.get(ELEMENT_URL, json={"a": [1]})
    mock_api.get(ELEMENT_URL, json={"a": [[1]]})
    assert client.request("RetrieveElement", id="e") == {"a": [1]}
    with pytest.raises(AnswerLimitError, match="more than 2 levels"):
        client.request("RetrieveElement", id="e")
