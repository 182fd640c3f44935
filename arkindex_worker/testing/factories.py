"""Build configured workers for tests, with a mock API client injected.

The pytest fixture `arkindex_worker_factory` wraps [WorkerFactory][arkindex_worker.testing.factories.WorkerFactory];
the pieces are usable without pytest through any `monkeypatch`-like object.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from arkindex_worker import logger
from arkindex_worker.testing.mock import MockApiClient

__all__ = [
    "WORKER_ENVIRONMENT",
    "WORKER_RUN_ID",
    "WorkerFactory",
    "worker_run_payload",
]

WORKER_RUN_ID = "12341234-1234-1234-1234-123412341234"
"""ID of the worker run built by `worker_run_payload`."""
PROCESS_ID = "cafecafe-cafe-cafe-cafe-cafecafecafe"
CORPUS_ID = "11111111-1111-1111-1111-111111111111"

WORKER_ENVIRONMENT = (
    "ARKINDEX_API_URL",
    "ARKINDEX_API_TOKEN",
    "ARKINDEX_TASK_TOKEN",
    "ARKINDEX_API_AUTH_SCHEME",
    "ARKINDEX_API_SCHEMA_URL",
    "ARKINDEX_API_CSRF_COOKIE",
    "ARKINDEX_WORKER_RUN_ID",
    "ARKINDEX_CORPUS_ID",
    "ARKINDEX_DEBUG",
    "ARKINDEX_MODEL_ID",
    "ARKINDEX_MODEL_VERSION_ID",
    "ARKINDEX_MODEL_DIR",
    "ARKINDEX_TASK_CHUNK",
    "ARKINDEX_WORKER_COMPAT",
    "PONOS_TASK",
    "PONOS_DATA",
    "TASK_ELEMENTS",
    "SKIP_TASK_ELEMENTS",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
)
"""Variables a worker reads: a factory starts from none of them, whatever the shell has."""

W = TypeVar("W")


class Patcher(Protocol):
    """The part of pytest's `monkeypatch` a factory uses."""

    def setenv(self, name: str, value: str) -> None: ...

    def delenv(self, name: str, raising: bool = True) -> None: ...

    def setattr(self, target: Any, name: str, value: Any) -> None: ...


def worker_run_payload(
    configuration: Mapping[str, Any] | None = None,
    *,
    worker_run_id: str = WORKER_RUN_ID,
    corpus_id: str = CORPUS_ID,
    process_mode: str = "workers",
    activity_state: str = "disabled",
    model_version: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `RetrieveWorkerRun` answer, as an Arkindex 0.4-era server gives it.

    Args:
        configuration: The worker version's configuration (`self.config`).
        worker_run_id: ID of the worker run.
        corpus_id: Corpus of the process.
        process_mode: Mode of the process (`workers`, `dataset`…).
        activity_state: `ready` turns worker activities on (then `run()` sends
            `UpdateWorkerActivity` calls); `disabled` keeps them off.
        model_version: A model version (`id`, `configuration`, `model`).
    """
    return {
        "id": worker_run_id,
        "summary": "Worker Test worker @ 1234",
        "parents": [],
        "worker_version": {
            "id": "23452345-2345-2345-2345-234523452345",
            "worker": {
                "id": "34563456-3456-3456-3456-345634563456",
                "name": "Test worker",
                "slug": "test-worker",
                "type": "worker",
            },
            "revision": None,
            "version": 1,
            "configuration": {"configuration": dict(configuration or {})},
        },
        "configuration": None,
        "model_version": copy.deepcopy(dict(model_version)) if model_version else None,
        "process": {
            "id": PROCESS_ID,
            "corpus": corpus_id,
            "mode": process_mode,
            "activity_state": activity_state,
        },
    }


class WorkerFactory:
    """Build configured workers whose API client is a given mock.

    Args:
        mock_api: The client every built worker gets.
        monkeypatch: Where environment, `sys.argv` and class patches go (undone
            by the caller, e.g. at the end of the test).
        home: Private directory for `XDG_DATA_HOME` and `XDG_CONFIG_HOME`.
    """

    def __init__(self, mock_api: MockApiClient, monkeypatch: Patcher, home: Path):
        self.mock_api = mock_api
        self.monkeypatch = monkeypatch
        self.home = Path(home)
        self.workers: list[Any] = []
        self._log_level = logger.level

    def __call__(
        self,
        worker_class: type[W],
        argv: Iterable[str] = (),
        env: Mapping[str, str | None] | None = None,
        *,
        worker_run: Mapping[str, Any] | bool | None = None,
        configure: bool = True,
        run_configuration: Iterable[Mapping[str, Any]] | None = None,
        **init_kwargs: Any,
    ) -> W:
        """Build a worker of `worker_class`.

        Args:
            worker_class: The worker class.
            argv: Its command line (without the program name). `--dev` is added
                unless `worker_run` is given.
            env: Environment variables (a `None` value removes one). Every
                variable of `WORKER_ENVIRONMENT` is removed first.
            worker_run: Run with a worker run instead of in developer mode: the
                `RetrieveWorkerRun` answer (`True`: `worker_run_payload()`). One
                matching response is registered on the mock, for one
                `configure()`.
            configure: Call `configure()` before returning the worker. Pass
                `False` when the test calls `run()`, which configures itself.
            run_configuration: The `RetrieveWorkerRunConfiguration` items
                (``{key, value, secret}``) registered when the worker is
                configured that way (generation 0.6, or a worker run without
                embedded configuration); by default, the items of the worker
                version's configuration.
            **init_kwargs: Arguments of the worker's constructor.
        """
        self._set_environment(env or {})
        argv = list(argv)
        if worker_run:
            payload = worker_run_payload() if worker_run is True else dict(worker_run)
            self.monkeypatch.setenv("ARKINDEX_WORKER_RUN_ID", payload["id"])
            self.mock_api.add_response("RetrieveWorkerRun", payload, id=payload["id"])
        elif "--dev" not in argv:
            argv.insert(0, "--dev")
        self.monkeypatch.setattr(sys, "argv", [worker_class.__name__, *argv])

        mock_api = self.mock_api

        def setup_api_client(worker: Any) -> None:
            worker.api_client = mock_api

        self.monkeypatch.setattr(worker_class, "setup_api_client", setup_api_client)
        worker = worker_class(**init_kwargs)
        self.workers.append(worker)
        if worker_run:
            self._register_run_configuration(worker, payload, run_configuration)
        if configure:
            worker.configure()
        return worker

    def _register_run_configuration(
        self,
        worker: Any,
        payload: Mapping[str, Any],
        items: Iterable[Mapping[str, Any]] | None,
    ) -> None:
        """Register the configuration items a worker configured the 0.6 way asks for."""
        from arkindex_worker.worker.configuration import is_legacy_run

        version = payload.get("worker_version") or {}
        if is_legacy_run(worker, version):
            return
        if items is None:
            embedded = (version.get("configuration") or {}).get("configuration") or {}
            items = [
                {"key": key, "value": value, "secret": False}
                for key, value in embedded.items()
            ]
        self.mock_api.add_response(
            "RetrieveWorkerRunConfiguration",
            {"configuration": [dict(item) for item in items]},
            id=payload["id"],
        )

    def _set_environment(self, env: Mapping[str, str | None]) -> None:
        for name in WORKER_ENVIRONMENT:
            if name in os.environ:
                self.monkeypatch.delenv(name)
        self.monkeypatch.setenv("XDG_DATA_HOME", str(self.home / "data"))
        self.monkeypatch.setenv("XDG_CONFIG_HOME", str(self.home / "config"))
        for name, value in env.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, str(value))

    def close(self) -> None:
        """Release what the built workers opened: the cache database, debug logs."""
        if "arkindex_worker.cache" in sys.modules:
            from arkindex_worker.cache import db
            from arkindex_worker.offline import OfflineClient

            for worker in self.workers:
                if isinstance(getattr(worker, "api_client", None), OfflineClient):
                    worker.api_client.close()
            if db.database is not None and not db.is_closed():
                db.close()
        if "arkindex_worker.generation" in sys.modules:
            from arkindex_worker import generation

            generation.reset()
        logger.setLevel(self._log_level)
        self.workers.clear()
