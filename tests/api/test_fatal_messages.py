"""One-line messages of the API failures that stop a worker (`run_worker`)."""

from __future__ import annotations

import pytest
import requests

from arkindex_worker.api.errors import unconfirmed_write
from arkindex_worker.cli import describe_fatal_error

URL = "http://127.0.0.1:9/api/v1/process/start-activity/"


def _with_request(error: requests.RequestException) -> requests.RequestException:
    error.request = requests.Request("POST", URL).prepare()
    return error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param(
            unconfirmed_write(
                _with_request(requests.ReadTimeout("Read timed out.")),
                "POST",
                "StartWorkerActivity",
            ),
            "POST StartWorkerActivity: the request may or may not have been applied "
            "by the server (no answer received: Read timed out.); it was not sent "
            "again",
            id="unconfirmed-write",
        ),
        pytest.param(
            _with_request(requests.ReadTimeout("Read timed out.")),
            f"No answer from the Arkindex API at {URL} in time: Read timed out.",
            id="read-timeout",
        ),
        pytest.param(
            Exception("Secret model.json is not available on the API nor locally"),
            "Secret model.json is not available on the API nor locally",
            id="bare-exception",
        ),
        pytest.param(Exception(), "Exception", id="bare-exception-no-message"),
    ],
)
def test_fatal_message(error, message):
    assert describe_fatal_error(error) == message
