"""Tokens and secret contents never appear in logs, reprs or exception messages."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
import requests

from arkindex_worker.api import ArkindexClient, ErrorResponse
from arkindex_worker.cli import describe_fatal_error
from arkindex_worker.errors import SecretUnavailableError
from arkindex_worker.worker import ElementsWorker
from tests.conftest import WORKER_RUN_ID, api_url
from tests.worker.factories import worker_run_payload

API_TOKEN = "api-token-0123456789abcdef"
TASK_TOKEN = "task-token-fedcba9876543210"
SECRET_CONTENT = "secret-content-never-shown"
TOKENS = (API_TOKEN, TASK_TOKEN, SECRET_CONTENT)


def assert_hidden(text: str) -> None:
    for value in TOKENS:
        assert value not in text


@pytest.fixture
def tokens_env(monkeypatch):
    monkeypatch.setenv("ARKINDEX_API_URL", "http://testserver/")
    monkeypatch.setenv("ARKINDEX_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("ARKINDEX_TASK_TOKEN", TASK_TOKEN)
    monkeypatch.setenv("ARKINDEX_WORKER_RUN_ID", WORKER_RUN_ID)


def test_configure_and_errors_never_show_tokens(
    tokens_env, mock_api, caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(sys, "argv", ["worker", "--verbose"])
    mock_api.get(
        api_url(f"process/workers/{WORKER_RUN_ID}/"),
        json=worker_run_payload(secrets=["a.txt"]),
    )
    mock_api.get(api_url("secret/a.txt"), json={"content": SECRET_CONTENT})
    mock_api.get(api_url("element/x/"), status=404, json={"detail": "Not found."})
    worker = ElementsWorker()
    worker.configure()
    with pytest.raises(ErrorResponse) as error:
        worker.api_client.request("RetrieveElement", id="x")
    assert worker.secrets == {"a.txt": SECRET_CONTENT}
    # The task token was sent, and never shown
    assert mock_api.calls[0].request.headers["Authorization"] == f"Ponos {TASK_TOKEN}"
    assert_hidden(caplog.text)
    assert_hidden(repr(worker))
    assert_hidden(repr(worker.api_client))
    assert_hidden(str(error.value) + repr(error.value))


def test_api_errors_never_show_tokens(tokens_env, mock_api, caplog, sleeps):
    caplog.set_level(logging.DEBUG)
    client = ArkindexClient(token=API_TOKEN, base_url="http://testserver/")
    for _ in range(5):
        mock_api.get(api_url("element/x/"), status=502, body="<html>bad</html>")
    with pytest.raises(ErrorResponse) as error:
        client.request("RetrieveElement", id="x")
    assert_hidden(caplog.text)
    assert_hidden(str(error.value) + repr(error.value))
    assert_hidden(describe_fatal_error(error.value))


def test_connection_errors_never_show_tokens(caplog):
    caplog.set_level(logging.DEBUG)
    client = ArkindexClient(
        token=API_TOKEN, base_url="http://127.0.0.1:9/", retries=1, read_retries=0
    )
    with pytest.raises(requests.ConnectionError) as error:
        client.request("RetrieveElement", id="x")
    assert_hidden(caplog.text)
    assert_hidden(str(error.value) + repr(error.value))
    assert_hidden(describe_fatal_error(error.value))


def test_local_secret_errors_never_show_content(
    mock_elements_worker, mock_api, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    mock_api.get(api_url("secret/s.json"), json={"content": SECRET_CONTENT + "{"})
    # Unparsable JSON: the error names the secret, not its content
    assert mock_elements_worker.load_secret(Path("s.json")) == SECRET_CONTENT + "{"
    assert "Failed to parse secret s.json" in caplog.text
    assert_hidden(caplog.text)


# ---------------------------------------------------------------- secret configuration items

NAME_LIKE_SECRET = "not-a-secret-name-but-the-secret-itself"


@pytest.fixture
def secret_worker(mock_elements_worker, monkeypatch, tmp_path):
    """A worker on a server with secrets, and no local secret files."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(
        mock_elements_worker.api_client,
        "server_has_operation",
        lambda operation_id: operation_id == "RetrieveSecret",
    )
    mock_elements_worker.secrets = {}
    return mock_elements_worker


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("../../users/admin", id="dot-dot"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("a//b", id="empty-part"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("s3cr3t value with spaces", id="space"),
        pytest.param("s3cr3t?x=1#y", id="query"),
        pytest.param("line\nbreak", id="newline"),
        pytest.param("x" * 256, id="too-long"),
        pytest.param(42, id="not-text"),
    ],
)
def test_secret_item_value_not_a_name_is_never_sent(secret_worker, caplog, value):
    caplog.set_level(logging.DEBUG)
    item = {"key": "token", "value": value, "secret": True}
    with pytest.raises(SecretUnavailableError) as e:
        secret_worker.load_configuration_item(item)
    assert str(e.value) == (
        "Secret of configuration key `token` is not available: its value is not a "
        "secret name (letters, digits, '.', '_', '-' and '/' only)"
    )
    # No request at all (mock_api has no registration), nothing logged
    assert str(value) not in caplog.text
    assert secret_worker.secrets == {}


def test_missing_secret_item_is_reported_by_its_key(
    secret_worker, mock_api, caplog, sleeps
):
    caplog.set_level(logging.DEBUG)
    mock_api.get(
        api_url(f"secret/{NAME_LIKE_SECRET}"),
        status=404,
        json={"detail": f"No secret {NAME_LIKE_SECRET}"},
    )
    item = {"key": "token", "value": NAME_LIKE_SECRET, "secret": True}
    with pytest.raises(SecretUnavailableError) as e:
        secret_worker.load_configuration_item(item)
    assert str(e.value) == (
        "Secret of configuration key `token` is not available on the API nor locally"
    )
    assert [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name.startswith("arkindex_worker") and r.levelno >= logging.WARNING
    ] == [
        (logging.WARNING, "Secret of configuration key `token` not available: HTTP 404")
    ]
    assert NAME_LIKE_SECRET not in caplog.text
    assert NAME_LIKE_SECRET not in describe_fatal_error(e.value)
    # A direct load_secret afterwards names its secret again (0.4 messages)
    mock_api.get(api_url("secret/other.txt"), status=404, json={"detail": "Not found."})
    with pytest.raises(SecretUnavailableError) as e:
        secret_worker.load_secret(Path("other.txt"))
    assert str(e.value) == "Secret other.txt is not available on the API nor locally"
    assert caplog.records[-1].getMessage() == (
        "Secret other.txt not available: {'detail': 'Not found.'}"
    )


def test_unreadable_local_secret_item_is_reported_by_its_key(
    secret_worker, mock_api, caplog, tmp_path
):
    local = tmp_path / "config" / "arkindex" / "secrets" / NAME_LIKE_SECRET
    local.parent.mkdir(parents=True)
    local.write_text("not an encrypted file")
    mock_api.get(api_url(f"secret/{NAME_LIKE_SECRET}"), status=404, json={})
    item = {"key": "token", "value": NAME_LIKE_SECRET, "secret": True}
    with pytest.raises(SecretUnavailableError):
        secret_worker.load_configuration_item(item)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith(
        "Local secret of configuration key `token` is not available: "
    )
    assert NAME_LIKE_SECRET not in caplog.text


def test_available_secret_item_keeps_the_04_messages(secret_worker, mock_api, caplog):
    caplog.set_level(logging.INFO)
    mock_api.get(api_url("secret/path%2Fto%2Fmodel.json"), json={"content": '{"k": 1}'})
    item = {"key": "model", "value": "path/to/model.json", "secret": True}
    assert secret_worker.load_configuration_item(item) == ("model", {"k": 1})
    assert secret_worker.secrets == {"model": {"k": 1}}
    assert [r.getMessage() for r in caplog.records] == [
        "Loaded API secret path/to/model.json"
    ]


def test_yaml_parse_error_shows_no_content(caplog):
    from arkindex_worker.worker.secrets import parse_secret

    content = f"key: [{SECRET_CONTENT}\n  other: {SECRET_CONTENT}"
    assert parse_secret(Path("s.yaml"), content) == content
    assert "Failed to parse secret s.yaml" in caplog.text
    assert_hidden(caplog.text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("model.json", True),
        ("path/to/model.json", True),
        ("471b9e64-29af-48dc-8bda-1a64a2da0c12", True),
        ("a_b-c.d", True),
        ("", False),
        ("a/", False),
        ("a/../b", False),
        ("./a", False),
        ("é.json", False),
        (None, False),
    ],
)
def test_is_secret_name(value, expected):
    from arkindex_worker.worker.secrets import is_secret_name

    assert is_secret_name(value) is expected


def test_secret_item_without_answer_does_not_show_the_url(
    secret_worker, mock_api, caplog, sleeps
):
    caplog.set_level(logging.DEBUG)
    secret_worker.api_client.retry_policy.attempts = 1
    mock_api.get(
        api_url(f"secret/{NAME_LIKE_SECRET}"),
        body=requests.ConnectionError(
            f"Max retries exceeded with url: {NAME_LIKE_SECRET}"
        ),
    )
    item = {"key": "token", "value": NAME_LIKE_SECRET, "secret": True}
    with pytest.raises(SecretUnavailableError) as e:
        secret_worker.load_configuration_item(item)
    assert str(e.value) == (
        "Secret of configuration key `token` could not be asked to the API: "
        "ConnectionError"
    )
    assert e.value.__suppress_context__
    assert NAME_LIKE_SECRET not in caplog.text
