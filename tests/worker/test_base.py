"""BaseWorker: environment, command line, configuration, secrets, extras."""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pytest

from arkindex_worker import logger
from arkindex_worker.worker import BaseWorker, ElementsWorker
from arkindex_worker.worker.base import ExtrasDirNotFoundError
from arkindex_worker.worker.process import ProcessMode
from tests.conftest import API_TOKEN, CORPUS_ID, TASK_ID, WORKER_RUN_ID, api_url
from tests.worker.factories import worker_run_payload

WORKER_RUN_URL = api_url(f"process/workers/{WORKER_RUN_ID}/")


@pytest.fixture(autouse=True)
def _reset_logger_level():
    yield
    logger.setLevel(logging.NOTSET)


def records(caplog, name="arkindex_worker"):
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == name]


# --- __init__ and environment ------------------------------------------------


def test_work_dir_defaults_to_xdg_data_home(tmp_path):
    worker = BaseWorker()
    assert worker.work_dir == tmp_path / "data" / "arkindex"
    assert worker.work_dir.is_dir()
    assert worker.task_data_dir == Path("/data")


def test_work_dir_without_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert BaseWorker().work_dir == tmp_path / ".local" / "share" / "arkindex"


def test_work_dir_inside_ponos_task(monkeypatch, tmp_path):
    monkeypatch.setenv("PONOS_DATA", str(tmp_path / "ponos"))
    monkeypatch.setenv("PONOS_TASK", TASK_ID)
    monkeypatch.setenv("ARKINDEX_TASK_CHUNK", "3")
    worker = BaseWorker()
    assert worker.work_dir == tmp_path / "ponos" / "current"
    assert worker.task_data_dir == tmp_path / "ponos"
    assert worker.task_id == TASK_ID
    assert worker.task_chunk == "3"


def test_missing_worker_run_warns(caplog):
    worker = BaseWorker()
    assert worker.worker_run_id is None
    assert records(caplog)[0] == (
        logging.WARNING,
        "Missing ARKINDEX_WORKER_RUN_ID environment variable, worker is in read-only mode",
    )
    assert records(caplog)[1][1].startswith("Worker will use ")


def test_initial_attributes(api_env):
    worker = BaseWorker(support_cache=True)
    assert worker.worker_run_id == WORKER_RUN_ID
    assert worker.process_information is None
    assert worker.user_configuration == {}
    assert worker.model_configuration == {}
    assert worker.support_cache is True
    assert worker.use_cache is False
    assert worker.model_version_id is None
    assert worker.model_details == {}
    assert worker.task_parents == []
    assert worker.config == {} and worker.secrets == {} and worker.worker_details == {}


def test_construction_sends_no_request(api_env, mock_api):
    worker = ElementsWorker()
    assert worker.api_client.document.url.startswith("http://testserver")
    assert len(mock_api.calls) == 0


# --- properties ----------------------------------------------------------------


def test_corpus_id_missing():
    worker = BaseWorker()
    with pytest.raises(
        Exception, match="^Missing ARKINDEX_CORPUS_ID environment variable$"
    ):
        _ = worker.corpus_id


def test_worker_version_id_is_deprecated():
    with pytest.raises(
        DeprecationWarning, match="`worker_version_id` usage is deprecated"
    ):
        _ = BaseWorker().worker_version_id


@pytest.mark.parametrize(
    ("argv", "run_id", "expected"),
    [
        pytest.param([], WORKER_RUN_ID, False, id="worker-run"),
        pytest.param(["--dev"], WORKER_RUN_ID, True, id="dev"),
        pytest.param([], None, True, id="no-worker-run"),
    ],
)
def test_is_read_only(monkeypatch, argv, run_id, expected):
    if run_id:
        monkeypatch.setenv("ARKINDEX_WORKER_RUN_ID", run_id)
    worker = BaseWorker()
    worker.args = worker.parser.parse_args(argv)
    assert worker.is_read_only is expected


def test_process_mode(mock_elements_worker):
    assert mock_elements_worker.process_mode == ProcessMode.Workers
    mock_elements_worker.process_information["mode"] = ProcessMode.Dataset
    assert mock_elements_worker.process_mode == ProcessMode.Dataset
    mock_elements_worker.process_information["mode"] = "unknown"
    with pytest.raises(ValueError):
        _ = mock_elements_worker.process_mode


def test_process_mode_read_only(mock_elements_worker_read_only):
    assert mock_elements_worker_read_only.process_mode is None


# --- command line --------------------------------------------------------------


def test_cli_defaults():
    args = BaseWorker().parser.parse_args([])
    assert vars(args) == {
        "config": None,
        "database": None,
        "verbose": False,
        "dev": False,
        "extras_dir": None,
    }


def test_cli_all_base_arguments(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("a: 1\n")
    args = BaseWorker().parser.parse_args(
        ["-c", str(config), "-d", "db.sqlite", "--debug", "--dev", "--extras-dir", "x"]
    )
    assert args.config.name == str(config)
    args.config.close()
    assert args.database == Path("db.sqlite")
    assert args.verbose is True
    assert args.dev is True
    assert args.extras_dir == Path("x")


def test_elements_worker_cli(tmp_path, monkeypatch):
    elements = tmp_path / "elements.json"
    elements.write_text("[]")
    monkeypatch.setenv("TASK_ELEMENTS", str(elements))
    args = ElementsWorker().parser.parse_args(
        ["--element", "a", "b", "--set", "12341234-1234-1234-1234-123412341234:train"]
    )
    assert args.elements_list.name == str(elements)
    args.elements_list.close()
    assert args.element == ["a", "b"]
    assert [(str(d), s) for d, s in args.set] == [
        ("12341234-1234-1234-1234-123412341234", "train")
    ]
    assert args.consume_worker_activities is False
    assert args.no_worker_activity is False


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--config", "missing.yml"], id="config"),
        pytest.param(["--elements-list", "missing.json"], id="elements-list"),
    ],
)
def test_cli_unreadable_file_is_an_argparse_error(argv, capsys):
    with pytest.raises(SystemExit) as e:
        ElementsWorker().parser.parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"{argv[0]}: can't open 'missing." in err
    assert "No such file or directory" in err
    assert "Traceback" not in err


def test_cli_bad_task_elements_path(monkeypatch, capsys):
    monkeypatch.setenv("TASK_ELEMENTS", "/nonexistent/elements.json")
    with pytest.raises(SystemExit) as e:
        ElementsWorker().parser.parse_args([])
    assert e.value.code == 2
    assert "argument --elements-list" in capsys.readouterr().err


def test_arguments_parsed_in_configure_not_init(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["worker", "--not-an-argument"])
    worker = BaseWorker()
    assert not hasattr(worker, "args")
    with pytest.raises(SystemExit):
        worker.configure()


def test_add_arguments_hook():
    class Worker(ElementsWorker):
        def add_arguments(self):
            self.parser.add_argument("--model")
            super().add_arguments()

    args = Worker().parser.parse_args(["--model", "m", "--element", "x"])
    assert args.model == "m" and args.element == ["x"]


# --- configure_for_developers -------------------------------------------------


def test_configure_dev_without_config(monkeypatch, caplog):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev"])
    monkeypatch.setenv("ARKINDEX_CORPUS_ID", CORPUS_ID)
    monkeypatch.setenv("ARKINDEX_MODEL_VERSION_ID", "mv")
    monkeypatch.setenv("ARKINDEX_MODEL_ID", "m")
    worker = BaseWorker()
    caplog.clear()
    worker.configure()
    assert worker.config == {} and worker.worker_details == {} and worker.secrets == {}
    assert worker.corpus_id == CORPUS_ID
    assert worker.model_version_id == "mv"
    assert worker.model_details == {"id": "m"}
    assert worker.process_information is None
    assert records(caplog) == [
        (logging.WARNING, "Running without any extra configuration")
    ]


def test_configure_dev_with_config_file(monkeypatch, tmp_path, caplog, mock_api):
    config = tmp_path / "config.yml"
    config.write_text("threshold: 0.5\nsecrets: [a/b.json]\n")
    monkeypatch.setattr(sys, "argv", ["worker", "--config", str(config)])
    mock_api.get(api_url("secret/a%2Fb.json"), json={"content": '{"k": 1}'})
    monkeypatch.setenv("ARKINDEX_API_URL", "http://testserver/")
    worker = BaseWorker()
    caplog.clear()
    worker.configure()
    assert worker.config == {"threshold": 0.5, "secrets": ["a/b.json"]}
    assert worker.worker_details == {"name": "Local worker"}
    assert worker.secrets == {"a/b.json": {"k": 1}}
    assert (
        logging.INFO,
        f"Running with local configuration from {config}",
    ) in records(caplog)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("", "should hold a mapping of settings, not NoneType", id="empty"),
        pytest.param(
            "- a\n- b\n", "should hold a mapping of settings, not list", id="list"
        ),
        pytest.param("a: [b\n", "is not valid YAML", id="invalid-yaml"),
    ],
)
def test_configure_dev_bad_config_file(monkeypatch, tmp_path, content, message):
    config = tmp_path / "config.yml"
    config.write_text(content)
    monkeypatch.setattr(sys, "argv", ["worker", "--config", str(config)])
    worker = BaseWorker()
    with pytest.raises(ValueError, match=message) as e:
        worker.configure()
    assert str(config) in str(e.value)


def test_configure_for_developers_requires_read_only(mock_elements_worker):
    with pytest.raises(AssertionError):
        mock_elements_worker.configure_for_developers()


def test_configure_worker_run_requires_worker_run(mock_elements_worker_read_only):
    with pytest.raises(AssertionError):
        mock_elements_worker_read_only.configure_worker_run()


@pytest.mark.parametrize("value", ["1", "0", "false"])
def test_arkindex_debug_turns_debug_on(monkeypatch, value):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev"])
    monkeypatch.setenv("ARKINDEX_DEBUG", value)
    BaseWorker().configure()
    assert logger.level == logging.DEBUG


def test_verbose_turns_debug_on(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["worker", "--dev", "-v"])
    BaseWorker().configure()
    assert logger.level == logging.DEBUG


# --- configure_worker_run ------------------------------------------------------


def test_configure_worker_run(api_env, mock_api, caplog):
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(run_configuration={"a": "b"}))
    worker = BaseWorker()
    caplog.clear()
    worker.configure()
    assert mock_api.calls[0].request.headers["Authorization"] == f"Token {API_TOKEN}"
    assert worker.process_information["id"] is not None
    assert worker.corpus_id == CORPUS_ID
    assert worker.worker_details["name"] == "Fake worker"
    assert worker.config == {"a": "b"}
    assert records(caplog) == [
        (logging.INFO, "Loaded Worker Fake worker @ 123412 from API"),
        (logging.INFO, "Loaded user configuration from WorkerRun"),
        (logging.INFO, "User configuration retrieved"),
    ]


PRECEDENCE_CASES = [
    pytest.param(3, 2, 1, 3, id="worker-run-wins"),
    pytest.param(None, 2, 1, 2, id="model-over-default"),
    pytest.param(None, None, 1, 1, id="default-over-version"),
    pytest.param(None, None, None, 0, id="version-only"),
]


@pytest.mark.parametrize(("run", "model", "default", "expected"), PRECEDENCE_CASES)
def test_configuration_precedence(api_env, mock_api, run, model, default, expected):
    user_configuration = {}
    if default is not None:
        user_configuration["parameter"] = {"type": "int", "default": default}
    model_version = None
    if model is not None:
        model_version = {
            "id": "mv",
            "configuration": {"parameter": model},
            "model": {"id": "m", "name": "Model"},
        }
    mock_api.get(
        WORKER_RUN_URL,
        json=worker_run_payload(
            configuration={"parameter": 0},
            user_configuration=user_configuration,
            run_configuration={"parameter": run} if run is not None else None,
            model_version=model_version,
        ),
    )
    worker = BaseWorker()
    worker.configure()
    assert worker.config["parameter"] == expected
    if model is not None:
        assert worker.model_version_id == "mv"
        assert worker.model_details == {"id": "m", "name": "Model"}


def test_user_configuration_debug(api_env, mock_api):
    mock_api.get(
        WORKER_RUN_URL, json=worker_run_payload(run_configuration={"debug": True})
    )
    BaseWorker().configure()
    assert logger.level == logging.DEBUG


def test_configure_worker_run_api_error(api_env, mock_api):
    from arkindex_worker.api import ErrorResponse

    mock_api.get(WORKER_RUN_URL, status=404, json={"detail": "Not found."})
    with pytest.raises(ErrorResponse) as e:
        BaseWorker().configure()
    assert e.value.status_code == 404


# --- configure_cache -------------------------------------------------------------


def test_configure_cache_missing_database(api_env, mock_api, monkeypatch, tmp_path):
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload())
    missing = tmp_path / "missing.sqlite"
    monkeypatch.setattr(sys, "argv", ["worker", "--database", str(missing)])
    with pytest.raises(AssertionError, match=f"^Database in {missing} does not exist$"):
        BaseWorker(support_cache=True).configure()


def test_configure_cache_disabled_without_support(
    api_env, mock_api, cache_path, monkeypatch
):
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload())
    monkeypatch.setattr(sys, "argv", ["worker", "--database", str(cache_path)])
    worker = BaseWorker(support_cache=False)
    worker.configure()
    assert worker.use_cache is False


def test_configure_cache_with_database(api_env, mock_api, cache_path, monkeypatch):
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload())
    monkeypatch.setattr(sys, "argv", ["worker", "--database", str(cache_path)])
    worker = BaseWorker(support_cache=True)
    worker.configure()
    assert worker.use_cache is True
    assert worker.cache_path == cache_path
    assert len(mock_api.calls) == 1


def test_configure_cache_from_parent_tasks(api_env, mock_api, monkeypatch, tmp_path):
    from arkindex_worker.cache import (
        CachedElement,
        create_tables,
        create_version_table,
        init_cache_db,
    )

    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    monkeypatch.setenv("PONOS_TASK", TASK_ID)
    parent = tmp_path / "parent1"
    parent.mkdir()
    init_cache_db(parent / "db.sqlite")
    create_version_table()
    create_tables()
    CachedElement.create(id="12341234-1234-1234-1234-123412341234", type="page")
    (tmp_path / TASK_ID).mkdir()

    mock_api.get(WORKER_RUN_URL, json=worker_run_payload())
    mock_api.get(api_url(f"task/{TASK_ID}/"), json={"parents": ["parent1", "parent2"]})
    worker = BaseWorker(support_cache=True)
    worker.configure()
    assert worker.task_parents == ["parent1", "parent2"]
    assert worker.use_cache is True
    assert worker.cache_path == tmp_path / TASK_ID / "db.sqlite"
    assert [str(e.id) for e in CachedElement.select()] == [
        "12341234-1234-1234-1234-123412341234"
    ]


def test_configure_cache_missing_task_dir(api_env, mock_api, monkeypatch, tmp_path):
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    monkeypatch.setenv("PONOS_TASK", TASK_ID)
    (tmp_path / "parent1").mkdir()
    (tmp_path / "parent1" / "db.sqlite").write_bytes(b"")
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload())
    mock_api.get(api_url(f"task/{TASK_ID}/"), json={"parents": ["parent1"]})
    with pytest.raises(
        AssertionError, match=f"^Missing task cache in {tmp_path / TASK_ID}$"
    ):
        BaseWorker(support_cache=True).configure()


def test_configure_cache_no_parent_database(api_env, mock_api, monkeypatch, tmp_path):
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    monkeypatch.setenv("PONOS_TASK", TASK_ID)
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload())
    mock_api.get(api_url(f"task/{TASK_ID}/"), json={"parents": ["parent1"]})
    worker = BaseWorker(support_cache=True)
    worker.configure()
    assert worker.use_cache is False


# --- secrets ----------------------------------------------------------------------


@pytest.fixture
def fake_gpg(tmp_path, monkeypatch):
    """A ``gpg`` command on PATH that prints the file's content (or fails)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "gpg"
    script.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        'case "$last" in *broken*) echo "decryption failed: No secret key" >&2; exit 2;; esac\n'
        'cat "$last"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return script


def local_secret(tmp_path, name: str, content: str) -> Path:
    path = tmp_path / "config" / "arkindex" / "secrets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        pytest.param(
            "path/to/file.json",
            '{"key": "value", "number": 42}',
            {"key": "value", "number": 42},
            id="json",
        ),
        pytest.param("a.YAML", "key: value\n", {"key": "value"}, id="yaml"),
        pytest.param("a.txt", "plain", "plain", id="text"),
    ],
)
def test_load_secret_from_api(
    mock_elements_worker, mock_api, caplog, name, content, expected
):
    mock_api.get(
        api_url(f"secret/{name.replace('/', '%2F')}"), json={"content": content}
    )
    assert mock_elements_worker.load_secret(Path(name)) == expected
    assert ("root", logging.INFO, f"Loaded API secret {name}") in caplog.record_tuples


def test_load_secret_unparsable_json(mock_elements_worker, mock_api, caplog):
    mock_api.get(api_url("secret/a.json"), json={"content": "{not json"})
    assert mock_elements_worker.load_secret(Path("a.json")) == "{not json"
    assert any(
        m.startswith("Failed to parse secret a.json: ") for _, m in records(caplog)
    )


def test_load_secret_missing_everywhere(mock_elements_worker, mock_api, caplog):
    mock_api.get(api_url("secret/a.json"), status=404, json={"detail": "Not found."})
    with pytest.raises(
        Exception, match="^Secret a.json is not available on the API nor locally$"
    ):
        mock_elements_worker.load_secret(Path("a.json"))
    assert (
        logging.WARNING,
        "Secret a.json not available: {'detail': 'Not found.'}",
    ) in records(caplog)


def test_load_local_secret_replaces_api(
    mock_elements_worker, mock_api, tmp_path, fake_gpg, caplog
):
    mock_api.get(api_url("secret/a.json"), json={"content": '{"from": "api"}'})
    local_secret(tmp_path, "a.json", '{"from": "disk"}')
    assert mock_elements_worker.load_secret(Path("a.json")) == {"from": "disk"}
    assert len(mock_api.calls) == 1
    assert ("root", logging.INFO, "Loaded local secret a.json") in caplog.record_tuples


def test_load_local_secret_gpg_failure(
    mock_elements_worker, mock_api, tmp_path, fake_gpg, caplog
):
    mock_api.get(api_url("secret/broken.txt"), status=404)
    path = local_secret(tmp_path, "broken.txt", "x")
    with pytest.raises(Exception, match="not available on the API nor locally"):
        mock_elements_worker.load_secret(Path("broken.txt"))
    (message,) = [m for level, m in records(caplog) if level == logging.ERROR]
    assert message.startswith(
        f"Local secret broken.txt is not available as {path}: GPG error:"
    )
    assert "No secret key" in message


def test_load_local_secret_without_gpg(
    mock_elements_worker, mock_api, tmp_path, monkeypatch, caplog
):
    mock_api.get(api_url("secret/a.txt"), status=404)
    local_secret(tmp_path, "a.txt", "x")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(Exception, match="not available on the API nor locally"):
        mock_elements_worker.load_secret(Path("a.txt"))
    assert any(
        "the gpg command is required to read local secrets" in m
        for _, m in records(caplog)
    )


def test_secret_content_never_logged(mock_elements_worker, mock_api, caplog):
    caplog.set_level(logging.DEBUG)
    mock_api.get(api_url("secret/a.txt"), json={"content": "s3cr3t-value"})
    mock_elements_worker.load_secret(Path("a.txt"))
    assert "s3cr3t-value" not in caplog.text


@pytest.mark.parametrize("config_home", ["", None], ids=["empty", "unset"])
def test_local_secret_path_default(monkeypatch, config_home):
    from arkindex_worker.worker.secrets import local_secret_path

    if config_home is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", config_home)
    assert (
        local_secret_path("a/b.json")
        == Path("~/.config/arkindex/secrets/a/b.json").expanduser()
    )


def test_read_local_secret_absent(tmp_path):
    from arkindex_worker.worker.secrets import read_local_secret

    assert read_local_secret("nowhere.txt") is None


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({"configuration": [{"key": "a", "value": 1}]}, True, id="items"),
        pytest.param({"configuration": []}, True, id="no-item"),
        pytest.param({"configuration": {"a": 1}}, False, id="mapping"),
        pytest.param({"configuration": [{"value": 1}]}, False, id="keyless"),
        pytest.param({"a": 1}, False, id="plain"),
    ],
)
def test_is_item_list(config, expected):
    from arkindex_worker.worker.configuration import is_item_list

    assert is_item_list(config) is expected


# --- extras and parent files ---------------------------------------------------------


def test_extras_dir_inside_task(monkeypatch, tmp_path):
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    monkeypatch.setenv("PONOS_TASK", TASK_ID)
    worker = BaseWorker()
    assert worker.find_extras_directory() == tmp_path / "current"
    (tmp_path / "extra_files").mkdir()
    assert worker.find_extras_directory() == tmp_path / "extra_files"


def test_extras_dir_model_dir_first(monkeypatch, tmp_path):
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    monkeypatch.setenv("PONOS_TASK", TASK_ID)
    monkeypatch.setenv("ARKINDEX_MODEL_DIR", str(tmp_path / "model"))
    (tmp_path / "model").mkdir()
    (tmp_path / "extra_files").mkdir()
    assert BaseWorker().find_extras_directory() == tmp_path / "model"


def test_extras_dir_local(tmp_path):
    worker = BaseWorker()
    worker.args = worker.parser.parse_args(["--extras-dir", str(tmp_path)])
    assert worker.find_extras_directory() == tmp_path
    worker.config = {"extras_dir": None}
    with pytest.raises(
        ExtrasDirNotFoundError,
        match="No path to the directory for extra files was provided",
    ):
        worker.find_extras_directory()
    worker.config = {"extras_dir": str(tmp_path / "missing")}
    with pytest.raises(
        ExtrasDirNotFoundError,
        match=f"^The path {tmp_path / 'missing'} does not link to any directory$",
    ):
        worker.find_extras_directory()


def test_find_parents_file_paths(monkeypatch, tmp_path):
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    monkeypatch.setenv("ARKINDEX_TASK_CHUNK", "42")
    for parent, name in [
        ("p1", "db.sqlite"),
        ("p1", "db_42.sqlite"),
        ("p2", "db_42.sqlite"),
        ("p3", "other"),
    ]:
        (tmp_path / parent).mkdir(exist_ok=True)
        (tmp_path / parent / name).write_text("")
    (tmp_path / "p3" / "db.sqlite").mkdir()  # a directory is not a file
    worker = BaseWorker()
    worker.task_parents = ["p1", "p2", "p3", "p4"]
    assert worker.find_parents_file_paths("db.sqlite") == [
        tmp_path / "p1" / "db.sqlite",
        tmp_path / "p1" / "db_42.sqlite",
        tmp_path / "p2" / "db_42.sqlite",
    ]


def test_extract_parent_archives(monkeypatch, tmp_path):
    from arkindex_worker.utils import create_tar_zst_archive

    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    for parent, content in [("p1", "first"), ("p2", "second")]:
        source = tmp_path / f"src-{parent}"
        (source / "sub").mkdir(parents=True)
        (source / "sub" / "file.txt").write_text(content)
        (source / f"only-{parent}.txt").write_text(parent)
        (tmp_path / parent).mkdir()
        create_tar_zst_archive(source, tmp_path / parent / "arch.tar.zst")
    worker = BaseWorker()
    worker.task_parents = ["p1", "p2"]
    dest = tmp_path / "dest"
    worker.extract_parent_archives(Path("arch.tar.zst"), dest)
    assert (dest / "sub" / "file.txt").read_text() == "second"
    assert (dest / "only-p1.txt").read_text() == "p1"
    assert (dest / "only-p2.txt").read_text() == "p2"
