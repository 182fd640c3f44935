"""Public names, constants and environment options."""

from __future__ import annotations

import subprocess
import sys

import pytest

from arkindex_worker.api import (
    DEFAULT_BASE_URL,
    REQUEST_TIMEOUT,
    SCHEMA_ENDPOINT,
    ArkindexClient,
    options_from_env,
    should_verify_cert,
)
from tests.conftest import API_TOKEN, BASE_URL


def test_constants():
    assert DEFAULT_BASE_URL == "https://arkindex.teklia.com/"
    assert SCHEMA_ENDPOINT == "/api/v1/openapi/?format=json"
    assert REQUEST_TIMEOUT == (30, 60)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        pytest.param({}, {}, id="empty"),
        pytest.param(
            {"ARKINDEX_TASK_TOKEN": "K", "ARKINDEX_API_TOKEN": "T"},
            {"auth_scheme": "Ponos", "token": "K"},
            id="task-token-wins",
        ),
        pytest.param(
            {"ARKINDEX_API_TOKEN": "T"},
            {"auth_scheme": "Token", "token": "T"},
            id="api-token",
        ),
        pytest.param(
            {"ARKINDEX_API_TOKEN": "T", "ARKINDEX_API_AUTH_SCHEME": "X"},
            {"auth_scheme": "X", "token": "T"},
            id="scheme-override",
        ),
        pytest.param({"ARKINDEX_API_URL": ""}, {}, id="empty-url-ignored"),
        pytest.param(
            {"ARKINDEX_TASK_TOKEN": "", "ARKINDEX_API_TOKEN": "T"},
            {"auth_scheme": "Token", "token": "T"},
            id="empty-task-token-ignored",
        ),
        pytest.param(
            {
                "ARKINDEX_API_URL": "http://x/",
                "ARKINDEX_API_SCHEMA_URL": "schema.yml",
                "ARKINDEX_API_CSRF_COOKIE": "csrf",
            },
            {
                "base_url": "http://x/",
                "schema_url": "schema.yml",
                "csrf_cookie": "csrf",
            },
            id="other-options",
        ),
        pytest.param(
            {"ARKINDEX_API_RETRIES": "2", "ARKINDEX_API_READ_RETRIES": "0"},
            {},
            id="retry-settings-not-options",
        ),
    ],
)
def test_options_from_env(monkeypatch, environment, expected):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert options_from_env() == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(None, True, id="none"),
        pytest.param("", True, id="empty"),
        pytest.param("https://arkindex.teklia.com/", True, id="public"),
        pytest.param("https://ark.localhost/api/v1/", False, id="dev"),
        pytest.param("https://demo.ark.localhost/", False, id="dev-subdomain"),
        pytest.param("https://ark.localhost.example.com/", True, id="lookalike"),
    ],
)
def test_should_verify_cert(url, expected):
    assert should_verify_cert(url) is expected


def test_construction_sends_no_request(mock_api):
    ArkindexClient(token=API_TOKEN, base_url=BASE_URL)
    assert len(mock_api.calls) == 0


def test_import_and_construction_stay_light():
    # tenacity and yaml are imported only when a retry or a YAML schema needs them.
    code = (
        "import sys, arkindex_worker.api as a; a.ArkindexClient(base_url='http://x/');"
        "print(sorted({'tenacity', 'yaml'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_session_defaults(client):
    assert client.session.headers["Accept"] == "application/json, text/*, */*"
    assert client.session.headers["User-Agent"].startswith("arkindex-base-worker/")
    # Upstream sends the base URL as Referer; we send none (it would carry it away)
    assert "Referer" not in client.session.headers
    assert client.session.verify is True
    assert client.sleep_duration == 0
    assert client.document.url == BASE_URL


def test_repr_hides_token(client):
    assert repr(client) == f"<ArkindexClient on '{BASE_URL}'>"
    assert API_TOKEN not in repr(client.auth)
    assert API_TOKEN not in repr(client.session.auth)


@pytest.mark.parametrize(
    ("base_url", "schema_url", "verify"),
    [
        pytest.param("https://ark.localhost/", None, False, id="dev-base"),
        pytest.param(
            "https://x.org/", "https://ark.localhost/s.json", False, id="dev-schema"
        ),
        pytest.param("https://x.org/", None, True, id="public"),
    ],
)
def test_verify_computed(mock_api, caplog, base_url, schema_url, verify):
    if schema_url:
        mock_api.get(schema_url, json={"paths": {}})
    client = ArkindexClient(base_url=base_url, schema_url=schema_url)
    assert client.session.verify is verify
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert bool(warned) is not verify


def test_verify_explicit(caplog):
    client = ArkindexClient(base_url="https://ark.localhost/", verify=True)
    assert client.session.verify is True
    assert caplog.records == []


def test_configure_replaces_base_url(client):
    client.configure(token="other", base_url="http://other/", sleep=2)
    assert client.document.url == "http://other/"
    assert client.session.api_origin == client.auth.origin == "http://other"
    assert "Referer" not in client.session.headers
    assert client.sleep_duration == 2
    assert client.auth.token == "other"
    assert client.auth.scheme == "Token"
