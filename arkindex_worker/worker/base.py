"""`BaseWorker`: command line, environment, configuration, secrets and cache set-up.

Every worker class derives from [BaseWorker][arkindex_worker.worker.base.BaseWorker].
It parses the command line, reads the Arkindex task environment, loads the
configuration (from the worker run in an Arkindex process, from a local YAML file
in developer mode), loads secrets and sets up the SQLite cache.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from arkindex_worker import configure_logging, generation, logger
from arkindex_worker.api import ArkindexClient, ErrorResponse, options_from_env
from arkindex_worker.api.shared import use_for_downloads
from arkindex_worker.errors import (
    ExtrasDirNotFoundError,
    MissingCorpusError,
    SecretUnavailableError,
)
from arkindex_worker.validation import check, plain_name
from arkindex_worker.worker.arguments import (
    add_base_arguments,
    check_arguments,
    finish_parser,
    wants_help,
)
from arkindex_worker.worker.configuration import (
    WORKER_RUN_SOURCE,
    announce_request,
    configure_locally,
    decide,
    enable_debug_from_environment,
    follows_0_6,
    has_secrets,
    is_item_list,
    is_legacy_run,
    load_run_configuration,
    read_local_config,
    resolve_compat,
    user_configuration,
    without_cache,
)
from arkindex_worker.worker.process import ProcessMode
from arkindex_worker.worker.read_only import skip_if_read_only, skip_publication
from arkindex_worker.worker.secrets import (
    load_secret_item,
    parse_secret,
    read_local_secret,
    secret_label,
    unavailable_detail,
)

__all__ = ["BaseWorker", "ExtrasDirNotFoundError", "skip_if_read_only"]


def _env(name: str) -> str | None:
    """An environment variable, with an empty value read as unset."""
    return os.environ.get(name) or None


class BaseWorker:
    """Base class of every Arkindex worker.

    Args:
        description: description shown by ``--help``.
        support_cache: whether the worker can use the SQLite cache.
    """

    _loop_items: str | None = None
    """What the worker's run loop processes (``element``, ``set``): its run options."""

    compat: str = "auto"
    """SDK generation requested: ``auto``, ``0.4`` or ``0.6`` (``ARKINDEX_WORKER_COMPAT`` wins)."""

    def __init__(
        self,
        description: str | None = "Arkindex Base Worker",
        support_cache: bool | None = False,
    ):
        # The generation switch first: an invalid request fails before any work
        self._compat_request, self._generation, compat_source = resolve_compat(self)
        configure_logging()
        self.parser = argparse.ArgumentParser(description=description)
        self._add_base_arguments()
        self.add_arguments()
        finish_parser(self.parser, self._loop_items, offline=bool(support_cache))

        ponos_data = _env("PONOS_DATA")
        if ponos_data:
            self.work_dir = Path(ponos_data, "current")
        else:
            data_home = _env("XDG_DATA_HOME") or "~/.local/share"
            self.work_dir = Path(data_home, "arkindex").expanduser()
            self.work_dir.mkdir(parents=True, exist_ok=True)

        self.task_id = _env("PONOS_TASK")
        self.task_chunk = _env("ARKINDEX_TASK_CHUNK")
        self.task_data_dir = Path(ponos_data or "/data")
        self.model_dir = self._find_model_dir(self._generation == "0.6")

        self.worker_run_id = _env("ARKINDEX_WORKER_RUN_ID")
        # Nothing is logged before the help text
        quiet = wants_help()
        if not self.worker_run_id and not quiet:
            logger.warning(
                "Missing ARKINDEX_WORKER_RUN_ID environment variable, worker is in read-only mode"
            )
        if not quiet:
            logger.info(f"Worker will use {self.work_dir} as working directory")
        announce_request(self, compat_source)

        self.process_information: dict | None = None
        self._corpus_id: str | None = None
        self.user_configuration: dict = {}
        self.model_configuration: dict = {}
        self.support_cache = support_cache
        self.use_cache = False
        self.model_version_id: str | None = None
        self.model_details: dict = {}
        self.task_parents: list[str] = []
        self.config: dict = {}
        self.secrets: dict = {}
        generation.use(self._generation)
        self.classes, self.entity_types, self.corpus_types = {}, {}, {}
        self.datasets: dict = {}
        self.worker_details: dict = {}

        self.setup_api_client()
        if isinstance(self.api_client, ArkindexClient):
            use_for_downloads(self.api_client)
        _register_cleanup(self)

    @staticmethod
    def _find_model_dir(modern: bool = False) -> Path | None:
        model_dir = _env("ARKINDEX_MODEL_DIR")
        if model_dir is None:
            logger.debug(
                "Missing ARKINDEX_MODEL_DIR environment variable, using extra_files old mode"
                if modern  # generation 0.6 (spec 15 §2.1)
                else "No model directory given by ARKINDEX_MODEL_DIR"
            )
            return None
        model_dir = Path(model_dir)
        if not model_dir.exists():
            logger.warning(f"Model directory {model_dir} is missing")
        return model_dir

    def cleanup(self, info_log: str | None = None) -> None:
        """Clean up before the worker stops; called once at interpreter exit.

        Override it to delete temporary data (call ``super().cleanup()``). Logs
        ``info_log`` at INFO when given; silent by default.
        """
        if info_log:
            logger.info(info_log)
        elif follows_0_6(self):
            logger.info("Cleaning up worker")

    def _add_base_arguments(self) -> None:
        add_base_arguments(self.parser)

    def add_arguments(self) -> None:
        """Add worker-specific arguments to ``self.parser``.

        Override it and call ``super().add_arguments()`` to keep the arguments of
        the mixins. This base version adds nothing and does not call ``super()``.
        """

    def setup_api_client(self) -> None:
        """Build the API client from the environment; sends no request."""
        self.api_client = ArkindexClient(**options_from_env())
        logger.debug(f"Setup Arkindex API client on {self.api_client.document.url}")

    @property
    def generation(self) -> generation.Generation:
        """Effective SDK generation, equal to ``"0.4"`` or ``"0.6"`` (see `compat`)."""
        return self._generation

    @property
    def user_configuration(self) -> dict:
        """Generation 0.4: the user configuration; 0.6: ``config`` (deprecated)."""
        return user_configuration(self)

    @user_configuration.setter
    def user_configuration(self, value: dict) -> None:
        self._user_configuration = value

    @property
    def corpus_id(self) -> str:
        """ID of the corpus the worker runs on.

        Raises:
            MissingCorpusError: when it is unknown.
        """
        if not self._corpus_id:
            raise MissingCorpusError("Missing ARKINDEX_CORPUS_ID environment variable")
        return self._corpus_id

    @property
    def is_read_only(self) -> bool:
        """Whether the worker must not publish anything (dev mode or no worker run)."""
        return self.args.dev or self.worker_run_id is None

    @property
    def is_offline(self) -> bool:
        """Whether the worker runs offline: read-only, on a local cache database.

        Our addition: publications then land in the database instead of the API.
        """
        return self.is_read_only and self.use_cache

    def skip_publication(self, warning: str, *, available_offline: bool = True) -> bool:
        """Whether a publication helper must return early, without any request.

        True in read-only mode (after logging ``warning``), except offline, where
        publications go to the local database unless ``available_offline`` is
        false. The rule is [skip_publication][arkindex_worker.worker.read_only.skip_publication]
        in `arkindex_worker.worker.read_only`.
        """
        return skip_publication(self, warning, available_offline=available_offline)

    @property
    def worker_version_id(self):
        """Deprecated: always raises ``DeprecationWarning``."""
        raise DeprecationWarning("`worker_version_id` usage is deprecated")

    @property
    def process_mode(self) -> ProcessMode | None:
        """Mode of the process running the worker; ``None`` in read-only mode."""
        if self.is_read_only:
            return None
        return ProcessMode(self.process_information["mode"])

    def _enable_debug(self) -> None:
        logger.setLevel(logging.DEBUG)
        logger.debug("Debug output enabled")

    def configure(self) -> None:
        """Parse the command line and load the configuration, secrets and cache."""
        self.args = self.parser.parse_args()
        check_arguments(self.parser, self.args)
        if self._compat_request != generation.GENERATION_0_4.name:
            self.worker_details, self.config, self.secrets = {}, {}, {}

        if self.is_read_only:
            self.configure_for_developers()
        else:
            self.configure_worker_run()
        if self.generation == generation.GENERATION_0_6:
            without_cache(self)  # and no merge: config is exactly the items
            return

        if self.is_read_only:
            if self.support_cache and self.args.database is not None:
                self.configure_offline()
        else:
            self.configure_cache()

        if self.model_configuration:
            self.config.update(self.model_configuration)
            logger.info("Model version configuration retrieved")

        if self.user_configuration:
            self.config.update(self.user_configuration)
            logger.info("User configuration retrieved")

    def _load_secrets(self, names: list[str]) -> dict[str, Any]:
        return {name: self.load_secret(Path(name)) for name in names}

    def configure_for_developers(self) -> None:
        """Configure a read-only worker from the command line and environment.

        ``--config`` takes a YAML mapping (the 0.4 format, whose ``secrets`` list
        names secrets to load) or a saved ``RetrieveWorkerRunConfiguration``
        answer (a ``configuration`` list of ``{key, value, secret}`` items).
        """
        check(self.is_read_only)
        if self.args.verbose or _env("ARKINDEX_DEBUG"):
            self._enable_debug()

        self._corpus_id = os.environ.get("ARKINDEX_CORPUS_ID")
        self.model_version_id = os.environ.get("ARKINDEX_MODEL_VERSION_ID")
        self.model_details = {"id": os.environ.get("ARKINDEX_MODEL_ID")}

        local = read_local_config(self.args.config) if self.args.config else None
        if configure_locally(self, local):  # generation 0.6
            return
        if local is None:
            self.config = {}
            self.worker_details = {}
            self.secrets = {}
            logger.warning("Running without any extra configuration")
            return

        config = local
        self.worker_details = {"name": "Local worker"}
        logger.info(f"Running with local configuration from {self.args.config.name}")
        if is_item_list(config):
            self.config = self._load_configuration_items(config["configuration"])
        else:
            self.config = config
            self.secrets = self._load_secrets(config.get("secrets", []))

    _configure_for_developers = configure_for_developers

    def configure_worker_run(self) -> None:
        """Configure the worker from its worker run on the Arkindex API."""
        check(not self.is_read_only)
        if self.args.verbose or _env("ARKINDEX_DEBUG"):
            enable_debug_from_environment(self)

        worker_run = self.api_client.request("RetrieveWorkerRun", id=self.worker_run_id)
        self.process_information = worker_run["process"]
        self._corpus_id = worker_run["process"]["corpus"]
        worker_version = worker_run["worker_version"]
        self.worker_details = worker_version["worker"]
        logger.info(f"Loaded {worker_run['summary']} from API")

        model_version = worker_run.get("model_version")
        if model_version:
            logger.info("Loaded model version configuration from WorkerRun")
            self.model_configuration.update(model_version["configuration"])
            self.model_version_id = model_version["id"]
            self.model_details = model_version["model"]

        if is_legacy_run(self, worker_version):
            self._configure_from_worker_version(
                worker_version["configuration"], worker_run
            )
        else:
            self._configure_from_run_configuration()

        if self.generation != "0.6" and self.user_configuration.get("debug"):
            self._enable_debug()

    _configure_worker_run = configure_worker_run

    def _use_generation(
        self, decided: generation.Generation, source: str = WORKER_RUN_SOURCE
    ) -> None:
        """Under ``auto``, the generation `configure` chose; published either way."""
        decide(self, decided, source)

    def _configure_from_worker_version(
        self, version_configuration: dict, worker_run: dict
    ) -> None:
        """Legacy path: configuration embedded in the worker version (0.4 servers)."""
        self._use_generation(generation.GENERATION_0_4)
        self.config = version_configuration.get("configuration", {})
        for key, spec in version_configuration.get("user_configuration", {}).items():
            if "default" in spec and key not in self.model_configuration:
                self.user_configuration[key] = spec["default"]
        self.secrets = self._load_secrets(version_configuration.get("secrets", []))

        run_configuration = worker_run.get("configuration")
        if run_configuration and run_configuration.get("configuration"):
            logger.info("Loaded user configuration from WorkerRun")
            self.user_configuration.update(run_configuration["configuration"])

    def _configure_from_run_configuration(self) -> None:
        """Current path: the effective configuration computed by the server."""
        self._use_generation(generation.GENERATION_0_6)
        if self.generation == generation.GENERATION_0_6:
            return load_run_configuration(self)
        logger.info(f"Using worker run configuration {self.worker_run_id}")
        items = self.api_client.request(
            "RetrieveWorkerRunConfiguration", id=self.worker_run_id
        )["configuration"]
        self.config = self._load_configuration_items(items)
        self.user_configuration = dict(self.config)

    def _load_configuration_items(self, items: list[dict]) -> dict:
        """Configuration from a list of ``{key, value, secret}`` items; fills secrets."""
        self.secrets = {}
        config = {}
        for item in items:
            key, value = self.load_configuration_item(item)
            config[key] = value
        return config

    def load_configuration_item(self, item: dict) -> tuple[str, Any]:
        """Key and value of one configuration item; a secret item is resolved.

        A secret item's value names an Arkindex secret on servers that have
        secrets (loaded with [load_secret][arkindex_worker.worker.base.BaseWorker.load_secret]),
        and is the secret itself on servers that do not. It is only sent as a
        name when it is one, and a missing secret is reported by its key
        ([load_secret_item][arkindex_worker.worker.secrets.load_secret_item]).
        """
        key = item["key"]
        if not item.get("secret"):
            return key, item["value"]
        value = item["value"]
        if value is None:
            logger.info(f"Optional secret `{key}` is not set")
        elif has_secrets(self.api_client):
            value = load_secret_item(self, key, value)
        self.secrets[key] = value
        return key, value

    _load_configuration_item = load_configuration_item

    def configure_cache(self) -> None:
        """Set up the SQLite cache from ``--database`` or the parent tasks."""
        paths = None
        if self.support_cache and self.args.database is not None:
            self.use_cache = True
        elif self.support_cache and self.task_id:
            task = self.api_client.request("RetrieveTask", id=self.task_id)
            self.task_parents = task["parents"]
            paths = self.find_parents_file_paths(Path("db.sqlite"))
            self.use_cache = len(paths) > 0

        if not self.use_cache:
            logger.debug("Cache is disabled")
            return

        self._open_cache(self.args.database, paths)

    def configure_offline(self) -> None:
        """Run offline on the ``--database`` file: no request will ever be sent.

        Our addition: the API client is replaced by an
        [OfflineClient][arkindex_worker.offline.OfflineClient] answering from the
        database, where publications are stored. The run gets an id and its
        elements one transaction each (``self.offline_run``, an
        [OfflineRun][arkindex_worker.offline_runs.OfflineRun]).
        """
        from arkindex_worker.offline import OFFLINE_CORPUS_ID, OfflineClient
        from arkindex_worker.offline_runs import OfflineRun

        self.use_cache = True
        self._open_cache(self.args.database)
        worker = f"{type(self).__module__}.{type(self).__qualname__}"
        self.offline_run = OfflineRun(worker, rerun=getattr(self.args, "rerun", False))
        self.api_client = OfflineClient(self.worker_run_id, run=self.offline_run)
        if not self._corpus_id:
            self._corpus_id = OFFLINE_CORPUS_ID
        logger.info(
            f"Running offline on {self.cache_path}: no request will be sent to Arkindex"
        )

    def _open_cache(
        self, database: Path | None, paths: list[Path] | None = None
    ) -> None:
        """Open the cache: the given database, or the task's own merged with parents."""
        from arkindex_worker.cache import (
            check_version,
            create_tables,
            create_version_table,
            init_cache_db,
            merge_parents_cache,
        )

        if database:
            check(database.is_file(), f"Database in {database} does not exist")
            self.cache_path = database
        else:
            cache_dir = self.task_data_dir / self.task_id
            check(cache_dir.is_dir(), f"Missing task cache in {cache_dir}")
            self.cache_path = cache_dir / "db.sqlite"

        init_cache_db(self.cache_path)
        if database:
            check_version(self.cache_path)
        else:
            create_version_table()
        create_tables()

        if not database and paths is not None:
            merge_parents_cache(paths, self.cache_path)

    def load_secret(self, name: Path) -> str | dict | list | Any:
        """Load a secret from the API, or from the developer's local secrets.

        A local file under ``$XDG_CONFIG_HOME/arkindex/secrets/`` is decrypted with
        the ``gpg`` command and replaces the API value. The content is parsed
        according to the name's suffix (JSON, YAML, else raw text).

        Raises:
            SecretUnavailableError: when the secret is available nowhere.
        """
        secret = None
        try:
            secret = self.api_client.request("RetrieveSecret", name=str(name))[
                "content"
            ]
            logging.info(f"Loaded API secret {name}")
        except ErrorResponse as e:
            logger.warning(
                f"{secret_label(name)} not available: {unavailable_detail(e)}"
            )

        local_secret = read_local_secret(name)
        if local_secret is not None:
            secret = local_secret

        if secret is None:
            raise SecretUnavailableError(
                f"{secret_label(name)} is not available on the API nor locally"
            )

        return parse_secret(Path(name), secret)

    def find_extras_directory(self) -> Path:
        """Directory holding extra files (models, datasets…).

        Raises:
            ExtrasDirNotFoundError: outside a task, when no existing directory is
                given by the ``extras_dir`` configuration key or ``--extras-dir``.
        """
        if self.task_id:
            if self.model_dir and self.model_dir.exists():
                return self.model_dir
            extras_dir = self.task_data_dir / "extra_files"
            return extras_dir if extras_dir.exists() else self.work_dir

        if "extras_dir" in self.config:
            extras_dir = self.config["extras_dir"]
        else:
            extras_dir = self.args.extras_dir
        if extras_dir is None:
            raise ExtrasDirNotFoundError(
                "No path to the directory for extra files was provided. "
                "Please provide extras_dir either through configuration or as CLI argument."
            )
        if not Path(extras_dir).exists():
            raise ExtrasDirNotFoundError(
                f"The path {extras_dir} does not link to any directory"
            )
        return Path(extras_dir)

    def find_parents_file_paths(self, filename: Path | str) -> list[Path]:
        """Existing files named ``filename`` (or its chunked variant) in parent tasks."""
        if follows_0_6(self) and not self.task_parents and self.task_id:
            task = self.api_client.request("RetrieveTask", id=self.task_id)
            self.task_parents = task["parents"]
        filename = Path(filename)
        names = [filename.name]
        if self.task_chunk is not None:
            names.append(f"{filename.stem}_{self.task_chunk}{filename.suffix}")
        candidates = (
            self.task_data_dir / plain_name(str(parent_id), "Parent task") / name
            for parent_id in self.task_parents
            for name in names
        )
        return [path for path in candidates if path.is_file()]

    def extract_parent_archives(self, archive_name: Path, dest: Path) -> None:
        """Extract the ``.tar.zst`` archives of the parent tasks into ``dest``."""
        from arkindex_worker.utils import close_delete_file, extract_tar_zst_archive

        for archive in self.find_parents_file_paths(archive_name):
            with tempfile.TemporaryDirectory(suffix="-extracted-data") as tmp:
                extracted = Path(tmp)
                fd, tar_path = extract_tar_zst_archive(archive, extracted)
                close_delete_file(fd, tar_path)
                for source in sorted(extracted.rglob("*")):
                    if not source.is_file():
                        continue
                    target = dest / source.relative_to(extracted)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(source, target)

    def run(self) -> None:
        """Run the worker; implemented by subclasses."""


def _register_cleanup(worker: BaseWorker) -> None:
    """Call ``worker.cleanup()`` at interpreter exit, without keeping it alive."""
    reference = weakref.ref(worker)

    def cleanup() -> None:
        instance = reference()
        if instance is None:
            return
        try:
            instance.cleanup()
        except Exception as e:
            logger.debug(f"Worker clean-up failed: {e!r}")

    atexit.register(cleanup)
