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
        "IMAGE_RATIOS",
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
    # Modules of ours, not in the spec: their names are all in OURS
    "arkindex_worker.local_images": set(),
    "arkindex_worker.offline": set(),
    "arkindex_worker.cli": set(),
    "arkindex_worker.validation": set(),
    "arkindex_worker.worker.overlap": set(),
    "arkindex_worker.worker.listing": set(),
}  # fmt: skip

OURS = {
    "arkindex_worker": {"configure_logging"},
    "arkindex_worker.errors": {
        "SIGINT_STATUS", "SIGTERM_STATUS", "ArchiveError", "ArkindexClientError",
        "ArkindexConflictError", "ArkindexError", "ArkindexServerError",
        "ArkindexValidationError", "ArkindexWorkerBaseException", "ArkindexWorkerError",
        "CacheDatabaseError", "ClientError", "ErrorResponse", "EveryItemFailed",
        "ExportNotFinishedError", "ExtrasDirNotFoundError", "FailedExportError",
        "IncompletePaginationError", "Interrupted", "MissingCorpusError",
        "MissingDatasetArchive", "MissingElementType", "MissingEntityType",
        "MissingTypeError", "NoExportURLError", "NothingToProcess",
        "OfflineUnavailableError", "RedirectedWriteError", "RunFailed", "SchemaError",
        "SecretUnavailableError", "Terminated", "UnconfirmedWriteError",
        "UnexpectedContentError", "UnknownCountError", "UnsafeArchiveError",
        "WorkerExit", "exit_status",
    },
    "arkindex_worker.cache": {
        "CacheDatabaseError", "InitialElementsQuery", "initial_elements", "cache_write",
        "insert_rows",
    },
    "arkindex_worker.models": {"use_modern_image_defaults"},
    "arkindex_worker.utils": {"UnsafeArchiveError"},
    "arkindex_worker.api": {
        "RedirectedWriteError", "UnconfirmedWriteError", "UnexpectedContentError",
    },
    "arkindex_worker.local_images": {"local_path", "open_local"},
    "arkindex_worker.iiif": {
        "IIIF_FULL", "IIIF_MAX", "IIIF_URL", "ImageRequest", "bounded_size",
        "box_region", "image_request_url", "info_url", "max_size_fallback",
        "parse_image_request", "parse_rotation", "region_box", "size_for_version",
        "size_pixels", "with_extension", "with_size",
    },
    "arkindex_worker.image_io": {
        "download_image", "download_tiles", "open_image", "prepared_download",
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
    "arkindex_worker.cli": {"describe_fatal_error", "run_worker"},
    "arkindex_worker.worker.overlap": {
        "Overlap", "START_DELAY", "INTERRUPT_GRACE", "Deferred", "Retrieval",
        "READ_AHEAD",
    },
    "arkindex_worker.worker.report": {"Progress", "failure_message", "report"},
    "arkindex_worker.worker.activity": {"WorkerActivityIterator"},
    "arkindex_worker.worker.dataset_worker": {"DatasetWorker"},
    "arkindex_worker.worker.selection": {"invalid_uuids", "load_elements_list"},
    "arkindex_worker.interrupts": {
        "SIGINT_STATUS", "SIGTERM_STATUS", "Interrupted", "Terminated", "exit_status",
        "handle_interrupts",
    },
    "arkindex_worker.api.session": {"ArkindexSession"},
    "arkindex_worker.api.urls": {
        "for_messages", "hide_queries", "origin", "without_credentials",
    },
    "arkindex_worker.api.shared": {"http_client", "use_for_downloads"},
    "arkindex_worker.generation": {
        "GENERATION_0_4", "GENERATION_0_6", "Generation", "current", "use",
    },
    "arkindex_worker.api.protocol": {"ApiClient"},
    "arkindex_worker.api.validation": {
        "PAGINATION_KEYWORDS", "check_call", "check_parameters", "find_operation",
        "parameter_problems", "unknown_parameters",
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
        "is_item_list", "open_text_file", "read_local_config",
    },
    "arkindex_worker.worker.secrets": {
        "gpg_decrypt", "local_secret_path", "parse_secret", "read_local_secret",
    },
    "arkindex_worker.validation": {
        "ELEMENT_OR_CACHED", "ELEMENT_OR_CACHED_TYPE", "check_element_or_cached",
        "check", "check_confidence", "check_element", "check_int",
        "check_optional_str", "check_polygon", "check_source_filter", "check_str",
        "check_uuid", "item_prefix",
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
        "MetaDataMixin", "ImageMixin", "ProcessMixin", "TaskMixin",
    ]  # fmt: skip
    assert [c.__name__ for c in DatasetWorker.__bases__] == [
        "DatasetMixin", "BaseWorker", "TaskMixin", "CorpusMixin",
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
