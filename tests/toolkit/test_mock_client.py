"""`MockApiClient`: upstream's mock client surface, validation and strict mode."""

from __future__ import annotations

import pytest

from arkindex_worker.api import ArkindexClient, ClientError, ErrorResponse
from arkindex_worker.testing import MockApiClient, MockRequest, MockResponse
from arkindex_worker.testing.mock import format_call

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
ELEMENT = {"id": ELEMENT_ID, "type": "page", "name": "1"}
METADATA_BODY = {"type": "text", "name": "lang", "value": "fr"}
Failed = pytest.fail.Exception


@pytest.fixture
def mock():
    return MockApiClient()


@pytest.fixture
def strict():
    return MockApiClient(strict=True)


def test_is_an_api_client(mock):
    assert isinstance(mock, ArkindexClient)


def test_request_returns_the_registered_response(mock):
    mock.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)

    assert mock.request("RetrieveElement", id=ELEMENT_ID) == ELEMENT


def test_request_uses_up_the_response(mock):
    mock.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)

    mock.request("RetrieveElement", id=ELEMENT_ID)

    assert mock.responses == []


def test_history_records_every_call(mock):
    mock.add_response("CreateMetaData", {"id": "m"}, body=METADATA_BODY, id=ELEMENT_ID)

    mock.request("CreateMetaData", body=METADATA_BODY, id=ELEMENT_ID)
    with pytest.raises(ErrorResponse):
        mock.request("RetrieveElement", id=ELEMENT_ID)

    assert mock.history == [
        MockRequest("CreateMetaData", METADATA_BODY, (), {"id": ELEMENT_ID}),
        MockRequest("RetrieveElement", None, (), {"id": ELEMENT_ID}),
    ]


def test_equal_registrations_answer_in_order(mock):
    mock.add_response("RetrieveElement", {"name": "first"}, id=ELEMENT_ID)
    mock.add_response("RetrieveElement", {"name": "second"}, id=ELEMENT_ID)

    answers = [mock.request("RetrieveElement", id=ELEMENT_ID) for _ in range(2)]

    assert answers == [{"name": "first"}, {"name": "second"}]


def test_the_first_equal_registration_is_used(mock):
    mock.add_response("RetrieveElement", {"name": "other"}, id="other")
    mock.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)

    assert mock.request("RetrieveElement", id=ELEMENT_ID) == ELEMENT
    assert mock.responses == [
        MockResponse(
            MockRequest("RetrieveElement", None, (), {"id": "other"}), {"name": "other"}
        )
    ]


# --- upstream's shapes and constructor (issue 15) ------------------------------


def test_add_response_returns_the_expected_call(mock):
    call = mock.add_response(
        "CreateMetaData", {"id": "m"}, METADATA_BODY, id=ELEMENT_ID
    )

    assert call == MockRequest("CreateMetaData", METADATA_BODY, (), {"id": ELEMENT_ID})
    assert type(call) is MockRequest


def test_add_error_response_returns_the_expected_call(mock):
    call = mock.add_error_response("RetrieveElement", 404, id=ELEMENT_ID)

    assert call == MockRequest("RetrieveElement", None, (), {"id": ELEMENT_ID})


def test_responses_are_request_response_pairs(mock):
    mock.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)

    ((request, response),) = mock.responses
    assert request == MockRequest("RetrieveElement", None, (), {"id": ELEMENT_ID})
    assert response == ELEMENT
    assert mock.responses[0]._fields == ("request", "response")
    assert mock.responses[0].operation == "RetrieveElement"
    assert mock.responses[0].kwargs == {"id": ELEMENT_ID}


def test_history_items_have_upstream_fields(mock):
    with pytest.raises(ErrorResponse):
        mock.request("RetrieveElement", id=ELEMENT_ID)

    assert mock.history[0]._fields == ("operation", "body", "args", "kwargs")


@pytest.mark.parametrize(
    "schema_url",
    [
        pytest.param(
            "https://demo.arkindex.org/api/v1/openapi/?format=json", id="https"
        ),
        pytest.param("/nowhere/openapi.json", id="missing-file"),
    ],
)
def test_schema_url_is_never_downloaded(schema_url, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the mock sent a request")

    monkeypatch.setattr("requests.Session.send", no_network)

    mock = MockApiClient(schema_url=schema_url)

    assert mock.schema_url == schema_url
    mock.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)
    assert mock.request("RetrieveElement", id=ELEMENT_ID) == ELEMENT


def test_takes_the_client_arguments_positionally():
    mock = MockApiClient("t0k3n", "Ponos", "https://arkindex.example/", None)

    assert mock.document.url == "https://arkindex.example/"
    assert mock.schema_url is None
    assert "t0k3n" not in repr(mock)


def test_default_base_url_is_the_test_server(mock):
    assert mock.document.url == "http://testserver/api/v1/"


def test_refuses_what_the_client_refuses():
    with pytest.raises(TypeError):
        MockApiClient(schema="x")


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"id": "other"}, id="other-parameter"),
        pytest.param({"id": ELEMENT_ID, "body": {"other": 1}}, id="other-body"),
    ],
)
def test_no_match_raises_the_upstream_error(mock, kwargs):
    mock.add_response("PartialUpdateElement", {}, body={"name": "1"}, id=ELEMENT_ID)

    with pytest.raises(ErrorResponse) as error:
        mock.request("PartialUpdateElement", **{"body": {"name": "1"}, **kwargs})

    assert (error.value.title, error.value.status_code, error.value.content) == (
        "No mock response found",
        400,
        "No mock response found",
    )
    assert mock.unexpected == [mock.history[-1]]


def test_positional_arguments_are_part_of_the_call(mock):
    mock.add_response("RetrieveElement", ELEMENT, None, "extra", id=ELEMENT_ID)

    assert mock.request("RetrieveElement", None, "extra", id=ELEMENT_ID) == ELEMENT
    assert mock.history == [
        MockRequest("RetrieveElement", None, ("extra",), {"id": ELEMENT_ID})
    ]


def test_add_error_response_defaults(mock):
    mock.add_error_response("RetrieveElement", 418, id=ELEMENT_ID)

    with pytest.raises(ErrorResponse) as error:
        mock.request("RetrieveElement", id=ELEMENT_ID)

    assert (error.value.title, error.value.status_code, error.value.content) == (
        "Mock error response",
        418,
        "Mock error response",
    )


def test_add_error_response_with_title_content_and_body(mock):
    mock.add_error_response(
        "CreateMetaData",
        400,
        title="400 Bad Request",
        content={"value": ["Invalid"]},
        body=METADATA_BODY,
        id=ELEMENT_ID,
    )

    with pytest.raises(ErrorResponse) as error:
        mock.request("CreateMetaData", body=METADATA_BODY, id=ELEMENT_ID)

    assert (error.value.title, error.value.content) == (
        "400 Bad Request",
        {"value": ["Invalid"]},
    )


def test_a_registered_exception_is_raised(mock):
    boom = Exception("boom")
    mock.add_response("RetrieveElement", boom, id=ELEMENT_ID)

    with pytest.raises(Exception) as error:
        mock.request("RetrieveElement", id=ELEMENT_ID)

    assert error.value is boom


def test_paginate_returns_the_registered_response(mock):
    mock.add_response(
        "ListElementChildren", [ELEMENT], id=ELEMENT_ID, allow_missing_data=True
    )

    result = mock.paginate(
        "ListElementChildren", id=ELEMENT_ID, allow_missing_data=True
    )

    assert result == [ELEMENT]


def test_format_call():
    call = MockRequest("CreateMetaData", {"a": 1}, ("x",), {"id": "42"})

    assert format_call(call) == "CreateMetaData('x', body={'a': 1}, id='42')"


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("operation", "kwargs", "message"),
    [
        pytest.param(
            "RetrieveElemnt",
            {"id": "1"},
            "Invalid mock registration RetrieveElemnt(id='1'): Operation ID "
            "'RetrieveElemnt' not found in schema. Did you mean 'RetrieveElement'?",
            id="operation-typo",
        ),
        pytest.param(
            "NoSuchThing",
            {},
            "Invalid mock registration NoSuchThing(): "
            "Operation ID 'NoSuchThing' not found in schema.",
            id="unknown-operation",
        ),
        pytest.param(
            "RetrieveElement",
            {"id": "1", "typ": "page"},
            "Invalid mock registration RetrieveElement(id='1', typ='page'): "
            "Unknown parameter 'typ' for operation 'RetrieveElement'.",
            id="unknown-parameter",
        ),
        pytest.param(
            "RetrieveElement",
            {},
            "Invalid mock registration RetrieveElement(): "
            "Missing required parameter 'id'.",
            id="missing-path-parameter",
        ),
        pytest.param(
            "CreateMetaData",
            {"id": "1"},
            "Invalid mock registration CreateMetaData(id='1'): "
            "Missing required parameter 'body'.",
            id="missing-body",
        ),
    ],
)
def test_registration_is_validated(mock, operation, kwargs, message):
    with pytest.raises(ClientError) as error:
        mock.add_response(operation, {}, **kwargs)

    assert str(error.value) == message
    assert mock.responses == []


def test_validation_can_be_turned_off():
    mock = MockApiClient(validate=False)
    mock.add_response("CustomOperation", "ok", anything=1)

    assert mock.request("CustomOperation", anything=1) == "ok"


def test_an_invalid_call_raises_the_client_error(mock):
    with pytest.raises(ClientError) as error:
        mock.request("RetrieveElement", id=ELEMENT_ID, typ="page")

    assert (
        str(error.value) == "Unknown parameter 'typ' for operation 'RetrieveElement'."
    )


def test_validation_never_loads_a_server_schema(mock, mock_api):
    with pytest.raises(ClientError):
        mock.add_response("NoSuchThing", {})

    assert len(mock_api.calls) == 0


def test_validation_is_the_shared_module(mock, monkeypatch):
    def private(*args, **kwargs):
        raise AssertionError("the mock must not use the client's internals")

    monkeypatch.setattr(ArkindexClient, "_checked_operation", private)

    with pytest.raises(ClientError) as error:
        mock.request("RetrieveElement", id=None)

    assert str(error.value) == "Path parameter 'id' must not be None."


# ---------------------------------------------------------------- strict mode


def test_strict_unexpected_call_fails_the_test(strict):
    strict.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)
    strict.add_response("ListElementChildren", [], id=ELEMENT_ID, type="text_line")

    with pytest.raises(Failed) as error:
        strict.request("RetrieveElement", id="other")

    assert str(error.value) == (
        "Unexpected API call: RetrieveElement(id='other')\n"
        "Registered RetrieveElement calls (differences):\n"
        f"  - RetrieveElement(id='{ELEMENT_ID}')  [differs in: id]\n"
        "Expected calls not made yet:\n"
        f"  - RetrieveElement(id='{ELEMENT_ID}')\n"
        f"  - ListElementChildren(id='{ELEMENT_ID}', type='text_line')\n"
        "Register it with add_response() or add_error_response() if it is expected."
    )


def test_strict_unexpected_call_without_registrations(strict):
    with pytest.raises(Failed) as error:
        strict.request("RetrieveElement", id=ELEMENT_ID)

    assert str(error.value) == (
        f"Unexpected API call: RetrieveElement(id='{ELEMENT_ID}')\n"
        "No call is expected: every registered response was used.\n"
        "Register it with add_response() or add_error_response() if it is expected."
    )


def test_strict_failure_escapes_except_exception(strict):
    def worker_code():
        try:
            strict.request("RetrieveElement", id=ELEMENT_ID)
        except Exception:
            return "swallowed"

    with pytest.raises(Failed):
        worker_code()


def test_strict_invalid_call_fails_the_test(strict):
    with pytest.raises(Failed) as error:
        strict.request("RetrieveElemnt", id=ELEMENT_ID)

    assert str(error.value) == (
        f"Invalid API call RetrieveElemnt(id='{ELEMENT_ID}'): Operation ID "
        "'RetrieveElemnt' not found in schema. Did you mean 'RetrieveElement'?"
    )


def test_assert_all_called_passes_when_everything_was_used(strict):
    strict.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)
    strict.request("RetrieveElement", id=ELEMENT_ID)

    strict.assert_all_called()


@pytest.mark.parametrize(
    ("registrations", "first_line"),
    [
        pytest.param(1, "1 expected API call was never made:", id="one"),
        pytest.param(2, "2 expected API calls were never made:", id="two"),
    ],
)
def test_assert_all_called_lists_missing_calls(mock, registrations, first_line):
    for _ in range(registrations):
        mock.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)

    with pytest.raises(Failed) as error:
        mock.assert_all_called()

    assert str(error.value) == "\n".join(
        [first_line] + [f"  - RetrieveElement(id='{ELEMENT_ID}')"] * registrations
    )


def test_assert_all_called_lists_unexpected_calls(mock):
    with pytest.raises(ErrorResponse):
        mock.request("RetrieveElement", id=ELEMENT_ID)

    with pytest.raises(Failed) as error:
        mock.assert_all_called()

    assert str(error.value) == (
        f"Unexpected API calls were made:\n  - RetrieveElement(id='{ELEMENT_ID}')"
    )


def test_reset_forgets_everything(mock):
    mock.add_response("RetrieveElement", ELEMENT, id=ELEMENT_ID)
    with pytest.raises(ErrorResponse):
        mock.request("RetrieveElement", id="other")

    mock.reset()

    assert (mock.history, mock.responses, mock.unexpected) == ([], [], [])


def test_a_06_form_answers_to_the_server_name(mock):
    """A 0.6 suite registers ``CreateTranscriptionEntity``: the 0.6 form's request matches."""
    body = {"type_id": "type", "offset": 0, "length": 3, "worker_run_id": "run"}
    mock.add_response("CreateTranscriptionEntity", {"id": "link"}, id="tr", body=body)

    answer = mock.request("CreateTranscriptionEntity@0.6", id="tr", body=body)

    assert answer == {"id": "link"}
    assert [call.operation for call in mock.history] == ["CreateTranscriptionEntity"]
    assert mock.responses == []
