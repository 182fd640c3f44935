"""`BaseWorker` under generation 0.6 (spec 15 §2): configuration, secrets, cache, tasks."""

from __future__ import annotations

import json
import logging
import warnings

import pytest

from arkindex_worker import logger as sdk_logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.errors import MissingCorpusError
from arkindex_worker.testing import MockApiClient
from arkindex_worker.worker import BaseWorker, DatasetWorker, ElementsWorker
from tests.conftest import TASK_ID, WORKER_RUN_ID, api_url
from tests.generation.conftest import (
    CONFIGURATION_URL,
    WORKER_RUN_URL,
    current_worker_run,
    item,
    records,
    requests_made,
)
from tests.worker.factories import worker_run_payload

LOADED = (logging.INFO, "Loaded Worker Fake worker @ 123412 from API")
USING = (logging.INFO, f"Using worker run configuration {WORKER_RUN_ID}")
MODEL_VERSION = {
    "id": "12341234-1234-1234-1234-123412341234",
    "configuration": {"model_param": 1, "param_2": "model"},
    "model": {"id": "43214321-4321-4321-4321-432143214321", "name": "Model"},
}
REFERENCE_ITEMS = [
    item("integer_parameter", 0),
    item("param_1", "/some/path/file.pth"),
    item("param_2", 12),
    item("param_3", "Animula vagula blandula"),
    item("param_5", True),
]
SECRET_UUID = "471b9e64-29af-48dc-8bda-1a64a2da0c12"
SECRET_ITEMS = [item("some_key", "test"), item("a_secret", SECRET_UUID, secret=True)]


class Worker06(BaseWorker):
    compat = "0.6"


@pytest.fixture(autouse=True)
def _restore_logger_level():
    level = sdk_logger.level
    yield
    sdk_logger.setLevel(level)


@pytest.fixture
def configured(api_env, run_configuration):
    """A generation-0.6 worker configured from a worker run and its items."""

    def build(items, payload=None, cls=Worker06, **kwargs):
        run_configuration(payload or current_worker_run(), items)
        worker = cls(**kwargs)
        worker.configure()
        return worker

    return build


@pytest.fixture
def mocked(api_env, monkeypatch):
    """Workers built now use a (non-strict) MockApiClient, as upstream's suites do."""
    mock = MockApiClient()
    monkeypatch.setattr(
        BaseWorker, "setup_api_client", lambda self: setattr(self, "api_client", mock)
    )
    return mock


# --- §2.2 / §2.3 configure from a worker run --------------------------------------


def test_reference_items(configured, mock_api, caplog):
    worker = configured(REFERENCE_ITEMS)

    assert worker.config == {
        "integer_parameter": 0,
        "param_1": "/some/path/file.pth",
        "param_2": 12,
        "param_3": "Animula vagula blandula",
        "param_5": True,
    }
    with pytest.deprecated_call():
        assert worker.user_configuration is worker.config
    assert worker.model_configuration == {}
    assert worker.secrets == {}
    assert requests_made(mock_api) == [
        ("GET", WORKER_RUN_URL),
        ("GET", CONFIGURATION_URL),
    ]


def test_one_item_exact_records(configured, caplog):
    caplog.clear()
    worker = configured([item("someKey", "someValue")])

    assert worker.config == {"someKey": "someValue"}
    assert records(caplog, logging.INFO)[-2:] == [LOADED, USING]
    assert (logging.INFO, "User configuration retrieved") not in records(caplog)


def test_empty_item_list(configured, caplog):
    worker = configured([])

    assert worker.config == {}
    assert records(caplog, logging.INFO)[-2:] == [LOADED, USING]


def test_model_version_stays_in_model_configuration(configured, caplog):
    payload = current_worker_run()
    payload["model_version"] = MODEL_VERSION
    caplog.clear()

    worker = configured([item("param_2", 12)], payload)

    assert worker.config == {"param_2": 12}
    assert worker.model_configuration == {"model_param": 1, "param_2": "model"}
    assert worker.model_version_id == MODEL_VERSION["id"]
    assert worker.model_details == MODEL_VERSION["model"]
    assert records(caplog, logging.INFO)[-3:] == [
        LOADED,
        (logging.INFO, "Loaded model version configuration from WorkerRun"),
        USING,
    ]
    messages = [m for _, m in records(caplog)]
    assert "Model version configuration retrieved" not in messages
    assert "User configuration retrieved" not in messages


def test_later_duplicates_win(configured):
    worker = configured([item("a", 1), item("b", 2), item("a", 3)])

    assert worker.config == {"a": 3, "b": 2}


def test_dotted_keys_stay_flat(configured):
    worker = configured([item("overlap.max_overlap_count", 3)])

    assert worker.config == {"overlap.max_overlap_count": 3}


def test_configure_resets_details_config_and_secrets(configured, run_configuration):
    worker = configured([item("a", 1)])
    worker.secrets["stale"] = "x"
    run_configuration(items=[item("b", 2)])

    worker.configure()

    assert worker.config == {"b": 2}
    assert worker.secrets == {}


def test_configuration_error_propagates(api_env, mock_api):
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, status=400, json={"detail": "old format"})
    worker = Worker06()

    with pytest.raises(ErrorResponse) as error:
        worker.configure()

    assert error.value.status_code == 400
    assert error.value.content == {"detail": "old format"}


@pytest.mark.parametrize(
    ("value", "level"),
    [pytest.param(True, logging.DEBUG, id="true"), pytest.param(False, 0, id="false")],
)
def test_debug_item(configured, caplog, value, level):
    sdk_logger.setLevel(logging.NOTSET)
    caplog.set_level(logging.DEBUG)

    worker = configured([item("debug", value)])

    assert sdk_logger.level == level
    with pytest.deprecated_call():
        assert worker.user_configuration == {"debug": value}
    debug_lines = [m for _, m in records(caplog) if m.startswith("Debug output")]
    assert debug_lines == (["Debug output enabled from worker run"] if value else [])


def test_debug_from_environment(configured, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ARKINDEX_DEBUG", "1")

    configured([])

    assert (logging.DEBUG, "Debug output enabled from environment") in records(caplog)


def test_configure_worker_run_alias():
    assert BaseWorker._configure_worker_run is BaseWorker.configure_worker_run
    assert BaseWorker._configure_for_developers is BaseWorker.configure_for_developers


# --- §2.4 read-only ----------------------------------------------------------------


def test_read_only_old_style_file(argv, tmp_path, caplog):
    config = tmp_path / "config.yml"
    config.write_text("localKey: abcdef123\n")
    argv("--dev", "--config", str(config))
    worker = Worker06()
    caplog.clear()

    worker.configure()

    assert worker.config == {"localKey": "abcdef123"}
    assert worker.worker_details == {"name": "Local worker"}
    assert records(caplog, logging.INFO) == [
        (
            logging.WARNING,
            "Using old-style configuration is deprecated, you should use "
            "modern-style configuration",
        ),
        (logging.INFO, f"Running with local configuration from {config}"),
    ]


def test_read_only_item_file(argv, tmp_path, caplog):
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "configuration": [
                    item("someKey", "someValue"),
                    item("anotherOne", 42),
                ]
            }
        )
    )
    argv("--dev", "--config", str(config))
    worker = Worker06()
    caplog.clear()

    worker.configure()

    assert worker.config == {"someKey": "someValue", "anotherOne": 42}
    assert records(caplog, logging.INFO) == [
        (logging.INFO, f"Running with local configuration from {config}")
    ]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("configuration:\n  a: 1\n", id="mapping"),
        pytest.param("configuration: [1, 2]\n", id="not-items"),
        pytest.param("configuration:\n  - value: 1\n", id="no-key"),
    ],
)
def test_read_only_configuration_key_must_hold_items(argv, tmp_path, content):
    config = tmp_path / "config.yml"
    config.write_text(content)
    argv("--dev", "--config", str(config))

    with pytest.raises(ValueError) as error:
        Worker06().configure()

    assert str(error.value) == (
        f"Configuration file {config} should hold a list of configuration items "
        "(mappings with a key) under `configuration`"
    )


def test_read_only_without_file(argv, caplog):
    argv("--dev")
    worker = Worker06()
    caplog.clear()

    worker.configure()

    assert worker.config == {}
    with pytest.deprecated_call():
        assert worker.user_configuration == {}
    assert records(caplog, logging.INFO) == [
        (logging.WARNING, "Running without any extra configuration")
    ]


def test_read_only_environment(argv, monkeypatch):
    argv("--dev")
    monkeypatch.setenv("ARKINDEX_CORPUS_ID", "corpus")
    monkeypatch.setenv("ARKINDEX_MODEL_VERSION_ID", "mv")
    monkeypatch.setenv("ARKINDEX_MODEL_ID", "m")
    worker = Worker06()

    worker.configure()

    assert worker.corpus_id == "corpus"
    assert worker.model_version_id == "mv"
    assert worker.model_details == {"id": "m"}


def test_read_only_missing_corpus(argv):
    argv("--dev")
    worker = Worker06()
    worker.configure()

    with pytest.raises(MissingCorpusError) as error:
        worker.corpus_id  # noqa: B018

    assert isinstance(error.value, Exception)
    assert str(error.value) == "Missing ARKINDEX_CORPUS_ID environment variable"


# --- §2.5 secrets --------------------------------------------------------------


def register_run(mock, items):
    mock.add_response("RetrieveWorkerRun", current_worker_run(), id=WORKER_RUN_ID)
    mock.add_response(
        "RetrieveWorkerRunConfiguration", {"configuration": items}, id=WORKER_RUN_ID
    )


def test_secrets_on_a_server_with_secrets(mocked, caplog):
    register_run(mocked, SECRET_ITEMS)
    mocked.add_response(
        "RetrieveSecret", {"content": "My super duper secret value"}, name=SECRET_UUID
    )
    worker = Worker06()

    worker.configure()

    assert worker.config == {
        "a_secret": "My super duper secret value",
        "some_key": "test",
    }
    assert worker.secrets == {"a_secret": "My super duper secret value"}
    assert [c.operation for c in mocked.history] == [
        "RetrieveWorkerRun",
        "RetrieveWorkerRunConfiguration",
        "RetrieveSecret",
    ]
    assert "My super duper" not in caplog.text


def test_secrets_on_a_community_server(mocked):
    register_run(mocked, SECRET_ITEMS)
    worker = Worker06()
    del worker.api_client.document.links["RetrieveSecret"]  # read at call time

    worker.configure()

    assert worker.config == {"a_secret": SECRET_UUID, "some_key": "test"}
    assert worker.secrets == {"a_secret": SECRET_UUID}
    assert [c.operation for c in mocked.history] == [
        "RetrieveWorkerRun",
        "RetrieveWorkerRunConfiguration",
    ]


def test_optional_secret(mocked, caplog):
    register_run(mocked, [item("maybe", None, secret=True)])
    worker = Worker06()

    worker.configure()

    assert worker.config == {"maybe": None}
    assert worker.secrets == {"maybe": None}
    assert (logging.INFO, "Optional secret `maybe` is not set") in records(caplog)


# --- §2.6 user_configuration -------------------------------------------------


def test_user_configuration_warns_under_06_only(configured, api_env, mock_api):
    worker = configured([item("a", 1)])
    with pytest.deprecated_call(match="should be updated to use self.config"):
        assert worker.user_configuration is worker.config

    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(configuration={"a": 1}))
    legacy = BaseWorker()
    legacy.configure()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert legacy.user_configuration == {}


def test_user_configuration_setter_is_not_read_under_06(configured):
    worker = configured([item("a", 1)])

    worker.user_configuration = {"other": True}

    with pytest.deprecated_call():
        assert worker.user_configuration == {"a": 1}


# --- §2.7 no cache ----------------------------------------------------------------


def test_support_cache_warns_and_sends_no_task_request(
    configured, mock_api, monkeypatch, tmp_path, caplog
):
    monkeypatch.setenv("PONOS_TASK", TASK_ID)
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    caplog.clear()

    worker = configured([], support_cache=True)

    assert worker.use_cache is False
    assert requests_made(mock_api) == [
        ("GET", WORKER_RUN_URL),
        ("GET", CONFIGURATION_URL),
    ]
    assert records(caplog, logging.WARNING) == [
        (
            logging.WARNING,
            "The SQLite cache is not available in generation 0.6: running without it",
        )
    ]
    assert not list(tmp_path.rglob("*.sqlite"))


def test_database_argument_is_ignored(argv, tmp_path, caplog):
    database = tmp_path / "db.sqlite"
    argv("--dev", "--database", str(database))
    worker = Worker06()

    worker.configure()

    assert worker.use_cache is False
    assert not database.exists()
    assert (
        logging.WARNING,
        "The SQLite cache is not available in generation 0.6: running without it",
    ) in records(caplog)


def test_cache_disabled_debug_line(argv, caplog):
    caplog.set_level(logging.DEBUG)
    argv("--dev")

    Worker06().configure()

    assert (logging.DEBUG, "Cache is disabled") in records(caplog)


# --- §2.1 attributes, §2.8 parents, §2.9 cleanup ------------------------------------


@pytest.mark.parametrize("cls", [BaseWorker, Worker06, ElementsWorker, DatasetWorker])
def test_attributes_of_every_worker(cls):
    worker = cls()

    assert (worker.classes, worker.entity_types, worker.corpus_types) == ({}, {}, {})
    assert worker.datasets == {}


def test_find_parents_file_paths_retrieves_the_task(
    configured, mock_api, monkeypatch, tmp_path
):
    monkeypatch.setenv("PONOS_TASK", "my_task")
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    for parent in ("first", "third"):
        (tmp_path / parent).mkdir()
        (tmp_path / parent / "file.txt").write_text("x")
    worker = configured([])
    mock_api.get(
        api_url("task/my_task/"), json={"parents": ["first", "second", "third"]}
    )

    paths = worker.find_parents_file_paths("file.txt")

    assert paths == [tmp_path / "first" / "file.txt", tmp_path / "third" / "file.txt"]
    assert requests_made(mock_api)[-1] == ("GET", api_url("task/my_task/"))
    assert worker.task_parents == ["first", "second", "third"]


def test_find_parents_file_paths_under_04_sends_nothing(
    api_env, mock_api, monkeypatch, tmp_path
):
    monkeypatch.setenv("PONOS_TASK", "my_task")
    monkeypatch.setenv("PONOS_DATA", str(tmp_path))
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload())
    worker = BaseWorker()
    worker.configure()

    assert worker.find_parents_file_paths("file.txt") == []
    assert len(mock_api.calls) == 1


def test_find_parents_file_paths_without_task(argv, mock_api):
    argv("--dev")
    worker = Worker06()
    worker.configure()

    assert worker.find_parents_file_paths("file.txt") == []
    assert len(mock_api.calls) == 0


def test_cleanup_lines(caplog):
    worker = Worker06()
    caplog.clear()

    worker.cleanup()
    worker.cleanup(info_log="Bye")

    assert records(caplog) == [
        (logging.INFO, "Cleaning up worker"),
        (logging.INFO, "Bye"),
    ]


def test_cleanup_silent_under_04(caplog):
    worker = BaseWorker()
    caplog.clear()

    worker.cleanup()

    assert records(caplog) == []


def test_model_dir_lines(monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    Worker06()
    BaseWorker()
    monkeypatch.setenv("ARKINDEX_MODEL_DIR", str(tmp_path / "missing"))
    worker = Worker06()

    lines = [
        r
        for r in records(caplog)
        if "ARKINDEX_MODEL_DIR" in r[1] or "Model dir" in r[1]
    ]
    assert lines == [
        (
            logging.DEBUG,
            "Missing ARKINDEX_MODEL_DIR environment variable, using extra_files old mode",
        ),
        (logging.DEBUG, "No model directory given by ARKINDEX_MODEL_DIR"),
        (logging.WARNING, f"Model directory {tmp_path / 'missing'} is missing"),
    ]
    assert worker.model_dir == tmp_path / "missing"
