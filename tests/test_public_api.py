"""The public surface is a tested artefact: each module's names, from the spec.

``SPEC`` lists the names 00-overview.md and 14 §6 give each module; ``OURS``
lists the names we add on purpose. A module's ``__all__`` must be exactly
their union, and every name must be importable from it.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

SPEC = {
    "arkindex_worker.compat": {
        "COMPAT_VARIABLE", "COMPAT_CHOICES", "GENERATION_04", "GENERATION_06",
        "requested_compat", "current_generation", "set_current_generation",
        "reset_current_generation",
    },
    "arkindex_worker": {"logger"},
    "arkindex_worker.api": {
        "ArkindexClient", "ErrorResponse", "options_from_env", "ClientError",
        "ErrorMessage", "SchemaError", "ArkindexError", "ArkindexServerError",
        "ArkindexClientError", "ArkindexValidationError", "ArkindexConflictError",
        "ResponsePaginator", "PaginationMode", "DownloadedFile", "should_verify_cert",
        "REQUEST_TIMEOUT", "DEFAULT_BASE_URL", "SCHEMA_ENDPOINT",
    },
    "arkindex_worker.cache": {
        "db", "JSONField", "Version", "CachedImage", "CachedElement",
        "CachedTranscription", "CachedClassification", "CachedEntity",
        "CachedTranscriptionEntity", "CachedDataset", "CachedDatasetElement", "MODELS",
        "SQL_VERSION", "init_cache_db", "create_tables", "create_version_table",
        "check_version", "merge_parents_cache", "unsupported_cache",
    },
    "arkindex_worker.image": {
        "BoundingBox", "open_image", "download_image", "upload_image",
        "resized_images", "polygon_bounding_box", "download_tiles", "trim_polygon",
        "revert_orientation", "update_pillow_image_size_limit", "DOWNLOAD_TIMEOUT",
        "IIIF_URL", "IIIF_FULL", "IIIF_MAX", "IMAGE_RATIO", "REQUEST_TIMEOUT",
        "IMAGE_RATIOS", "IIIF_USER_AGENT",
    },
    "arkindex_worker.models": {
        "MagicDict", "Element", "ArkindexModel", "Transcription", "Image", "Dataset",
        "Set", "Artifact", "DatasetSet", "IMAGE_EXTENSION",
    },
    "arkindex_worker.utils": {
        "pluralize", "MANUAL_SOURCE", "parse_source_id", "CHUNK_SIZE",
        "decompress_zst_archive", "extract_tar_archive", "extract_tar_zst_archive",
        "close_delete_file", "zstd_compress", "create_tar_archive",
        "create_tar_zst_archive", "DEFAULT_BATCH_SIZE", "batch_publication",
        "make_batches", "create_zip_archive",
    },
    "arkindex_worker.worker": {
        "ElementsWorker", "DatasetWorker", "BaseWorker", "ActivityState", "ProcessMode",
        "MetaType", "DatasetState", "MissingDatasetArchive", "ElementMixin",
        "DatasetMixin", "ClassificationMixin", "CorpusMixin", "TranscriptionMixin",
        "WorkerVersionMixin", "EntityMixin", "MetaDataMixin", "ImageMixin",
        "ProcessMixin", "TaskMixin", "CachedElement", "Element", "Dataset", "Set",
        "ErrorResponse", "pluralize", "logger", "WorkerActivityIterator", "DatasetSet",
        "EmbeddingMixin",
    },
    "arkindex_worker.worker.base": {
        "BaseWorker", "ExtrasDirNotFoundError", "skip_if_read_only",
    },
    "arkindex_worker.worker.process": {
        "ActivityState", "ProcessMode", "ProcessMixin", "PROCESS_ELEMENTS_PAGE_SIZE",
    },
    "arkindex_worker.worker.task": {"TaskMixin"},
    "arkindex_worker.worker.dataset": {
        "DatasetState", "MissingDatasetArchive", "check_dataset_set", "DatasetMixin",
    },
    "arkindex_worker.worker.version": {
        "WorkerVersionMixin", "worker_version_deprecation",
    },
    "arkindex_worker.worker.corpus": {
        "CorpusExportState", "CorpusMixin", "ExportNotFinishedError",
        "FailedExportError", "NoExportURLError",
    },
    "arkindex_worker.worker.training": {
        "TrainingMixin", "create_archive", "build_clean_payload", "skip_if_read_only",
        "DirPath", "Hash", "FileSize",
    },
    "arkindex_worker.worker.element": {
        "ElementMixin", "ElementType", "MissingTypeError", "slugify",
        "MissingElementType",
    },
    "arkindex_worker.worker.transcription": {"TextOrientation", "TranscriptionMixin"},
    "arkindex_worker.worker.classification": {"ClassificationMixin"},
    "arkindex_worker.worker.entity": {"Entity", "EntityMixin", "MissingEntityType"},
    "arkindex_worker.worker.metadata": {"MetaType", "MetaDataMixin"},
    "arkindex_worker.worker.image": {"ImageMixin"},
    "arkindex_worker.worker.embedding": {"EmbeddingMixin"},
    # Modules of ours, not in the spec: their names are all in OURS
    "arkindex_worker.local_images": set(),
    "arkindex_worker.offline": set(),
    "arkindex_worker.offline_records": set(),
    "arkindex_worker.offline_runs": set(),
    "arkindex_worker.cli": set(),
    "arkindex_worker.validation": set(),
    "arkindex_worker.worker.overlap": set(),
    "arkindex_worker.worker.listing": set(),
}  # fmt: skip

OURS = {
    "arkindex_worker": {"configure_logging", "run_logger"},
    "arkindex_worker.errors": {
        "SIGINT_STATUS", "SIGTERM_STATUS", "ArchiveError", "ArkindexClientError",
        "ArkindexConflictError", "ArkindexError", "ArkindexServerError",
        "ArkindexValidationError", "ArkindexWorkerBaseException", "ArkindexWorkerError",
        "AuthenticationFailed", "ServerUnreachable", "TooManyFailures",
        "CacheDatabaseError", "ClientError", "ConfigurationFailed",
        "ConfirmationUndecided", "ErrorResponse",
        "EveryItemFailed",
        "ExportNotFinishedError", "ExtrasDirNotFoundError", "FailedExportError",
        "IncompletePaginationError", "Interrupted", "MissingCorpusError",
        "MissingDatasetArchive", "MissingElementType", "MissingEntityType",
        "MissingTypeError", "NoExportURLError", "NothingToProcess",
        "OfflineUnavailableError", "RedirectedWriteError", "RunFailed", "SchemaError",
        "SecretUnavailableError", "Terminated", "UnconfirmedWriteError",
        "UnexpectedContentError", "UnknownCountError", "UnsafeArchiveError",
        "UnsafePathError",
        "WorkerExit", "exit_status",
        "AnswerLimitError", "InvalidHeaderValueError", "InvalidPaginationError",
        "InvalidStatusError", "PaginationLimitError",
        "DatabaseFull", "OfflineWriteRejected",
    },
    "arkindex_worker.cache": {
        "CacheDatabaseError", "InitialElementsQuery", "initial_elements", "cache_write",
        "insert_rows", "reject_failed_writes",
    },
    "arkindex_worker.models": {"use_modern_image_defaults"},
    "arkindex_worker.utils": {"UnsafeArchiveError", "tar_zst_archive"},
    "arkindex_worker.api": {
        "RedirectedWriteError", "UnconfirmedWriteError", "UnexpectedContentError",
    },
    "arkindex_worker.local_images": {
        "check_image_url", "local_images_root", "local_path", "open_local",
        "use_local_images",
    },
    "arkindex_worker.iiif": {
        "IIIF_FULL", "IIIF_MAX", "IIIF_URL", "ImageRequest", "bounded_size",
        "box_region", "image_request_url", "info_url", "max_size_fallback",
        "parse_image_request", "parse_rotation", "region_box", "size_for_version",
        "size_pixels", "with_extension", "with_size",
    },
    "arkindex_worker.image_io": {
        "check_image_url", "download_image", "download_tiles", "open_image", "prepared_download",
        "upload_image",
    },
    "arkindex_worker.pillow": {
        "PILLOW_MISSING", "orient", "require_pillow", "update_pillow_image_size_limit",
    },
    "arkindex_worker.geometry": {"BoundingBox", "polygon_bounding_box"},
    "arkindex_worker.types": {"JSON", "ElementLike", "Polygon"},
    "arkindex_worker.checks": {"check"},
    "arkindex_worker.offline": {
        "OFFLINE_CORPUS_ID", "OfflineClient", "OfflineMetaData",
        "OfflineUnavailableError", "stable_id",
    },
    "arkindex_worker.offline_records": {
        "ApiFields", "OfflineElement", "OfflineTranscription", "element_payload",
        "offline_rows", "transcription_payload",
    },
    "arkindex_worker.cli": {"describe_fatal_error", "run_worker"},
    "arkindex_worker.worker.overlap": {
        "Overlap", "START_DELAY", "INTERRUPT_GRACE", "Deferred", "Retrieval",
        "READ_AHEAD",
    },
    "arkindex_worker.worker.report": {"Progress", "failure_message", "report"},
    "arkindex_worker.worker.loops": {
        "LoopMode", "configure_for_run", "elements_0_6", "loop_mode",
        "run_dataset_sets_0_6", "start_dataset_exports_0_6",
    },
    "arkindex_worker.worker.progress": {
        "DEFAULT_PROGRESS_INTERVAL", "TRACEBACK_HINT", "RunMonitor", "format_duration",
        "format_rate", "sdk_version",
    },
    "arkindex_worker.worker.arguments": {
        "add_base_arguments", "check_arguments", "epilog", "finish_parser",
        "wants_help",
    },
    "arkindex_worker.worker.activity": {"WorkerActivityIterator"},
    "arkindex_worker.worker.dataset_worker": {"DatasetWorker"},
    "arkindex_worker.worker.selection": {
        "SelectedElements", "invalid_uuids", "load_elements_list", "missing_ids",
        "offline_elements",
    },
    "arkindex_worker.offline_runs": {
        "BUSY_TIMEOUT", "CHECKPOINT_EVERY", "ElementState", "OfflineRun", "RunRecord",
        "element_transaction", "is_disk_full", "prepare_database",
    },
    "arkindex_worker.interrupts": {
        "SIGINT_STATUS", "SIGTERM_STATUS", "Interrupted", "Terminated", "exit_status",
        "handle_interrupts",
    },
    "arkindex_worker.api.session": {"ArkindexSession"},
    "arkindex_worker.archives": {"MAX_LINK_HOPS", "safe_extract"},
    "arkindex_worker.api.answers": {
        "MAX_ANSWER_BYTES", "MAX_JSON_DEPTH", "MAX_PAGES", "AnswerLimits",
        "check_json_depth", "handle_answer", "read_body", "valid_status",
    },
    "arkindex_worker.api.auth": {
        "DEFAULT_CSRF_COOKIE", "SAFE_METHODS", "TokenAuth", "check_header_values",
    },
    "arkindex_worker.api.urls": {
        "for_messages", "hide_queries", "origin", "without_credentials",
    },
    "arkindex_worker.api.shared": {"http_client", "use_for_downloads"},
    "arkindex_worker.api.pagination_log": {"log_loading", "log_total"},
    "arkindex_worker.generation": {
        "AUTO", "COMPAT_CHOICES", "COMPAT_VARIABLE", "GENERATION_0_4",
        "GENERATION_0_6", "Generation", "by_name", "current", "of", "published",
        "reset", "resolve_request", "use",
    },
    "arkindex_worker.worker.rules06": {
        "ELEMENT_ONLY", "ELEMENT_ONLY_TYPE", "check_element_argument", "follows_0_6",
        "unsupported_cache", "uses_cache",
    },
    "arkindex_worker.api.protocol": {"ApiClient"},
    "arkindex_worker.api.retry": {
        "IDEMPOTENT_METHODS", "NOT_APPLIED", "Failure", "RetryPolicy", "classify",
        "http_status", "FixedRetry", "IMAGE_RETRY_0_6", "EXPORT_RETRY_0_6",
    },
    "arkindex_worker.api.confirm": {
        "CONFIRMATIONS", "NOT_APPLIED", "Confirmation", "Undecided",
        "confirm_activity", "confirmation",
    },
    "arkindex_worker.api.matching": {
        "KnownIds", "UNKNOWN", "Undecided", "id_of", "known_ids", "plain", "run_of",
        "same_number", "same_polygon", "same_value", "settle", "settle_one",
        "worker_run_of",
    },
    "arkindex_worker.api.readback": {
        "answer_id", "check_create_classification", "check_create_classifications",
        "check_create_element", "check_create_element_children",
        "check_create_element_parent", "check_create_element_transcriptions",
        "check_create_element_type", "check_create_elements", "check_create_entity",
        "check_create_entity_type", "check_create_metadata",
        "check_create_metadata_bulk", "check_create_ml_class",
        "check_create_transcription", "check_create_transcription_entities",
        "check_create_transcription_entity", "check_create_transcription_entity_0_6",
        "check_create_transcriptions",
    },
    "arkindex_worker.api.validation": {
        "PAGINATION_KEYWORDS", "check_call", "check_parameters", "find_operation",
        "parameter_problems", "text_problem", "unknown_parameters", "value_problems",
    },
    "arkindex_worker.prefetch": {"ImageReadAhead", "opening", "take"},
    "arkindex_worker.worker.listing": {
        "filter_cached_elements", "listing_query", "where_source",
    },
    "arkindex_worker.worker.read_only": {
        "READ_ONLY_WARNING", "skip_if_read_only", "skip_publication",
    },
    "arkindex_worker.worker.element_types": {
        "ElementType", "ElementTypesMixin", "slugify",
    },
    "arkindex_worker.worker.configuration": {
        "announce_request", "configure_locally", "decide", "enable_debug",
        "enable_debug_from_environment", "follows_0_6", "has_secrets",
        "is_item_list", "is_legacy_run", "load_run_configuration", "open_text_file",
        "read_local_config", "requested_0_6", "resolve_compat", "user_configuration",
        "without_cache",
    },
    "arkindex_worker.worker.secrets": {
        "gpg_decrypt", "local_secret_path", "parse_secret", "read_local_secret",
        "is_secret_name", "load_secret_item", "secret_label", "unavailable_detail",
    },
    "arkindex_worker.validation": {
        "ELEMENT_OR_CACHED", "ELEMENT_OR_CACHED_TYPE", "check_element_or_cached",
        "check", "check_confidence", "check_element", "check_int",
        "check_optional_str", "check_polygon", "check_source_filter", "check_str",
        "check_uuid", "is_coordinate", "is_element", "item_prefix", "plain_name",
        "text_problem",
    },
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(SPEC.keys() | OURS.keys()))
def test_module_exports(module_name):
    module = importlib.import_module(module_name)
    expected = SPEC.get(module_name, set()) | OURS.get(module_name, set())
    assert sorted(module.__all__) == sorted(expected)
    for name in expected:
        assert hasattr(module, name), name


def test_logger_is_one_object():
    import arkindex_worker
    import arkindex_worker.worker

    assert arkindex_worker.worker.logger is arkindex_worker.logger


def test_worker_bases_order():
    from arkindex_worker.worker import DatasetWorker, ElementsWorker

    assert [c.__name__ for c in ElementsWorker.__bases__] == [
        "ElementMixin", "DatasetMixin", "BaseWorker", "ClassificationMixin",
        "CorpusMixin", "TranscriptionMixin", "WorkerVersionMixin", "EntityMixin",
        "MetaDataMixin", "ImageMixin", "ProcessMixin", "TaskMixin", "EmbeddingMixin",
    ]  # fmt: skip
    assert [c.__name__ for c in DatasetWorker.__bases__] == [
        "DatasetMixin", "BaseWorker", "TaskMixin", "CorpusMixin", "EmbeddingMixin",
    ]  # fmt: skip


def test_public_callables_have_docstrings():
    missing = []
    for module_name, names in SPEC.items():
        module = importlib.import_module(module_name)
        for name in names:
            value = getattr(module, name)
            if (inspect.isclass(value) or inspect.isfunction(value)) and not (
                value.__doc__ or ""
            ).strip():
                missing.append(f"{module_name}.{name}")
    assert missing == []


def test_import_worker_needs_no_optional_dependency():
    code = (
        "import sys, arkindex_worker.worker, arkindex_worker.models, "
        "arkindex_worker.cache; "
        "print(sorted({'PIL', 'zstandard'} & set(sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
