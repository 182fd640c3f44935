"""`arkindex_worker.api.validation`: the one check of operation IDs and keywords."""

from __future__ import annotations

import pytest

from arkindex_worker.api import ClientError
from arkindex_worker.api.schema import Operation, Parameter, bundled_operations
from arkindex_worker.api.validation import (
    PAGINATION_KEYWORDS,
    check_call,
    check_parameters,
    find_operation,
    parameter_problems,
    unknown_parameters,
)

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
OPERATION = Operation(
    id="CreateThing",
    method="POST",
    url="/api/v1/thing/{id}/",
    parameters={
        "id": Parameter("id", "path", required=True),
        "kind": Parameter("kind", "query", required=True),
        "page": Parameter("page", "query"),
    },
    body_name="thing",
)


def messages(error: ClientError) -> list[tuple[str, str]]:
    return [(message.text, message.code) for message in error.messages]


def test_find_operation():
    assert find_operation(bundled_operations(), "RetrieveElement").method == "GET"


def test_unknown_operation():
    with pytest.raises(ClientError) as error:
        find_operation(bundled_operations(), "RetrieveElemnt")

    assert messages(error.value) == [
        ("Operation ID 'RetrieveElemnt' not found in schema.", "invalid-operation")
    ]


def test_unknown_parameters():
    assert unknown_parameters(OPERATION, ["id", "body", "thing", "bogus"]) == ["bogus"]


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        pytest.param({"id": 1, "kind": "a", "thing": {}}, [], id="valid"),
        pytest.param({"id": 1, "kind": "a", "body": {}}, [], id="body-keyword"),
        pytest.param(
            {"id": 1, "kind": "a", "body": {}, "page": None}, [], id="none-query"
        ),
        pytest.param(
            {"id": None, "kind": "a", "body": {}},
            [("Path parameter 'id' must not be None.", "invalid-parameter")],
            id="none-path",
        ),
        pytest.param(
            {"bogus": 1, "kind": "a"},
            [
                (
                    "Unknown parameter 'bogus' for operation 'CreateThing'.",
                    "invalid-parameter",
                ),
                ("Missing required parameter 'id'.", "required"),
                ("Missing required parameter 'thing'.", "required"),
            ],
            id="unknown-then-missing",
        ),
    ],
)
def test_parameter_problems(parameters, expected):
    problems = parameter_problems(OPERATION, parameters)

    assert [(problem.text, problem.code) for problem in problems] == expected


def test_check_parameters_returns_the_operation():
    assert check_parameters(OPERATION, {"id": 1, "kind": "a", "body": {}}) is OPERATION


def test_check_parameters_raises_every_problem():
    with pytest.raises(ClientError) as error:
        check_parameters(OPERATION, {"id": None, "kind": "a", "body": {}, "x": 1})

    assert messages(error.value) == [
        ("Unknown parameter 'x' for operation 'CreateThing'.", "invalid-parameter"),
        ("Path parameter 'id' must not be None.", "invalid-parameter"),
    ]


def test_check_call():
    operation = check_call(bundled_operations(), "RetrieveElement", {"id": ELEMENT_ID})

    assert operation.id == "RetrieveElement"
    with pytest.raises(ClientError) as error:
        check_call(bundled_operations(), "RetrieveElement", {"with_zonez": True})
    assert messages(error.value) == [
        (
            "Unknown parameter 'with_zonez' for operation 'RetrieveElement'.",
            "invalid-parameter",
        ),
        ("Missing required parameter 'id'.", "required"),
    ]


def test_pagination_keywords():
    assert frozenset({"retries", "allow_missing_data"}) == PAGINATION_KEYWORDS
