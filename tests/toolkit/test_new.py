"""`python -m arkindex_worker.new`: the template of a new worker repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import arkindex_worker
from arkindex_worker.new import WorkerNames, create_worker, main, worker_names

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
    cache. The SDK and the third-party packages (pytest, requests…) come from this
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
