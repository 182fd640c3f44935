"""Configuration steps of `BaseWorker`: local files and the generation switch.

Local configuration files of a read-only worker (``--config``):

[BaseWorker.configure_for_developers][arkindex_worker.worker.base.BaseWorker.configure_for_developers]
reads the file with [read_local_config][arkindex_worker.worker.configuration.read_local_config]
and tells its two formats apart with
[is_item_list][arkindex_worker.worker.configuration.is_item_list].
"""

from __future__ import annotations

import argparse
import logging
import warnings
from typing import IO, Any

from arkindex_worker import generation, logger

__all__ = [
    "announce_request",
    "configure_locally",
    "decide",
    "enable_debug",
    "enable_debug_from_environment",
    "follows_0_6",
    "has_secrets",
    "is_item_list",
    "is_legacy_run",
    "load_run_configuration",
    "open_text_file",
    "read_local_config",
    "requested_0_6",
    "resolve_compat",
    "user_configuration",
    "without_cache",
]


def open_text_file(path: str) -> IO[str]:
    """Argparse type opening a text file; an ``OSError`` becomes an argparse error.

    Upstream uses ``type=open``, which lets a missing file end in a traceback.
    """
    try:
        return open(path)
    except OSError as e:
        raise argparse.ArgumentTypeError(f"can't open '{path}': {e.strerror}")


def read_local_config(file: IO[str]) -> dict:
    """Read a local YAML configuration file, which must hold a mapping; closes it.

    Raises:
        ValueError: the file is not valid YAML, or does not hold a mapping.
    """
    import yaml  # only for local configurations: not at start-up

    try:
        with file:
            config = yaml.safe_load(file)
    except yaml.YAMLError as e:
        raise ValueError(
            f"Configuration file {file.name} is not valid YAML: {_yaml_problem(e)}"
        ) from None
    if not isinstance(config, dict):
        raise ValueError(
            f"Configuration file {file.name} should hold a mapping of settings, "
            f"not {type(config).__name__}"
        )
    return config


def is_item_list(config: dict) -> bool:
    """Whether a local configuration is a saved ``RetrieveWorkerRunConfiguration``.

    That answer holds a ``configuration`` list of ``{key, value, secret}`` items;
    the other format is a plain mapping of settings (the 0.4 format).
    """
    items = config.get("configuration")
    return isinstance(items, list) and all(
        isinstance(item, dict) and "key" in item for item in items
    )


def _yaml_problem(error: Exception) -> str:
    """One line describing a YAML syntax error, with its position when known."""
    problem = getattr(error, "problem", None) or type(error).__name__
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return problem


# --------------------------------------------------------------------- generations
# The generation switch of a worker (spec 15 §1) and the 0.6 configuration steps
# (§2.2–2.7). `BaseWorker` keeps ``_compat_request`` and ``_generation``; these
# functions decide, log and apply; the worker's own methods call them.

WORKER_RUN_SOURCE = "the worker run configuration"
LOCAL_SOURCE = "the local configuration"


def resolve_compat(worker: Any) -> tuple[str, generation.Generation, str]:
    """The request of a new worker, its initial generation and who requested it.

    Raises:
        ValueError: ``ARKINDEX_WORKER_COMPAT`` or the class's ``compat`` is invalid.
    """
    cls = type(worker)
    request, source = generation.resolve_request(
        getattr(cls, "compat", generation.AUTO), cls.__name__
    )
    if request == generation.AUTO:
        return request, generation.GENERATION_0_4, source
    return request, generation.by_name(request), source


def announce_request(worker: Any, source: str) -> None:
    """INFO line of an explicit request (``__init__``); nothing under ``auto``."""
    if worker._compat_request != generation.AUTO:
        logger.info(f"Using SDK generation {worker._generation}, requested by {source}")


def decide(worker: Any, decided: generation.Generation, source: str) -> None:
    """Under ``auto``, make ``decided`` the worker's generation (DEBUG on change).

    An explicit request never changes. Either way, the worker's generation is
    published process-wide.
    """
    if worker._compat_request == generation.AUTO and worker._generation != decided:
        worker._generation = decided
        logger.debug(f"Using SDK generation {decided}, chosen from {source}")
    generation.use(worker._generation)


def follows_0_6(worker: Any) -> bool:
    """Whether the worker's generation is 0.6."""
    return getattr(worker, "_generation", None) == generation.GENERATION_0_6


def requested_0_6(worker: Any) -> bool:
    """Whether generation 0.6 was requested explicitly."""
    return worker._compat_request == generation.GENERATION_0_6.name


def enable_debug(worker: Any, origin: str | None = None) -> None:
    """Log at DEBUG level: ``Debug output enabled`` (``… from {origin}``)."""
    logger.setLevel(logging.DEBUG)
    logger.debug(
        f"Debug output enabled from {origin}" if origin else "Debug output enabled"
    )


def enable_debug_from_environment(worker: Any) -> None:
    """``--verbose`` or ``ARKINDEX_DEBUG`` of a worker run (0.6 names the origin)."""
    enable_debug(worker, "environment" if requested_0_6(worker) else None)


def is_legacy_run(worker: Any, worker_version: dict) -> bool:
    """Whether the configuration is the one embedded in the worker version (14 §2.2).

    Never under an explicit 0.6 request: the configuration then always comes
    from ``RetrieveWorkerRunConfiguration``.
    """
    if requested_0_6(worker):
        return False
    return isinstance(
        worker_version.get("configuration"), dict
    ) and not worker_version.get("modern_configuration")


def load_run_configuration(worker: Any) -> None:
    """Generation 0.6: the configuration items of the worker run (§2.3 steps 6–8).

    ``config`` holds exactly the items (secret items resolved); the model
    version's configuration stays in ``model_configuration``.
    """
    logger.info(f"Using worker run configuration {worker.worker_run_id}")
    items = worker.api_client.request(
        "RetrieveWorkerRunConfiguration", id=worker.worker_run_id
    )["configuration"]
    worker.config = worker._load_configuration_items(items)
    if worker.config.get("debug"):
        enable_debug(worker, "worker run")


def has_secrets(api_client: Any) -> bool:
    """Whether the server has secrets (``RetrieveSecret``), decided at call time.

    ``api_client.document.links`` is read live (a test removes the operation
    to play a Community edition server), then the server's own schema when the
    client can tell (14 §2.4).
    """
    links = getattr(getattr(api_client, "document", None), "links", None)
    if links is not None and "RetrieveSecret" not in links:
        return False
    return api_client.server_has_operation("RetrieveSecret")


def configure_locally(worker: Any, local: dict | None) -> bool:
    """Decide the generation of a read-only worker; configure it if it is 0.6.

    Under ``auto``, an item-list file (14 §2.5) means 0.6, anything else 0.4.

    Returns:
        Whether the worker was configured (generation 0.6); else the caller
        applies the 0.4 steps.

    Raises:
        ValueError: under 0.6, a ``configuration`` key that is not a list of items.
    """
    if worker._compat_request == generation.AUTO:
        modern = local is not None and is_item_list(local)
        decided = generation.GENERATION_0_6 if modern else generation.GENERATION_0_4
        decide(worker, decided, LOCAL_SOURCE)
    else:
        decide(worker, worker._generation, LOCAL_SOURCE)
    if not follows_0_6(worker):
        return False

    if local is None:
        worker.config, worker.secrets, worker.worker_details = {}, {}, {}
        logger.warning("Running without any extra configuration")
        return True
    if "configuration" in local:
        if not is_item_list(local):
            raise ValueError(
                f"Configuration file {worker.args.config.name} should hold a list of "
                "configuration items (mappings with a key) under `configuration`"
            )
        worker.config = worker._load_configuration_items(local["configuration"])
    else:
        logger.warning(
            "Using old-style configuration is deprecated, you should use modern-style configuration"
        )
        worker.config = local
        worker.secrets = worker._load_secrets(local.get("secrets", []))
    worker.worker_details = {"name": "Local worker"}
    logger.info(f"Running with local configuration from {worker.args.config.name}")
    return True


def without_cache(worker: Any) -> None:
    """Generation 0.6 has no SQLite cache (§2.7): say so when it was asked for."""
    worker.use_cache = False
    if worker.support_cache or getattr(worker.args, "database", None):
        logger.warning(
            "The SQLite cache is not available in generation 0.6: running without it"
        )
    else:
        logger.debug("Cache is disabled")


def user_configuration(worker: Any) -> dict:
    """``worker.user_configuration``: ``config`` under 0.6 (deprecated), else the 0.4 dict."""
    if follows_0_6(worker):
        warnings.warn(
            "This worker should be updated to use self.config instead of self.user_configuration",
            DeprecationWarning,
            stacklevel=3,
        )
        return worker.config
    return worker._user_configuration
