"""Tokens and secret contents never appear in logs, reprs or exception messages."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
import requests

from arkindex_worker.api import ArkindexClient, ErrorResponse
from arkindex_worker.cli import describe_fatal_error
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
    monkeypatch.setattr(sys, "argv", ["worker", "--verbose", "--element", "bad-id"])
    mock_api.get(
        api_url(f"process/workers/{WORKER_RUN_ID}/"),
        json=worker_run_payload(secrets=["a.txt"]),
    )
    mock_api.get(api_url("secret/a.txt"), json={"content": SECRET_CONTENT})
    worker = ElementsWorker()
    with pytest.raises(AssertionError) as error:
        worker.run()
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
