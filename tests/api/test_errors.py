"""Error classes: selection from the answer, str and repr."""

from __future__ import annotations

import pytest

from arkindex_worker.api import (
    ArkindexClientError,
    ArkindexConflictError,
    ArkindexError,
    ArkindexServerError,
    ArkindexValidationError,
    ClientError,
    ErrorMessage,
    ErrorResponse,
)
from arkindex_worker.api.errors import error_from_response
from tests.conftest import api_url

ERROR = {"attr": ["name"], "code": "invalid", "detail": "Bad name"}


def standard(kind: str, errors: list | None = None, **extra) -> dict:
    return {"type": kind, "errors": [ERROR] if errors is None else errors, **extra}


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        pytest.param(500, standard("server_error"), ArkindexServerError, id="server"),
        pytest.param(
            400, standard("server_error"), ErrorResponse, id="server-type-4xx"
        ),
        pytest.param(400, standard("client_error"), ArkindexClientError, id="client"),
        pytest.param(
            409,
            standard("client_error", existing_id="x"),
            ArkindexConflictError,
            id="conflict",
        ),
        pytest.param(
            409,
            standard("client_error", existing_id=None),
            ArkindexConflictError,
            id="conflict-none-id",
        ),
        pytest.param(
            409, standard("client_error"), ArkindexClientError, id="409-no-id"
        ),
        pytest.param(
            400,
            standard("client_error", existing_id="x"),
            ArkindexClientError,
            id="id-not-409",
        ),
        pytest.param(
            400, standard("validation_error"), ArkindexValidationError, id="validation"
        ),
        pytest.param(
            400,
            standard("validation_error", [{"attr": None, "code": "c", "detail": "d"}]),
            ArkindexValidationError,
            id="attr-none",
        ),
        pytest.param(
            400,
            standard(
                "validation_error", [{"attr": ["a", 0], "code": "c", "detail": "d"}]
            ),
            ArkindexValidationError,
            id="attr-index",
        ),
        pytest.param(
            400,
            standard("validation_error", []),
            ArkindexValidationError,
            id="no-errors",
        ),
        pytest.param(400, standard("other"), ErrorResponse, id="other-type"),
        pytest.param(
            400,
            standard("client_error", [{"attr": [None], "code": "c", "detail": "d"}]),
            ErrorResponse,
            id="attr-list-of-none",
        ),
        pytest.param(
            400,
            standard("client_error", [{"attr": None, "code": 1, "detail": "d"}]),
            ErrorResponse,
            id="code-not-str",
        ),
        pytest.param(
            400,
            standard("client_error", [{"attr": None, "code": "c"}]),
            ErrorResponse,
            id="detail-missing",
        ),
        pytest.param(
            400, standard("client_error", ["x"]), ErrorResponse, id="error-not-dict"
        ),
        pytest.param(
            400, {"type": "client_error", "errors": {}}, ErrorResponse, id="errors-dict"
        ),
        pytest.param(400, {"detail": "Not found"}, ErrorResponse, id="drf"),
        pytest.param(400, ["a"], ErrorResponse, id="list"),
        pytest.param(400, "text", ErrorResponse, id="text"),
        pytest.param(400, None, ErrorResponse, id="empty"),
    ],
)
def test_error_class_selection(status, content, expected):
    error = error_from_response(f"{status} Reason", status, content)
    assert type(error) is expected
    assert (error.title, error.status_code, error.content) == (
        f"{status} Reason",
        status,
        content,
    )


def test_hierarchy():
    assert issubclass(ArkindexError, ErrorResponse)
    for cls in (ArkindexServerError, ArkindexClientError, ArkindexConflictError):
        assert issubclass(cls, ArkindexError)
    assert issubclass(ArkindexValidationError, ArkindexClientError)


def test_error_response_str_and_repr():
    error = ErrorResponse(title="409 Conflict", status_code=409, content={"a": "b"})
    assert str(error) == "{'a': 'b'}"
    assert (
        repr(error)
        == "ErrorResponse('409 Conflict', status_code=409, content={'a': 'b'})"
    )


def test_error_response_str_of_text():
    error = ErrorResponse(title="conflict", status_code=409, content="Bad")
    assert str(error) == "'Bad'"


def test_raised_error_from_answer(client, mock_api):
    mock_api.get(api_url("element/42/"), status=418, json={"detail": "teapot"})
    with pytest.raises(ErrorResponse) as e:
        client.request("RetrieveElement", id=42)
    assert e.value.title == "418 I'm a Teapot"
    assert e.value.status_code == 418
    assert e.value.content == {"detail": "teapot"}
    assert e.value.response.status_code == 418


def test_raised_validation_error(client, mock_api):
    content = standard("validation_error")
    mock_api.patch(api_url("element/42/"), status=400, json=content)
    with pytest.raises(ArkindexValidationError) as e:
        client.request("PartialUpdateElement", id=42, body={"name": ""})
    assert e.value.content == content


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param([ErrorMessage("Boom.", "c")], "Boom.", id="single"),
        pytest.param(
            [ErrorMessage("A", "c"), ErrorMessage("B", "d")],
            "[ErrorMessage(text='A', code='c', index=None, position=None), "
            "ErrorMessage(text='B', code='d', index=None, position=None)]",
            id="several",
        ),
        pytest.param(
            [ErrorMessage("A", "c", index=["x"])],
            "[ErrorMessage(text='A', code='c', index=['x'], position=None)]",
            id="indexed",
        ),
    ],
)
def test_client_error_str(messages, expected):
    assert str(ClientError(messages)) == expected
