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
from arkindex_worker.validation import check
from arkindex_worker.worker.configuration import (
    is_item_list,
    open_text_file,
    read_local_config,
)
from arkindex_worker.worker.process import ProcessMode
from arkindex_worker.worker.read_only import skip_if_read_only, skip_publication
from arkindex_worker.worker.secrets import parse_secret, read_local_secret

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

    def __init__(
        self,
        description: str | None = "Arkindex Base Worker",
        support_cache: bool | None = False,
    ):
        configure_logging()
        self.parser = argparse.ArgumentParser(description=description)
        self._add_base_arguments()
        self.add_arguments()

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
        self.model_dir = self._find_model_dir()

        self.worker_run_id = _env("ARKINDEX_WORKER_RUN_ID")
        if not self.worker_run_id:
            logger.warning(
                "Missing ARKINDEX_WORKER_RUN_ID environment variable, worker is in read-only mode"
            )

        logger.info(f"Worker will use {self.work_dir} as working directory")

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
        # Decided once by configure() (see arkindex_worker.generation)
        self.generation = generation.GENERATION_0_4
        self.worker_details: dict = {}

        self.setup_api_client()
        if isinstance(self.api_client, ArkindexClient):
            use_for_downloads(self.api_client)
        _register_cleanup(self)

    @staticmethod
    def _find_model_dir() -> Path | None:
        model_dir = _env("ARKINDEX_MODEL_DIR")
        if model_dir is None:
            logger.debug("No model directory given by ARKINDEX_MODEL_DIR")
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

    def _add_base_arguments(self) -> None:
        self.parser.add_argument(
            "-c",
            "--config",
            help="Alternative configuration file when running without a Worker Run ID",
            type=open_text_file,
        )
        self.parser.add_argument(
            "-d",
            "--database",
            help="Alternative SQLite database to use for worker caching",
            type=Path,
            default=None,
        )
        self.parser.add_argument(
            "-v",
            "--verbose",
            "--debug",
            help="Display more information on events and errors",
            action="store_true",
            default=False,
        )
        self.parser.add_argument(
            "--dev",
            help="Run worker in developer mode. "
            "Worker will be in read-only state even if a worker run is supplied.",
            action="store_true",
            default=False,
        )
        self.parser.add_argument(
            "--extras-dir",
            help="The path to a local directory to store extra files like models, datasets, etc (development only).",
            type=Path,
        )

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

        if self.is_read_only:
            self.configure_for_developers()
            if self.support_cache and self.args.database is not None:
                self.configure_offline()
        else:
            self.configure_worker_run()
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

        if not self.args.config:
            self.config = {}
            self.worker_details = {}
            self.secrets = {}
            logger.warning("Running without any extra configuration")
            return

        config = read_local_config(self.args.config)
        self.worker_details = {"name": "Local worker"}
        logger.info(f"Running with local configuration from {self.args.config.name}")
        if is_item_list(config):
            self.config = self._load_configuration_items(config["configuration"])
        else:
            self.config = config
            self.secrets = self._load_secrets(config.get("secrets", []))

    def configure_worker_run(self) -> None:
        """Configure the worker from its worker run on the Arkindex API."""
        check(not self.is_read_only)
        if self.args.verbose or _env("ARKINDEX_DEBUG"):
            self._enable_debug()

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

        version_configuration = worker_version.get("configuration")
        if isinstance(version_configuration, dict) and not worker_version.get(
            "modern_configuration"
        ):
            self._configure_from_worker_version(version_configuration, worker_run)
        else:
            self._configure_from_run_configuration()

        if self.user_configuration.get("debug"):
            self._enable_debug()

    def _use_generation(self, decided: generation.Generation) -> None:
        """Keep the run's generation, decided once by `configure`; make it current."""
        self.generation = decided
        generation.use(decided)

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
        and is the secret itself on servers that do not.
        """
        key = item["key"]
        if not item.get("secret"):
            return key, item["value"]
        value = item["value"]
        if value is None:
            logger.info(f"Optional secret `{key}` is not set")
        elif self.api_client.server_has_operation("RetrieveSecret"):
            value = self.load_secret(Path(value))
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
        database, where publications are stored.
        """
        from arkindex_worker.offline import OFFLINE_CORPUS_ID, OfflineClient

        self.use_cache = True
        self._open_cache(self.args.database)
        self.api_client = OfflineClient(self.worker_run_id)
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
            logger.warning(f"Secret {name} not available: {e.content}")

        local_secret = read_local_secret(name)
        if local_secret is not None:
            secret = local_secret

        if secret is None:
            raise SecretUnavailableError(
                f"Secret {name} is not available on the API nor locally"
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
        filename = Path(filename)
        names = [filename.name]
        if self.task_chunk is not None:
            names.append(f"{filename.stem}_{self.task_chunk}{filename.suffix}")
        candidates = (
            self.task_data_dir / parent_id / name
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
