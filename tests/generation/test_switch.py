"""The generation switch (spec 15 §1): request, decision, log lines, process state."""

from __future__ import annotations

import json
import logging

import pytest

from arkindex_worker import compat as compat_module
from arkindex_worker import generation
from arkindex_worker.worker import BaseWorker, ElementsWorker
from tests.generation.conftest import (
    CONFIGURATION_URL,
    WORKER_RUN_URL,
    current_worker_run,
    item,
    records,
    requests_made,
)
from tests.worker.factories import worker_run_payload

AUTO_RUN_LINE = "Using SDK generation 0.6, chosen from the worker run configuration"
AUTO_LOCAL_LINE = "Using SDK generation 0.6, chosen from the local configuration"


class Worker06(BaseWorker):
    compat = "0.6"


class Worker04(BaseWorker):
    compat = "0.4"


def decision_lines(caplog) -> list[tuple[int, str]]:
    return [r for r in records(caplog) if r[1].startswith("Using SDK generation")]


# --- §1.2 resolution --------------------------------------------------------------


def test_default_is_auto_and_provisionally_04(caplog):
    worker = BaseWorker()

    assert BaseWorker.compat == "auto"
    assert worker.generation == "0.4"
    assert worker.generation is generation.GENERATION_0_4
    assert decision_lines(caplog) == []


def test_generation_is_read_only():
    worker = BaseWorker()

    with pytest.raises(AttributeError):
        worker.generation = "0.6"


def test_variable_wins_over_the_class_attribute(compat, caplog):
    compat("0.6")

    worker = Worker04()

    assert worker.generation == "0.6"
    assert decision_lines(caplog) == [
        (logging.INFO, "Using SDK generation 0.6, requested by ARKINDEX_WORKER_COMPAT")
    ]


def test_class_attribute_alone(caplog):
    class MyWorker(ElementsWorker):
        compat = "0.6"

    worker = MyWorker()

    assert worker.generation == "0.6"
    assert decision_lines(caplog) == [
        (logging.INFO, "Using SDK generation 0.6, requested by MyWorker.compat")
    ]


def test_request_line_follows_the_work_dir_line(caplog):
    Worker04()

    messages = [m for _, m in records(caplog, logging.INFO)]
    index = next(i for i, m in enumerate(messages) if m.startswith("Worker will use"))
    assert (
        messages[index + 1] == "Using SDK generation 0.4, requested by Worker04.compat"
    )


def test_attribute_is_inherited():
    class Child(Worker06):
        pass

    assert Child().generation == "0.6"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("  0.6 ", "0.6", id="spaces"),
        pytest.param("AUTO", "0.4", id="upper-case-auto"),
        pytest.param("", "0.4", id="empty-is-unset"),
        pytest.param("0.4", "0.4", id="explicit-04"),
    ],
)
def test_variable_values_accepted(compat, value, expected):
    compat(value)

    assert BaseWorker().generation == expected


def test_invalid_variable_fails_at_construction(compat, monkeypatch):
    compat("0.5")
    built = []
    monkeypatch.setattr(BaseWorker, "setup_api_client", lambda self: built.append(1))

    with pytest.raises(ValueError) as error:
        BaseWorker()

    assert str(error.value) == (
        "ARKINDEX_WORKER_COMPAT must be one of auto, 0.4, 0.6, not '0.5'"
    )
    assert built == []  # before any other work


def test_invalid_class_attribute_fails_at_construction():
    class Bad(BaseWorker):
        compat = "0.5"

    with pytest.raises(ValueError) as error:
        Bad()

    assert str(error.value) == "Bad.compat must be one of auto, 0.4, 0.6, not '0.5'"


def test_variable_set_hides_an_invalid_attribute(compat):
    class Bad(BaseWorker):
        compat = 6

    compat("0.4")

    assert Bad().generation == "0.4"


# --- §1.3 / §1.4 decision under auto --------------------------------------------


def test_auto_legacy_run_stays_04_silently(api_env, mock_api, caplog):
    caplog.set_level(logging.DEBUG)
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(configuration={"a": 1}))
    worker = BaseWorker()

    worker.configure()

    assert worker.generation == "0.4"
    assert decision_lines(caplog) == []


def test_auto_current_run_becomes_06_with_one_debug_line(
    api_env, run_configuration, caplog
):
    caplog.set_level(logging.DEBUG)
    run_configuration(items=[item("a", 1)])
    worker = BaseWorker()

    worker.configure()

    assert worker.generation == "0.6"
    assert generation.current() is worker.generation
    assert decision_lines(caplog) == [(logging.DEBUG, AUTO_RUN_LINE)]


def test_auto_unchanged_reconfiguration_logs_nothing(
    api_env, run_configuration, caplog
):
    caplog.set_level(logging.DEBUG)
    run_configuration(items=[item("a", 1)])
    run_configuration(items=[item("a", 2)])
    worker = BaseWorker()
    worker.configure()
    caplog.clear()

    worker.configure()

    assert worker.config == {"a": 2}
    assert decision_lines(caplog) == []


def test_auto_reconfiguration_takes_the_latest_answer(api_env, mock_api, caplog):
    caplog.set_level(logging.DEBUG)
    mock_api.get(WORKER_RUN_URL, json=current_worker_run())
    mock_api.get(CONFIGURATION_URL, json={"configuration": []})
    mock_api.get(WORKER_RUN_URL, json=worker_run_payload(configuration={"a": 1}))
    worker = BaseWorker()
    worker.configure()
    caplog.clear()

    worker.configure()

    assert worker.generation == "0.4"
    assert generation.current() == "0.4"
    assert decision_lines(caplog) == [
        (
            logging.DEBUG,
            "Using SDK generation 0.4, chosen from the worker run configuration",
        )
    ]


def test_auto_local_item_file_becomes_06(argv, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"configuration": [item("k", "v")]}))
    argv("--dev", "--config", str(config))
    worker = BaseWorker()

    worker.configure()

    assert worker.generation == "0.6"
    assert worker.config == {"k": "v"}
    assert decision_lines(caplog) == [(logging.DEBUG, AUTO_LOCAL_LINE)]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("a: 1\n", id="mapping"),
        pytest.param("configuration:\n  a: 1\n", id="configuration-mapping"),
        pytest.param(None, id="no-file"),
    ],
)
def test_auto_other_local_configurations_stay_04(argv, tmp_path, caplog, content):
    caplog.set_level(logging.DEBUG)
    if content is None:
        argv("--dev")
    else:
        config = tmp_path / "config.yml"
        config.write_text(content)
        argv("--dev", "--config", str(config))
    worker = BaseWorker()

    worker.configure()

    assert worker.generation == "0.4"
    assert decision_lines(caplog) == []


def test_explicit_06_uses_the_run_configuration_even_when_embedded(
    api_env, run_configuration, mock_api, compat
):
    compat("0.6")
    run_configuration(
        worker_run_payload(configuration={"embedded": True}), [item("a", 1)]
    )
    worker = BaseWorker()

    worker.configure()

    assert requests_made(mock_api) == [
        ("GET", WORKER_RUN_URL),
        ("GET", CONFIGURATION_URL),
    ]
    assert worker.config == {"a": 1}


def test_explicit_04_current_run_keeps_04_behaviour(
    api_env, run_configuration, compat, caplog
):
    compat("0.4")
    run_configuration(items=[item("a", 1)])
    worker = BaseWorker()

    worker.configure()

    assert worker.generation == "0.4"
    assert generation.current() == "0.4"
    assert worker.user_configuration == {"a": 1}  # no DeprecationWarning
    assert records(caplog, logging.INFO)[-1] == (
        logging.INFO,
        "User configuration retrieved",
    )


def test_explicit_request_never_changes(argv, tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("a: 1\n")
    argv("--dev", "--config", str(config))
    worker = Worker06()

    worker.configure()

    assert worker.generation == "0.6"


def test_nothing_louder_than_debug_in_configure(api_env, run_configuration, caplog):
    run_configuration(items=[])
    worker = BaseWorker()
    caplog.clear()

    worker.configure()

    assert records(caplog, logging.INFO) == [
        (logging.INFO, "Loaded Worker Fake worker @ 123412 from API"),
        (
            logging.INFO,
            "Using worker run configuration 56785678-5678-5678-5678-567856785678",
        ),
    ]


# --- process-wide state (§1.1, §1.3, §1.5) --------------------------------------


def test_current_generation_without_any_worker_follows_the_variable(compat):
    assert compat_module.current_generation() == "0.4"
    compat("0.6")
    assert compat_module.current_generation() == "0.6"
    compat("auto")
    assert compat_module.current_generation() == "0.4"
    compat(None)
    assert compat_module.current_generation() == "0.4"


def test_published_value_wins_until_reset(compat):
    compat("0.4")
    compat_module.set_current_generation("0.6")

    assert compat_module.current_generation() == "0.6"
    assert generation.current() is generation.GENERATION_0_6

    compat_module.reset_current_generation()

    assert compat_module.current_generation() == "0.4"
    assert generation.published() is None


def test_invalid_variable_read_by_current_generation(compat):
    compat("six")

    with pytest.raises(ValueError) as error:
        compat_module.current_generation()

    assert str(error.value) == (
        "ARKINDEX_WORKER_COMPAT must be one of auto, 0.4, 0.6, not 'six'"
    )


@pytest.mark.parametrize("value", ["0.5", "auto", "", None])
def test_set_current_generation_refuses_other_values(value):
    with pytest.raises(ValueError) as error:
        compat_module.set_current_generation(value)

    assert str(error.value) == f"Unknown SDK generation {value!r}"


def test_requested_compat(compat):
    assert compat_module.requested_compat() == "auto"
    assert compat_module.requested_compat("0.6") == "0.6"
    compat(" 0.4")
    assert compat_module.requested_compat("0.6") == "0.4"


def test_compat_constants():
    assert compat_module.COMPAT_VARIABLE == "ARKINDEX_WORKER_COMPAT"
    assert compat_module.COMPAT_CHOICES == ("auto", "0.4", "0.6")
    assert (compat_module.GENERATION_04, compat_module.GENERATION_06) == ("0.4", "0.6")


def test_workers_publish_their_generation_last_writer_wins():
    Worker06()
    assert compat_module.current_generation() == "0.6"
    Worker04()
    assert compat_module.current_generation() == "0.4"


def test_image_defaults_alias_sets_the_generation():
    from arkindex_worker import models

    models.use_modern_image_defaults(True)
    assert compat_module.current_generation() == "0.6"
    models.use_modern_image_defaults(False)
    assert compat_module.current_generation() == "0.4"


def test_mixin_outside_a_worker_follows_the_process_generation():
    class Loose:
        pass

    compat_module.set_current_generation("0.6")

    assert generation.of(Loose()) is generation.GENERATION_0_6
    assert generation.of(Worker04()) is generation.GENERATION_0_4


def test_generation_equals_its_name():
    assert generation.GENERATION_0_6 == "0.6"
    assert generation.GENERATION_0_6 != "0.4"
    assert str(generation.GENERATION_0_4) == "0.4"
    assert {generation.GENERATION_0_4: 1}[generation.by_name("0.4")] == 1
