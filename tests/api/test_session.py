"""ArkindexSession: redirects of writes, where the token goes, credentials, proxies."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.errors import RedirectedWriteError
from tests.conftest import API_TOKEN, BASE_URL, api_url

CLASSIFICATIONS = api_url("classifications/")
ELEMENT_URL = api_url("element/1/")
EXPORT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeffff"
AUTHORIZATION = f"Token {API_TOKEN}"
CLASSIFICATION = {"element": "e", "ml_class": "c", "confidence": 0.5}
ENCODED = json.dumps(CLASSIFICATION).encode()
REASONS = {
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
}

# (operation, parameters, method, URL, body sent) of one write of each method
WRITES = [
    pytest.param(
        "CreateClassification",
        {"body": CLASSIFICATION},
        "POST",
        CLASSIFICATIONS,
        ENCODED,
        id="POST",
    ),
    pytest.param(
        "UpdateWorkerActivity",
        {"id": "v", "body": {"state": "started"}},
        "PUT",
        api_url("workers/versions/v/activity/"),
        b'{"state": "started"}',
        id="PUT",
    ),
    pytest.param(
        "PartialUpdateElement",
        {"id": "1", "body": {"name": "n"}},
        "PATCH",
        ELEMENT_URL,
        b'{"name": "n"}',
        id="PATCH",
    ),
    pytest.param(
        "DestroyModelVersion",
        {"id": "m"},
        "DELETE",
        api_url("modelversion/m/"),
        None,
        id="DELETE",
    ),
]


def sent(mock_api) -> list[tuple[str, str, bytes | None]]:
    """Method, URL and body of every request that reached the mock."""
    return [(c.request.method, c.request.url, c.request.body) for c in mock_api.calls]


def authorizations(mock_api) -> list[str | None]:
    return [c.request.headers.get("Authorization") for c in mock_api.calls]


@pytest.fixture
def no_proxy_environment(monkeypatch):
    """No proxy variable from the machine running the tests."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303])
@pytest.mark.parametrize(("operation", "parameters", "method", "url", "body"), WRITES)
def test_write_answered_301_302_303_is_not_followed(
    client, mock_api, sleeps, status, operation, parameters, method, url, body
):
    target = api_url("elsewhere/?token=secret")
    mock_api.add(method, url, status=status, headers={"Location": target})
    with pytest.raises(RedirectedWriteError) as e:
        client.request(operation, **parameters)
    # Neither turned into a GET nor sent to the target, and never retried
    assert sent(mock_api) == [(method, url, body)]
    assert sleeps == []
    assert isinstance(e.value, requests.RequestException)
    assert e.value.response.status_code == status
    assert e.value.request.url == url
    reason = REASONS[status]
    assert str(e.value).startswith(
        f"{method} {url} was answered {status} {reason}, a redirect to "
        f"{api_url('elsewhere/')}: a write is not redirected, so it was not sent there."
    )
    assert "secret" not in str(e.value)


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize(
    ("location", "moved"),
    [
        pytest.param(
            "/api/v1/classifications/v2/",
            api_url("classifications/v2/"),
            id="relative",
        ),
        pytest.param(
            "http://testserver:80/api/v1/classifications/v2/",
            "http://testserver:80/api/v1/classifications/v2/",
            id="port-80",
        ),
        pytest.param(
            "http://TestServer/api/v1/classifications/v2/",
            "http://TestServer/api/v1/classifications/v2/",
            id="host-case",
        ),
    ],
)
def test_write_answered_307_308_on_api_origin_is_resent(
    client, mock_api, status, location, moved
):
    mock_api.post(CLASSIFICATIONS, status=status, headers={"Location": location})
    mock_api.post(moved, status=201, json={"id": "c"})
    assert client.request("CreateClassification", body=CLASSIFICATION) == {"id": "c"}
    # Same method, same body, token on both
    assert sent(mock_api) == [
        ("POST", CLASSIFICATIONS, ENCODED),
        ("POST", moved, ENCODED),
    ]
    assert authorizations(mock_api) == [AUTHORIZATION, AUTHORIZATION]
    assert [c.request.headers["Content-Type"] for c in mock_api.calls] == [
        "application/json"
    ] * 2


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize(("operation", "parameters", "method", "url", "body"), WRITES)
def test_every_write_method_keeps_method_and_body_on_307_308(
    client, mock_api, status, operation, parameters, method, url, body
):
    moved = url.replace("/api/v1/", "/api/v2/")
    mock_api.add(method, url, status=status, headers={"Location": moved})
    mock_api.add(method, moved, status=200, json={})
    client.request(operation, **parameters)
    assert sent(mock_api) == [(method, url, body), (method, moved, body)]
    assert authorizations(mock_api) == [AUTHORIZATION, AUTHORIZATION]


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize(
    "location",
    [
        pytest.param("http://storage.example/api/v1/classifications/", id="host"),
        pytest.param("https://testserver/api/v1/classifications/", id="https"),
        pytest.param("http://testserver:8000/api/v1/classifications/", id="port"),
    ],
)
def test_write_answered_307_308_elsewhere_is_not_followed(
    client, mock_api, sleeps, status, location
):
    mock_api.post(CLASSIFICATIONS, status=status, headers={"Location": location})
    with pytest.raises(RedirectedWriteError) as e:
        client.request("CreateClassification", body=CLASSIFICATION)
    # The body and the token never left the API's origin
    assert sent(mock_api) == [("POST", CLASSIFICATIONS, ENCODED)]
    assert authorizations(mock_api) == [AUTHORIZATION]
    assert sleeps == []
    assert str(e.value).startswith(
        f"POST {CLASSIFICATIONS} was answered {status} "
        f"{REASONS[status]}, "
        f"a redirect to {location}: a write is not redirected, so it was not sent "
        "there."
    )


def test_write_redirect_through_http_request(client, mock_api):
    url = "http://storage.example/bucket/key"
    mock_api.put(url, status=302, headers={"Location": "http://storage.example/b"})
    with pytest.raises(RedirectedWriteError):
        client.http_request("PUT", url, data=b"bytes")
    assert sent(mock_api) == [("PUT", url, b"bytes")]


@pytest.mark.parametrize("status", [302, 307])
def test_write_redirect_returned_when_redirects_are_off(client, mock_api, status):
    location = "http://storage.example/elsewhere"
    mock_api.post(CLASSIFICATIONS, status=status, headers={"Location": location})
    response = client.http_request(
        "POST", CLASSIFICATIONS, data=b"{}", allow_redirects=False
    )
    # The caller gets the redirect answer itself, nothing else is sent
    assert response.status_code == status
    assert response.headers["Location"] == location
    assert response.next is None
    assert sent(mock_api) == [("POST", CLASSIFICATIONS, b"{}")]


def test_get_redirect_returned_when_redirects_are_off(client, mock_api):
    location = "http://storage.example/file"
    mock_api.get(ELEMENT_URL, status=302, headers={"Location": location})
    response = client.http_request("GET", ELEMENT_URL, allow_redirects=False)
    assert response.status_code == 302
    assert response.next.url == location
    assert "Authorization" not in response.next.headers
    assert sent(mock_api) == [("GET", ELEMENT_URL, None)]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_get_follows_redirects_to_any_origin(client, mock_api, status):
    mirror = "http://mirror.example/element/1/"
    storage = "https://storage.example/element/1/?X-Amz-Signature=s"
    mock_api.get(ELEMENT_URL, status=status, headers={"Location": mirror})
    mock_api.get(mirror, status=302, headers={"Location": storage})
    mock_api.get(storage, json={"id": "1"})
    assert client.request("RetrieveElement", id=1) == {"id": "1"}
    assert sent(mock_api) == [
        ("GET", ELEMENT_URL, None),
        ("GET", mirror, None),
        ("GET", storage, None),
    ]
    assert authorizations(mock_api) == [AUTHORIZATION, None, None]


# ---------------------------------------------------------------- the token


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("http://storage.example/api/v1/element/1/", id="other-host"),
        pytest.param("https://testserver/api/v1/element/1/", id="http-to-https"),
        pytest.param("http://testserver:8080/api/v1/element/1/", id="other-port"),
        pytest.param("http://api.testserver/api/v1/element/1/", id="subdomain"),
    ],
)
@pytest.mark.parametrize("scheme", ["Token", "Ponos"])
def test_token_dropped_by_a_redirect_leaving_the_api_origin(mock_api, target, scheme):
    client = ArkindexClient(token=API_TOKEN, auth_scheme=scheme, base_url=BASE_URL)
    mock_api.get(ELEMENT_URL, status=302, headers={"Location": target})
    mock_api.get(target, json={"id": "1"})
    assert client.request("RetrieveElement", id=1) == {"id": "1"}
    assert authorizations(mock_api) == [f"{scheme} {API_TOKEN}", None]


def test_token_kept_by_a_redirect_within_the_api_origin(client, mock_api):
    moved = api_url("element/2/")
    mock_api.get(ELEMENT_URL, status=301, headers={"Location": "/api/v1/element/2/"})
    mock_api.get(moved, json={"id": "2"})
    client.request("RetrieveElement", id=1)
    assert sent(mock_api) == [("GET", ELEMENT_URL, None), ("GET", moved, None)]
    assert authorizations(mock_api) == [AUTHORIZATION, AUTHORIZATION]


def test_export_download_redirected_to_storage_without_token(client, mock_api):
    signed = f"http://s3.example/exports/{EXPORT_ID}?X-Amz-Signature=abc"
    mock_api.get(
        api_url(f"export/{EXPORT_ID}/"), status=302, headers={"Location": signed}
    )
    mock_api.get(signed, body=b"SQLite format 3\x00")
    with client.request("DownloadExport", id=EXPORT_ID) as export:
        assert export.read() == b"SQLite format 3\x00"
    # The pre-signed URL is used whole, without the API token
    assert [c.request.url for c in mock_api.calls][1] == signed
    assert authorizations(mock_api) == [AUTHORIZATION, None]


@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_http_request_sends_no_token_to_storage(client, mock_api, method):
    url = "http://storage.example/bucket/key?X-Amz-Signature=abc"
    client.auth.csrf_token = "csrf"
    mock_api.add(method, url, status=200)
    client.http_request(method, url, data=b"x" if method != "GET" else None)
    headers = mock_api.calls[0].request.headers
    assert "Authorization" not in headers
    assert "X-CSRFToken" not in headers


def test_http_request_sends_token_to_api_origin(client, mock_api):
    client.auth.csrf_token = "csrf"
    mock_api.post(CLASSIFICATIONS, json={})
    client.http_request("POST", CLASSIFICATIONS, data=b"{}")
    headers = mock_api.calls[0].request.headers
    assert headers["Authorization"] == AUTHORIZATION
    assert headers["X-CSRFToken"] == "csrf"


def test_csrf_token_follows_a_307_on_the_api_origin(client, mock_api):
    moved = api_url("classifications/v2/")
    mock_api.get(
        ELEMENT_URL, json={}, headers={"Set-Cookie": "arkindex.csrf=abc; Path=/"}
    )
    mock_api.post(CLASSIFICATIONS, status=307, headers={"Location": moved})
    mock_api.post(moved, status=201, json={})
    client.request("RetrieveElement", id=1)
    client.request("CreateClassification", body=CLASSIFICATION)
    assert [c.request.headers.get("X-CSRFToken") for c in mock_api.calls] == [
        None,
        "abc",
        "abc",
    ]


def test_storage_redirected_to_api_origin_gets_no_token(client, mock_api):
    storage = "http://storage.example/file"
    mock_api.get(storage, status=302, headers={"Location": ELEMENT_URL})
    mock_api.get(ELEMENT_URL, json={})
    client.http_request("GET", storage)
    # The token is added to requests built for the API, not to redirects
    # from elsewhere (requests keeps the headers it had)
    assert authorizations(mock_api) == [None, None]


# ---------------------------------------------------------------- credentials

CREDENTIALS = [
    pytest.param("alice:s3cret@", "s3cret", id="user-password"),
    pytest.param("alice:p@ss:w0rd@", "p@ss:w0rd", id="at-in-password"),
    pytest.param(":s3cret@", "s3cret", id="password-only"),
    pytest.param("s3cret@", "s3cret", id="user-only"),
]


@pytest.mark.parametrize("token", [API_TOKEN, None])
@pytest.mark.parametrize(("credentials", "secret"), CREDENTIALS)
def test_credentials_of_base_url_are_dropped(
    mock_api, caplog, token, credentials, secret
):
    caplog.set_level(logging.DEBUG)
    client = ArkindexClient(
        token=token, base_url=f"http://{credentials}testserver/api/v1/"
    )
    mirror = "http://mirror.example/element/1/"
    mock_api.get(ELEMENT_URL, status=302, headers={"Location": mirror})
    mock_api.get(mirror, json={})
    client.request("RetrieveElement", id=1)
    client.http_request("GET", ELEMENT_URL)
    assert [c.request.url for c in mock_api.calls] == [ELEMENT_URL, mirror] * 2
    for call in mock_api.calls:
        for name, value in call.request.headers.items():
            assert secret not in value, name
            assert "alice" not in value, name
            assert not value.startswith("Basic"), name
    expected = f"Token {API_TOKEN}" if token else None
    assert authorizations(mock_api) == [expected, None] * 2
    assert client.document.url == BASE_URL
    assert repr(client) == f"<ArkindexClient on {BASE_URL!r}>"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "The user name and password in the API URL are ignored; authenticate "
        "with a token"
    ]
    assert all(secret not in r.getMessage() for r in caplog.records)
    assert secret not in caplog.text


def test_credentials_of_a_new_base_url_are_dropped(client, mock_api, caplog):
    client.configure(API_TOKEN, base_url="https://bob:hunter2@other.example/api/v1/")
    mock_api.get("https://other.example/api/v1/element/1/", json={})
    client.request("RetrieveElement", id=1)
    request = mock_api.calls[0].request
    assert request.url == "https://other.example/api/v1/element/1/"
    assert request.headers["Authorization"] == AUTHORIZATION
    assert "hunter2" not in json.dumps(dict(request.headers))
    assert client.document.url == "https://other.example/api/v1/"
    assert client.session.api_origin == "https://other.example"
    assert "hunter2" not in repr(client)
    assert "hunter2" not in caplog.text
    assert "The user name and password in the API URL are ignored" in caplog.text


# ---------------------------------------------------------------- Referer


def test_no_referer_on_any_request(client, mock_api):
    moved = api_url("classifications/v2/")
    storage = "http://storage.example/file"
    mock_api.get(ELEMENT_URL, status=302, headers={"Location": storage})
    mock_api.get(storage, body=b"")
    mock_api.post(CLASSIFICATIONS, status=307, headers={"Location": moved})
    mock_api.post(moved, status=201, json={})
    mock_api.put(storage, body=b"")
    client.request("RetrieveElement", id=1)
    client.request("CreateClassification", body=CLASSIFICATION)
    client.http_request("PUT", storage, data=b"x")
    assert len(mock_api.calls) == 5
    assert "Referer" not in client.session.headers
    for call in mock_api.calls:
        assert "Referer" not in call.request.headers


# ---------------------------------------------------------------- environment


def test_proxies_of_the_environment_are_honoured(
    client, mock_api, no_proxy_environment
):
    no_proxy_environment.setenv("HTTP_PROXY", "http://proxy.example:3128")
    no_proxy_environment.setenv("HTTPS_PROXY", "http://secure-proxy.example:3128")
    assert client.session.trust_env is True
    settings = client.session.merge_environment_settings(
        ELEMENT_URL, {}, None, None, None
    )
    assert settings["proxies"]["http"] == "http://proxy.example:3128"
    assert settings["proxies"]["https"] == "http://secure-proxy.example:3128"

    # What the transport adapter is given for an API call and for storage
    mock_api.get(ELEMENT_URL, json={})
    mock_api.get("https://storage.example/file", body=b"")
    client.request("RetrieveElement", id=1)
    client.http_request("GET", "https://storage.example/file")
    proxies = [c.request.req_kwargs["proxies"] for c in mock_api.calls]
    assert proxies[0]["http"] == "http://proxy.example:3128"
    assert proxies[1]["https"] == "http://secure-proxy.example:3128"


def test_no_proxy_of_the_environment_is_honoured(
    client, mock_api, no_proxy_environment
):
    no_proxy_environment.setenv("HTTP_PROXY", "http://proxy.example:3128")
    no_proxy_environment.setenv("NO_PROXY", "testserver")
    api = client.session.merge_environment_settings(ELEMENT_URL, {}, None, None, None)
    storage = client.session.merge_environment_settings(
        "http://storage.example/file", {}, None, None, None
    )
    assert "http" not in api["proxies"]
    assert storage["proxies"]["http"] == "http://proxy.example:3128"


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"HTTP_PROXY": "http://proxy:3128"},
        {"http_proxy": "http://lower:3128", "HTTP_PROXY": "http://upper:3128"},
        {"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "testserver"},
        {"ALL_PROXY": "http://all:3128"},
        {"HTTP_PROXY": "http://proxy:3128", "REQUEST_METHOD": "GET"},
        {"REQUESTS_CA_BUNDLE": "/etc/ca.pem"},
        {"CURL_CA_BUNDLE": "/etc/curl.pem"},
    ],
)
def test_environment_settings_are_those_of_requests(monkeypatch, environment):
    """Computed once per origin, but from the environment of each request."""
    from arkindex_worker.api.session import ENVIRONMENT_NAMES, ArkindexSession

    session = ArkindexSession("http://testserver")
    url = "http://testserver/api/v1/element/1/"
    for name in ENVIRONMENT_NAMES:
        monkeypatch.delenv(name, raising=False)
    # Cached without the variables: a stale cache would show below
    session.merge_environment_settings(url, {}, None, None, None)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for _ in range(2):
        assert session.merge_environment_settings(
            url, {}, None, None, None
        ) == requests.Session().merge_environment_settings(url, {}, None, None, None)
