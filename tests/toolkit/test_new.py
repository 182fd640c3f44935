"""`python -m arkindex_worker.new`: the template of a new worker repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import arkindex_worker
from arkindex_worker import new
from arkindex_worker.new import (
    WorkerNames,
    create_worker,
    main,
    sdk_source,
    worker_names,
)

SDK_ROOT = Path(arkindex_worker.__file__).resolve().parent.parent

GENERATED_FILES = [
    ".gitignore",
    ".gitlab-ci.yml",
    "README.md",
    "config.yml",
    "line_counter/__init__.py",
    "line_counter/worker.py",
    "pyproject.toml",
    "tests/test_worker.py",
]


def files(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file()
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "Line counter",
            WorkerNames(
                "line-counter",
                "line_counter",
                "LineCounterWorker",
                "Arkindex worker line counter",
            ),
            id="words",
        ),
        pytest.param(
            "ocr_worker",
            WorkerNames(
                "ocr-worker", "ocr_worker", "OcrWorker", "Arkindex worker ocr worker"
            ),
            id="ends-with-worker",
        ),
    ],
)
def test_worker_names(name, expected):
    assert worker_names(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "---", "Invalid worker name '---': it needs letters or digits", id="no-word"
        ),
        pytest.param(
            "3d", "Invalid worker name '3d': it must start with a letter", id="digit"
        ),
    ],
)
def test_invalid_worker_names(name, message):
    with pytest.raises(ValueError) as error:
        worker_names(name)

    assert str(error.value) == message


def test_create_worker_files(tmp_path):
    target = create_worker("Line counter", tmp_path / "repo")

    assert files(target) == GENERATED_FILES


def test_create_worker_fills_every_placeholder(tmp_path):
    target = create_worker("Line counter", tmp_path / "repo", description="Count lines")

    texts = {name: (target / name).read_text() for name in GENERATED_FILES}
    assert [name for name, text in texts.items() if "{{" in text] == []
    assert 'line-counter = "line_counter.worker:main"' in texts["pyproject.toml"]
    assert 'dependencies = ["arkindex-worker-sdk"]' in texts["pyproject.toml"]
    assert "class LineCounterWorker(ElementsWorker):" in texts["line_counter/worker.py"]


def test_create_worker_defaults_to_the_slug(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert create_worker("Line counter") == Path("line-counter")


def test_create_worker_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "file").write_text("")

    with pytest.raises(FileExistsError) as error:
        create_worker("Line counter", tmp_path)

    assert str(error.value) == f"{tmp_path} already exists and is not empty"


def test_main_reports_next_steps(tmp_path, capsys):
    status = main(["Line counter", "--directory", str(tmp_path / "repo")])

    assert status == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"Created worker line-counter in {tmp_path / 'repo'}"
    )


def test_main_fails_on_an_invalid_name(capsys):
    with pytest.raises(SystemExit) as error:
        main(["3d"])

    assert error.value.code == 1
    assert capsys.readouterr().err == (
        "error: Invalid worker name '3d': it must start with a letter\n"
    )


@pytest.mark.slow
def test_generated_worker_installs_and_passes_its_tests(tmp_path):
    """Generate a worker, install it in a fresh venv and run its own tests.

    Only the generated project is installed, without its dependencies; pip
    fetches its build backend (setuptools) from the package index, or from its
    cache (`test_generated_tests_pass_with_this_interpreter` needs no network).
    The SDK and the third-party packages (pytest, requests…) come from this
    test's environment through PYTHONPATH, where the SDK's installed metadata
    registers the pytest plugin. Takes about 10 s.
    """
    repo = create_worker("Line counter", tmp_path / "line-counter")
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    sdk_root = Path(arkindex_worker.__file__).resolve().parent.parent
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARKINDEX_", "PONOS_", "PYTEST_", "PIP_"))
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(sdk_root), sysconfig.get_paths()["purelib"]]
    )
    environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    def run(*command: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(part) for part in command],
            cwd=repo,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    install = run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        ".",
    )
    assert install.returncode == 0, install.stderr
    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    usage = run(env_dir / "bin" / "line-counter", "--help")
    assert usage.returncode == 0, usage.stderr
    assert usage.stdout.startswith("usage: line-counter")


# ---------------------------------------------------------------- where the SDK comes from


def install_block(readme: str) -> list[str]:
    """The commands of the README's Install section."""
    section = readme.split("## Install", 1)[1].split("```sh\n", 1)[1]
    return section.split("```", 1)[0].strip().splitlines()


class FakeDistribution:
    def __init__(self, direct_url: str | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return self.direct_url


def installed_with(monkeypatch, direct_url: str | None) -> None:
    monkeypatch.setattr(
        new.metadata, "distribution", lambda name: FakeDistribution(direct_url)
    )


def test_the_readme_installs_the_sdk_from_this_checkout(tmp_path, monkeypatch):
    installed_with(monkeypatch, None)  # as a legacy editable install leaves it
    target = create_worker("Line counter", tmp_path / "repo")

    commands = install_block((target / "README.md").read_text())

    assert commands == [
        "python -m venv .venv",
        f".venv/bin/pip install '{SDK_ROOT}'  # the SDK (from this machine)",
        ".venv/bin/pip install -e '.[tests]'",
    ]
    # A local project pip installs without asking the index for the SDK
    assert 'name = "arkindex-worker-sdk"' in (SDK_ROOT / "pyproject.toml").read_text()


def test_the_sdk_comes_from_its_direct_url(tmp_path, monkeypatch):
    wheel = tmp_path / "arkindex_worker_sdk-0.4.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    installed_with(monkeypatch, json.dumps({"url": wheel.as_uri(), "archive_info": {}}))

    assert sdk_source() == str(wheel)


def test_a_remote_direct_url_falls_back_to_the_checkout(monkeypatch):
    installed_with(
        monkeypatch,
        json.dumps({"url": "https://example.com/sdk.git", "vcs_info": {"vcs": "git"}}),
    )

    assert sdk_source() == str(SDK_ROOT)


def test_an_sdk_from_the_index_needs_no_extra_step(tmp_path, monkeypatch):
    installed_with(monkeypatch, None)
    monkeypatch.setattr(new, "CHECKOUT", tmp_path)  # not a checkout
    target = create_worker("Line counter", tmp_path / "repo")

    assert sdk_source() is None
    assert install_block((target / "README.md").read_text()) == [
        "python -m venv .venv",
        ".venv/bin/pip install -e '.[tests]'",
    ]
    assert "pip install -e '.[tests]'" in (target / ".gitlab-ci.yml").read_text()


def test_sdk_option_takes_a_requirement(tmp_path, capsys):
    status = main(
        [
            "Line counter",
            "--directory",
            str(tmp_path / "repo"),
            "--sdk",
            "git+https://x/sdk.git",
        ]
    )

    assert status == 0
    readme = (tmp_path / "repo" / "README.md").read_text()
    assert (
        install_block(readme)[1]
        == ".venv/bin/pip install 'git+https://x/sdk.git'  # the SDK"
    )
    ci = (tmp_path / "repo" / ".gitlab-ci.yml").read_text()
    assert (
        "    - pip install 'git+https://x/sdk.git'\n    - pip install -e '.[tests]'"
        in ci
    )
    assert "  .venv/bin/pip install 'git+https://x/sdk.git'" in capsys.readouterr().out


def test_sdk_option_takes_a_path(tmp_path, monkeypatch):
    (tmp_path / "sdk").mkdir()
    monkeypatch.chdir(tmp_path)
    target = create_worker("Line counter", tmp_path / "repo", sdk="sdk")

    assert install_block((target / "README.md").read_text())[1] == (
        f".venv/bin/pip install '{tmp_path / 'sdk'}'  # the SDK (from this machine)"
    )


def test_generated_tests_pass_with_this_interpreter(tmp_path):
    """The generated suite, run as its README says, against this checkout's SDK."""
    repo = create_worker("Line counter", tmp_path / "line-counter")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARKINDEX_", "PONOS_", "PYTEST_"))
    }
    environment["PYTHONPATH"] = os.pathsep.join([str(repo), str(SDK_ROOT)])

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
