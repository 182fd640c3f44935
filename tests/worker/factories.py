"""Payload factories for the worker tests."""

from __future__ import annotations

from tests.conftest import CORPUS_ID, PROCESS_ID, WORKER_RUN_ID


def worker_run_payload(
    *,
    configuration: dict | None = None,
    user_configuration: dict | None = None,
    secrets: list | None = None,
    run_configuration: dict | None = None,
    model_version: dict | None = None,
    mode: str = "workers",
    activity_state: str = "ready",
) -> dict:
    """A ``RetrieveWorkerRun`` answer in the 0.4 (legacy configuration) shape."""
    version_configuration = {"configuration": configuration or {}}
    if user_configuration is not None:
        version_configuration["user_configuration"] = user_configuration
    if secrets is not None:
        version_configuration["secrets"] = secrets
    return {
        "id": WORKER_RUN_ID,
        "summary": "Worker Fake worker @ 123412",
        "parents": [],
        "worker_version": {
            "id": "12341234-1234-1234-1234-123412341234",
            "worker": {
                "id": "deadbeef-1234-5678-1234-worker",
                "name": "Fake worker",
                "slug": "fake_worker",
                "type": "classifier",
            },
            "revision": {"hash": "123412"},
            "version": None,
            "configuration": version_configuration,
        },
        "configuration": (
            {"id": "conf", "name": "Conf", "configuration": run_configuration}
            if run_configuration is not None
            else None
        ),
        "model_version": model_version,
        "process": {
            "id": PROCESS_ID,
            "corpus": CORPUS_ID,
            "mode": mode,
            "activity_state": activity_state,
            "name": "Process",
        },
    }


def element_payload(element_id: str, name: str = "Test Page n°1") -> dict:
    """A ``RetrieveElement`` answer."""
    return {
        "id": element_id,
        "name": name,
        "type": "page",
        "zone": None,
        "rotation_angle": 0,
        "mirrored": False,
    }
