"""The exception tree of `arkindex_worker.errors`, exit statuses and logging set-up."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import requests

import arkindex_worker
from arkindex_worker import errors
from arkindex_worker.api import ArkindexClient
from arkindex_worker.api.errors import unconfirmed_write
from arkindex_worker.cli import describe_fatal_error, run_worker
from arkindex_worker.errors import (
    ArchiveError,
    ArkindexWorkerBaseException,
    ArkindexWorkerError,
    EveryItemFailed,
    IncompletePaginationError,
    Interrupted,
    MissingCorpusError,
    NothingToProcess,
    RunFailed,
    SecretUnavailableError,
    Terminated,
    UnconfirmedWriteError,
    WorkerExit,
    exit_status,
)
from arkindex_worker.worker.report import report
from tests.conftest import API_TOKEN, BASE_URL, PROCESS_ID, api_url

PACKAGE = Path(arkindex_worker.__file__).parent

CLASSES = [
    getattr(errors, name)
    for name in errors.__all__
    if inspect.isclass(getattr(errors, name))
]

# The classes that stop a run rather than report an error: not `Exception`s
NOT_EXCEPTIONS = {
    WorkerExit,
    RunFailed,
    NothingToProcess,
    EveryItemFailed,
    errors.TooManyFailures,
    errors.AuthenticationFailed,
    errors.ServerUnreachable,
    errors.ConfigurationFailed,
    errors.DatabaseFull,
    Interrupted,
    Terminated,
}

EXIT_CODES = {
    WorkerExit: 1,
    RunFailed: 1,
    NothingToProcess: 1,
    EveryItemFailed: 1,
    errors.TooManyFailures: 1,
    errors.AuthenticationFailed: 1,
    errors.ServerUnreachable: 1,
    errors.DatabaseFull: 1,
    Interrupted: 130,
    Terminated: 143,
}

# Bases that code written for upstream (or for earlier versions) catches
COMPATIBILITY_BASES = {
    "ArkindexError": (errors.ErrorResponse,),
    "ArkindexServerError": (errors.ArkindexError,),
    "ArkindexClientError": (errors.ArkindexError,),
    "ArkindexValidationError": (errors.ArkindexClientError,),
    "ArkindexConflictError": (errors.ArkindexError,),
    "UnexpectedContentError": (ValueError,),
    "UnconfirmedWriteError": (requests.RequestException,),
    "RedirectedWriteError": (requests.RequestException,),
    "UnknownCountError": (TypeError,),
    "CacheDatabaseError": (AssertionError,),
    "OfflineUnavailableError": (NotImplementedError,),
    "UnsafeArchiveError": (ArchiveError,),
    "UnsafePathError": (ValueError,),
    "MissingElementType": (errors.MissingTypeError,),
    "ExportNotFinishedError": (AssertionError,),
    "FailedExportError": (AssertionError,),
    "NoExportURLError": (AssertionError,),
    "WorkerExit": (SystemExit,),
    "RunFailed": (WorkerExit, SystemExit),
    "NothingToProcess": (RunFailed, SystemExit),
    "EveryItemFailed": (RunFailed, SystemExit),
    "TooManyFailures": (RunFailed, SystemExit),
    "AuthenticationFailed": (RunFailed, SystemExit),
    "ServerUnreachable": (RunFailed, SystemExit),
    "DatabaseFull": (RunFailed, SystemExit),
    "OfflineWriteRejected": (errors.ErrorResponse,),
    "Interrupted": (SystemExit, KeyboardInterrupt),
    "Terminated": (KeyboardInterrupt,),
}

# Where each class was defined before the tree: each must still be importable there
OLD_PATHS = {
    "arkindex_worker.api": [
        "ErrorResponse", "ArkindexError", "ArkindexServerError",
        "ArkindexClientError", "ArkindexValidationError", "ArkindexConflictError",
        "ClientError", "SchemaError", "UnexpectedContentError",
        "UnconfirmedWriteError", "RedirectedWriteError",
    ],
    "arkindex_worker.api.errors": [
        "ErrorResponse", "ArkindexError", "ArkindexServerError",
        "ArkindexClientError", "ArkindexValidationError", "ArkindexConflictError",
        "ClientError", "SchemaError", "UnexpectedContentError",
        "UnconfirmedWriteError", "RedirectedWriteError",
    ],
    "arkindex_worker.api.pagination": ["UnknownCountError"],
    "arkindex_worker.cache": ["CacheDatabaseError"],
    "arkindex_worker.offline": ["OfflineUnavailableError"],
    "arkindex_worker.utils": ["UnsafeArchiveError"],
    "arkindex_worker.worker": ["ErrorResponse", "MissingDatasetArchive"],
    "arkindex_worker.worker.dataset": ["MissingDatasetArchive"],
    "arkindex_worker.worker.element": ["MissingTypeError", "MissingElementType"],
    "arkindex_worker.worker.entity": ["MissingEntityType"],
    "arkindex_worker.worker.base": ["ExtrasDirNotFoundError"],
    "arkindex_worker.worker.corpus": [
        "ExportNotFinishedError", "FailedExportError", "NoExportURLError",
    ],
    "arkindex_worker.interrupts": [
        "Interrupted", "Terminated", "exit_status", "SIGINT_STATUS", "SIGTERM_STATUS",
    ],
}  # fmt: skip


# --- the tree --------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_class_is_in_the_tree(cls):
    assert issubclass(cls, ArkindexWorkerBaseException)
    assert isinstance(cls.exit_code, int)
    assert (cls.__doc__ or "").strip()
    if cls is ArkindexWorkerBaseException:
        return
    if cls in NOT_EXCEPTIONS:
        assert not issubclass(cls, Exception)
    else:
        assert issubclass(cls, ArkindexWorkerError)
        assert issubclass(cls, Exception)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_class_is_drawn_in_the_docstring(cls):
    assert f" {cls.__name__} " in errors.__doc__


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_exit_codes(cls):
    assert cls.exit_code == EXIT_CODES.get(cls, 1)


@pytest.mark.parametrize(
    ("name", "bases"), COMPATIBILITY_BASES.items(), ids=list(COMPATIBILITY_BASES)
)
def test_compatibility_bases(name, bases):
    cls = getattr(errors, name)
    for base in bases:
        assert issubclass(cls, base), base


def test_unconfirmed_write_classes_join_both_trees():
    error = unconfirmed_write(requests.ReadTimeout("Read timed out."), "POST", "Op")
    assert isinstance(error, UnconfirmedWriteError)
    assert isinstance(error, requests.ReadTimeout)
    assert isinstance(error, ArkindexWorkerError)
    assert type(error).__name__ == "UnconfirmedReadTimeout"
    assert type(error).__module__ == "arkindex_worker.errors"


@pytest.mark.parametrize(
    ("module_name", "name"),
    [(module, name) for module, names in OLD_PATHS.items() for name in names],
)
def test_old_import_paths(module_name, name):
    module = importlib.import_module(module_name)
    assert getattr(module, name) is getattr(errors, name)
    assert name in module.__all__


def test_every_exception_class_is_defined_in_errors():
    elsewhere = set()
    for info in pkgutil.walk_packages(arkindex_worker.__path__, "arkindex_worker."):
        for value in vars(importlib.import_module(info.name)).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("arkindex_worker")
                and value.__module__ != "arkindex_worker.errors"
            ):
                elsewhere.add(f"{value.__module__}.{value.__qualname__}")
    assert elsewhere == set()
    assert {cls.__module__ for cls in CLASSES} == {"arkindex_worker.errors"}


def test_errors_module_imports_nothing_from_the_package():
    tree = ast.parse((PACKAGE / "errors.py").read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("arkindex_worker")]


# --- exits of a run ----------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [WorkerExit, RunFailed, NothingToProcess, EveryItemFailed]
)
def test_run_outcomes_are_system_exits_with_their_code(cls):
    with pytest.raises(SystemExit) as e:
        raise cls()
    assert e.value.code == 1
    assert cls(3).code == 3


def test_interrupted_keeps_its_status():
    assert Interrupted().code == 130
    assert Interrupted(143).code == 143
    assert isinstance(Interrupted(143), KeyboardInterrupt)


def test_except_exception_does_not_catch_the_end_of_a_run():
    with pytest.raises(EveryItemFailed):
        try:
            raise EveryItemFailed()
        except Exception:  # pragma: no cover - must not happen
            pytest.fail("caught by except Exception")


@pytest.mark.parametrize(
    ("statement", "status"),
    [
        pytest.param("raise EveryItemFailed()", 1, id="every-item-failed"),
        pytest.param("raise NothingToProcess()", 1, id="nothing-to-process"),
        pytest.param("raise Interrupted(143)", 143, id="interrupted"),
    ],
)
def test_raised_outside_run_worker_exits_quietly(statement, status):
    code = f"from arkindex_worker.errors import *; {statement}"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (status, "")


def test_every_item_failed(caplog):
    with pytest.raises(EveryItemFailed) as e:
        report(2, 2, "element")
    assert e.value.code == 1
    report(2, 1, "element")  # some failed: the run still succeeds


def test_no_element_to_process(mock_elements_worker, monkeypatch):
    monkeypatch.setattr(mock_elements_worker, "configure", lambda: None)
    monkeypatch.setattr(mock_elements_worker, "get_elements", list)
    with pytest.raises(NothingToProcess) as e:
        mock_elements_worker.run()
    assert e.value.code == 1


def test_no_set_to_process(mock_dataset_worker, monkeypatch):
    monkeypatch.setattr(mock_dataset_worker, "configure", lambda: None)
    monkeypatch.setattr(mock_dataset_worker, "list_sets", lambda: iter([]))
    with pytest.raises(NothingToProcess) as e:
        mock_dataset_worker.run()
    assert e.value.code == 1


# --- the former bare exceptions ----------------------------------------------------


def test_missing_corpus():
    from arkindex_worker.worker.base import BaseWorker

    worker = BaseWorker()
    with pytest.raises(
        MissingCorpusError, match="^Missing ARKINDEX_CORPUS_ID environment variable$"
    ):
        _ = worker.corpus_id


def test_secret_unavailable(mock_elements_worker, mock_api):
    mock_api.get(api_url("secret/a.json"), status=404, json={"detail": "Not found."})
    with pytest.raises(
        SecretUnavailableError,
        match="^Secret a.json is not available on the API nor locally$",
    ):
        mock_elements_worker.load_secret(Path("a.json"))


def test_incomplete_pagination(mock_api):
    mock_api.get(api_url(f"process/{PROCESS_ID}/sets/"), status=418, json={})
    client = ArkindexClient(token=API_TOKEN, base_url=BASE_URL)
    with pytest.raises(
        IncompletePaginationError,
        match="^Stopping pagination as data will be incomplete$",
    ):
        list(client.paginate("ListProcessSets", id=PROCESS_ID))


def test_archive_read_error(tmp_path):
    from arkindex_worker.utils import extract_tar_archive

    archive = tmp_path / "broken.tar"
    archive.write_bytes(b"not a tar archive" * 100)
    with pytest.raises(
        ArchiveError, match=r"^Couldn't handle the decompressed Tar archive: "
    ):
        extract_tar_archive(archive, tmp_path / "out")


def test_archive_create_error(tmp_path, monkeypatch):
    from arkindex_worker import utils

    def broken(*args, **kwargs):
        raise tarfile.TarError("boom")

    monkeypatch.setattr(utils.tarfile, "open", broken)
    with pytest.raises(ArchiveError, match="^Couldn't create Tar archive: boom$"):
        utils.create_tar_archive(tmp_path)


def test_archive_zstd_errors(tmp_path, monkeypatch):
    zstandard = pytest.importorskip("zstandard")
    from arkindex_worker.utils import decompress_zst_archive, zstd_compress

    source = tmp_path / "broken.zst"
    source.write_bytes(b"not zstd at all")
    with pytest.raises(ArchiveError, match="^Couldn't uncompressed archive: "):
        decompress_zst_archive(source)

    class Compressor:
        def __init__(self, level):
            pass

        def copy_stream(self, *args, **kwargs):
            raise zstandard.ZstdError("boom")

    monkeypatch.setattr(zstandard, "ZstdCompressor", Compressor)
    with pytest.raises(ArchiveError, match="^Couldn't compress archive: boom$"):
        zstd_compress(source, tmp_path / "out.zst")


@pytest.mark.parametrize(
    "error",
    [
        MissingCorpusError("Missing ARKINDEX_CORPUS_ID environment variable"),
        SecretUnavailableError("Secret a is not available on the API nor locally"),
        IncompletePaginationError("Stopping pagination as data will be incomplete"),
        ArchiveError("Couldn't create Tar archive: boom"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_former_bare_exceptions_keep_their_fatal_line(error):
    assert describe_fatal_error(error) == str(error)


def test_no_bare_exception_nor_exit_left_in_the_package():
    raised, exits = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(PACKAGE))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name)
                and node.exc.func.id == "Exception"
            ):
                raised.append(where)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "exit"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "sys"
            ):
                exits.append(where)
    assert raised == []
    assert sorted(set(exits)) == ["cli.py", "new.py"]


# --- exit_status -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        pytest.param(None, 0, id="success"),
        pytest.param(SystemExit(), 0, id="exit-none"),
        pytest.param(SystemExit(0), 0, id="exit-0"),
        pytest.param(SystemExit(2), 2, id="argparse"),
        pytest.param(SystemExit("message"), 1, id="exit-message"),
        pytest.param(EveryItemFailed(), 1, id="every-item-failed"),
        pytest.param(NothingToProcess(), 1, id="nothing-to-process"),
        pytest.param(Interrupted(130), 130, id="interrupted-sigint"),
        pytest.param(Interrupted(143), 143, id="interrupted-sigterm"),
        pytest.param(KeyboardInterrupt(), 130, id="keyboard-interrupt"),
        pytest.param(Terminated(), 143, id="terminated"),
        pytest.param(MissingCorpusError("x"), 1, id="ours"),
        pytest.param(errors.ErrorResponse("404", 404, None), 1, id="api"),
        pytest.param(ValueError("x"), 1, id="other"),
        pytest.param(Exception("x"), 1, id="bare"),
        pytest.param(GeneratorExit(), 1, id="base-exception"),
    ],
)
def test_exit_status(error, status):
    assert exit_status(error) == status


def test_one_exit_status_function():
    from arkindex_worker import interrupts

    assert interrupts.exit_status is exit_status


class _Worker:
    def __init__(self, error):
        self.error = error

    def run(self):
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        EveryItemFailed(),
        NothingToProcess(),
        Interrupted(143),
        SystemExit(2),
        KeyboardInterrupt(),
        ValueError("bad"),
        MissingCorpusError("Missing ARKINDEX_CORPUS_ID environment variable"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_run_worker_exits_with_exit_status(error):
    with pytest.raises(SystemExit) as e:
        run_worker(_Worker, error)
    assert e.value.code == exit_status(error)


# --- logging set-up ------------------------------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )


def test_import_leaves_logging_alone():
    done = _python(
        "import arkindex_worker, arkindex_worker.worker, arkindex_worker.cli, "
        "arkindex_worker.errors, logging; "
        "root = logging.getLogger(); print(root.handlers, root.level)"
    )
    assert done.stdout.strip() == "[] 30"  # no handler, WARNING: Python's defaults


def test_import_then_logging_is_the_applications():
    done = _python(
        "import arkindex_worker, logging; "
        "logging.basicConfig(format='APP %(message)s'); "
        "logging.getLogger('x').warning('hello')"
    )
    assert done.stderr == "APP hello\n"


LINE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "


def test_building_a_worker_configures_logging():
    done = _python(
        "from arkindex_worker.worker import ElementsWorker; ElementsWorker()"
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].split(" ", 2)[2] == (
        "WARNING/arkindex_worker: Missing ARKINDEX_WORKER_RUN_ID environment "
        "variable, worker is in read-only mode"
    )
    assert (
        lines[1].split(" ", 2)[2].startswith("INFO/arkindex_worker: Worker will use ")
    )
    assert all(re.match(LINE, line) for line in lines)


def test_building_a_worker_keeps_the_applications_logging():
    done = _python(
        "import logging; logging.basicConfig(format='APP %(levelname)s %(message)s'); "
        "from arkindex_worker.worker import ElementsWorker; ElementsWorker()"
    )
    # The application's format and level (WARNING): no INFO line
    assert done.stderr == (
        "APP WARNING Missing ARKINDEX_WORKER_RUN_ID environment variable, worker is "
        "in read-only mode\n"
    )


def test_run_worker_configures_logging():
    done = _python(
        "from arkindex_worker.cli import run_worker\n"
        "def broken():\n"
        "    raise ValueError('cannot build')\n"
        "run_worker(broken)\n"
    )
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.split(" ", 2)[2] == (
        "ERROR/arkindex_worker: Worker stopped: ValueError: cannot build"
    )
