"""ArkindexClient.request / single_request: URLs, parameters, bodies, answers."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from responses import matchers

from arkindex_worker.api import ArkindexClient, ClientError, ErrorResponse
from tests.conftest import API_TOKEN, BASE_URL, api_url

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"


@pytest.mark.parametrize(
    "base_url",
    [
        pytest.param("http://testserver/api/v1", id="no-trailing-slash"),
        pytest.param("http://testserver/api/v1/", id="api-root"),
        pytest.param("http://testserver", id="host-only"),
        pytest.param("http://testserver/some/other/path/", id="path-discarded"),
    ],
)
def test_url_uses_scheme_and_host_only(mock_api, base_url):
    mock_api.get("http://testserver/api/v1/element/42/", json={"id": "42"})
    client = ArkindexClient(base_url=base_url)
    assert client.request("RetrieveElement", id=42) == {"id": "42"}
    assert mock_api.calls[0].request.url == "http://testserver/api/v1/element/42/"


@pytest.mark.parametrize(
    ("operation", "parameters", "url"),
    [
        pytest.param(
            "RetrieveSecret",
            {"name": "a/b c"},
            api_url("secret/a%2Fb%20c"),
            id="secret-slash",
        ),
        pytest.param(
            "DownloadArtifact",
            {"id": "t", "path": "dir/file.txt"},
            api_url("task/t/artifact/dir%2Ffile.txt"),
            id="artifact-no-trailing-slash",
        ),
        pytest.param(
            "RetrieveElement",
            {"id": uuid.UUID(ELEMENT_ID)},
            api_url(f"element/{ELEMENT_ID}/"),
            id="uuid",
        ),
        pytest.param(
            "CreateElementParent",
            {"child": "c", "parent": "p"},
            api_url("element/c/parent/p/"),
            id="two-path-parameters",
        ),
    ],
)
def test_build_url(client, operation, parameters, url):
    assert client.build_url(operation, **parameters) == url


def test_plus_template_keeps_slashes(client):
    document = {"paths": {"/api/v1/files/{+path}": {"get": {"operationId": "GetFile"}}}}
    client._use_document(document)
    assert client.build_url("GetFile", path="a/b c") == api_url("files/a/b%20c")


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        pytest.param(
            "testserver", "URL missing scheme '/api/v1/element/1/'.", id="no-scheme"
        ),
        pytest.param(
            "ftp://testserver/",
            "Unsupported URL scheme 'ftp'.",
            id="unsupported-scheme",
        ),
    ],
)
def test_invalid_url(mock_api, base_url, message):
    client = ArkindexClient(base_url=base_url)
    with pytest.raises(ClientError) as e:
        client.request("RetrieveElement", id=1)
    assert str(e.value) == message
    assert e.value.messages[0].code == "invalid-url"


def test_query_sorted_and_encoded(client, mock_api):
    mock_api.get(
        api_url("process/p/elements/?page_size=500&with_count=true&with_image=False"),
        match=[
            matchers.query_string_matcher(
                "page_size=500&with_count=true&with_image=False"
            )
        ],
        json={"results": []},
    )
    client.request(
        "ListProcessElements",
        id="p",
        with_image=False,
        with_count="true",
        page_size=500,
    )
    assert mock_api.calls[0].request.url == api_url(
        "process/p/elements/?page_size=500&with_count=true&with_image=False"
    )


@pytest.mark.parametrize(
    ("parameters", "query"),
    [
        pytest.param({"worker_run": False}, "?worker_run=False", id="false"),
        pytest.param({"recursive": True}, "?recursive=True", id="true"),
        pytest.param({"type": None, "name": "a b"}, "?name=a+b", id="none-dropped"),
        pytest.param({"type": ["a", "b"]}, "?type=a&type=b", id="list-repeats"),
        pytest.param(
            {"worker_version": uuid.UUID(ELEMENT_ID), "page": 2},
            f"?page=2&worker_version={ELEMENT_ID}",
            id="uuid-and-number",
        ),
        pytest.param({}, "", id="nothing"),
    ],
)
def test_query_values(client, mock_api, parameters, query):
    mock_api.get(api_url("elements/e/children/"), json={"results": []})
    client.request("ListElementChildren", id="e", **parameters)
    assert mock_api.calls[0].request.url == api_url("elements/e/children/") + query


def test_json_body_and_request_options(client, mock_api):
    body = {
        "state": "started",
        "element_id": uuid.UUID(ELEMENT_ID),
        "ids": (uuid.UUID(ELEMENT_ID),),
    }
    mock_api.put(
        api_url("workers/versions/w/activity/"),
        match=[
            matchers.json_params_matcher(
                {"state": "started", "element_id": ELEMENT_ID, "ids": [ELEMENT_ID]}
            )
        ],
        json={},
    )
    assert client.request("UpdateWorkerActivity", id="w", body=body) == {}
    request = mock_api.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert request.req_kwargs["timeout"] == (30, 60)
    # Streamed: the answer is read within the client's size limit
    assert request.req_kwargs["stream"] is True


def test_no_body_sent_for_body_none(client, mock_api):
    mock_api.post(api_url("corpus/c/export/"), json={"id": "x"})
    client.request("StartExport", id="c", body=None)
    assert mock_api.calls[0].request.body is None


def test_operation_without_body(client, mock_api):
    mock_api.post(api_url("process/start-activity/"), json={"id": "e"})
    assert client.request("StartWorkerActivity") == {"id": "e"}
    assert mock_api.calls[0].request.body is None


@pytest.mark.parametrize(
    ("operation", "parameters", "messages"),
    [
        pytest.param(
            "RetrieveElement",
            {},
            ["Missing required parameter 'id'."],
            id="missing-path",
        ),
        pytest.param(
            "UpdateWorkerActivity",
            {"id": "w"},
            ["Missing required parameter 'body'."],
            id="missing-body",
        ),
        pytest.param(
            "RetrieveElement",
            {"id": None},
            ["Path parameter 'id' must not be None."],
            id="none-path",
        ),
        pytest.param(
            "RetrieveSecret",
            {},
            ["Missing required parameter 'name'."],
            id="missing-name",
        ),
    ],
)
def test_invalid_parameters(client, mock_api, operation, parameters, messages):
    with pytest.raises(ClientError) as e:
        client.request(operation, **parameters)
    assert [message.text for message in e.value.messages] == messages
    assert len(mock_api.calls) == 0


def test_unknown_keyword_rejected_after_schema_load(client, mock_api):
    mock_api.get("http://testserver/api/v1/openapi/?format=json", json={"paths": {}})
    with pytest.raises(ClientError) as e:
        client.request("RetrieveElement", id="e", bogus=1)
    assert str(e.value) == "Unknown parameter 'bogus' for operation 'RetrieveElement'."
    assert e.value.messages[0].code == "invalid-parameter"
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        pytest.param("application/json", b'{"a": "\xc3\xa9"}', {"a": "é"}, id="json"),
        pytest.param("application/json; charset=utf-8", b"[1]", [1], id="json-params"),
        pytest.param("Application/JSON", b"[1]", [1], id="json-case"),
        pytest.param(None, b'{"a": 1}', {"a": 1}, id="no-content-type-is-json"),
        pytest.param("text/plain", b"hello", "hello", id="text"),
        pytest.param("text/html; charset=utf-8", b"<p>", "<p>", id="html"),
        pytest.param("application/json", b"", None, id="empty"),
        pytest.param(None, b"", None, id="empty-no-type"),
    ],
)
def test_response_decoding(client, mock_api, content_type, body, expected):
    mock_api.get(api_url("element/1/"), body=body, content_type=content_type)
    assert client.request("RetrieveElement", id=1) == expected


def test_5xx_undecodable_body_becomes_text(client, mock_api):
    client.retry_policy = type(client.retry_policy)(attempts=1)
    mock_api.get(
        api_url("element/1/"),
        status=502,
        body="<html>Bad gateway</html>",
        content_type=None,
    )
    with pytest.raises(ErrorResponse) as e:
        client.request("RetrieveElement", id=1)
    assert e.value.content == "<html>Bad gateway</html>"
    assert e.value.title == "502 Bad Gateway"


def test_4xx_undecodable_body_raises_decoding_error(client, mock_api):
    mock_api.get(api_url("element/1/"), status=404, body="Not here", content_type=None)
    with pytest.raises(json.JSONDecodeError):
        client.request("RetrieveElement", id=1)


def test_unfollowed_3xx_is_success(client, mock_api):
    mock_api.get(api_url("element/1/"), status=302, body=b"")
    assert client.request("RetrieveElement", id=1) is None


@pytest.mark.parametrize(
    "raised",
    [
        pytest.param(
            ErrorResponse(title="conflict", status_code=409, content="x"),
            id="error-response",
        ),
        pytest.param(Exception("boom"), id="exception"),
    ],
)
def test_transport_exceptions_propagate_unchanged(client, mock_api, raised):
    mock_api.post(api_url("process/start-activity/"), body=raised)
    with pytest.raises(type(raised)) as e:
        client.request("StartWorkerActivity")
    assert e.value is raised
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    ("options", "header"),
    [
        pytest.param({"token": API_TOKEN}, f"Token {API_TOKEN}", id="token"),
        pytest.param({"token": "K", "auth_scheme": "Ponos"}, "Ponos K", id="ponos"),
        pytest.param(
            {"token": "K", "auth_scheme": "Bearer"}, "Bearer K", id="verbatim"
        ),
        pytest.param({}, None, id="anonymous"),
    ],
)
def test_authorization_header(mock_api, options, header):
    mock_api.get(api_url("element/1/"), json={})
    ArkindexClient(base_url=BASE_URL, **options).request("RetrieveElement", id=1)
    assert mock_api.calls[0].request.headers.get("Authorization") == header


@pytest.mark.parametrize(
    ("options", "cookie"),
    [
        pytest.param({}, "arkindex.csrf", id="default"),
        pytest.param({"csrf_cookie": "mycsrf"}, "mycsrf", id="custom"),
    ],
)
def test_csrf_token_echoed_on_writes(mock_api, options, cookie):
    client = ArkindexClient(base_url=BASE_URL, **options)
    mock_api.get(
        api_url("element/1/"),
        json={},
        headers={"Set-Cookie": f"{cookie}=s3cr3t; Path=/"},
    )
    mock_api.get(api_url("element/2/"), json={})
    mock_api.patch(api_url("element/2/"), json={})
    client.request("RetrieveElement", id=1)
    client.request("RetrieveElement", id=2)
    client.request("PartialUpdateElement", id=2, body={})
    assert "X-CSRFToken" not in mock_api.calls[1].request.headers
    assert mock_api.calls[2].request.headers["X-CSRFToken"] == "s3cr3t"


def test_no_csrf_header_without_cookie(client, mock_api):
    mock_api.patch(api_url("element/2/"), json={})
    client.request("PartialUpdateElement", id=2, body={})
    assert "X-CSRFToken" not in mock_api.calls[0].request.headers


def test_sleep_duration_before_each_request(mock_api, sleeps):
    client = ArkindexClient(base_url=BASE_URL, sleep=1.5)
    mock_api.get(api_url("element/1/"), json={})
    client.request("RetrieveElement", id=1)
    client.request("RetrieveElement", id=1)
    assert sleeps == [1.5, 1.5]


def test_login_switches_to_token(mock_api):
    client = ArkindexClient(base_url=BASE_URL, token="K", auth_scheme="Ponos")
    mock_api.post(
        api_url("user/login/"),
        match=[matchers.json_params_matcher({"email": "a@b.c", "password": "pw"})],
        json={"auth_token": "NEW"},
    )
    mock_api.get(api_url("element/1/"), json={})
    assert client.login("a@b.c", "pw") == {"auth_token": "NEW"}
    client.request("RetrieveElement", id=1)
    assert mock_api.calls[1].request.headers["Authorization"] == "Token NEW"


def test_deprecated_operation_and_parameter_warn(client, mock_api):
    document = {
        "paths": {
            "/api/v1/old/": {
                "get": {
                    "operationId": "Old",
                    "deprecated": True,
                    "parameters": [{"name": "q", "in": "query", "deprecated": True}],
                }
            }
        }
    }
    client._use_document(document)
    mock_api.get(api_url("old/"), json={})
    with pytest.warns(DeprecationWarning) as record:
        client.request("Old", q=1)
    assert [str(w.message) for w in record] == [
        "Endpoint 'Old' is deprecated.",
        "Parameter 'q' is deprecated.",
    ]


def test_redirect_followed(client, mock_api):
    mock_api.get(
        api_url("element/1/"), status=302, headers={"Location": "http://storage/x"}
    )
    mock_api.get("http://storage/x", json={"moved": True})
    assert client.request("RetrieveElement", id=1) == {"moved": True}


def test_connection_error_propagates_for_single_request(client, mock_api):
    mock_api.get(api_url("element/1/"), body=requests.ConnectionError("down"))
    with pytest.raises(requests.ConnectionError, match="down"):
        client.single_request("RetrieveElement", id=1)
    assert len(mock_api.calls) == 1


def test_build_url_missing_path_parameter(client):
    with pytest.raises(ClientError) as e:
        client.build_url("RetrieveElement")
    assert str(e.value) == "Missing required parameter 'id'."
