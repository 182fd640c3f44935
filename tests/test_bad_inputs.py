"""The bad-input catalogue: each bad input, run from the command line, gives one clear
message naming the culprit, a non-zero exit, and writes nothing.

Every case runs a real process against its own loopback API double, with
``python`` and, for the checks that upstream makes with ``assert``, ``python -O``
too; all processes run side by side (one module fixture). The cases run either
the ``worker-demo`` console script or this module itself, a tiny worker
publishing what its configuration describes (``python -m tests.test_bad_inputs``).

Covered elsewhere, by reference (``tests/e2e/test_worker_demo_errors.py``):
``--element`` with ``--elements-list``, an elements list that is not a list or
empty, element IDs that are not UUIDs given with ``--element`` (also under
``-O``), a missing elements list or configuration file, a configuration file
that is not YAML or not a mapping, an unknown worker run, a wrong token and an
unreachable API. Here: the ``-O`` runs of the first three, an elements list that
is not JSON, invalid IDs in an elements list, secrets, polygons, confidences,
orientations, cache files, and a server answering HTML.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from arkindex_worker.cache import SQL_VERSION
from arkindex_worker.cli import run_worker
from arkindex_worker.worker import ElementsWorker
from tests.e2e.conftest import WORKER_SCRIPT, Demo, Run, build_demo, worker_env
from tests.e2e.double import ArkindexDouble, Fault

ROOT = Path(__file__).resolve().parent.parent
STOPPED = "ERROR/arkindex_worker: Worker stopped: "
FAILED_ONE = "ERROR/arkindex_worker: Ran on 1 element: 0 completed, 1 failed"
WEB_PAGE = "the API URL may point at a web page, or a proxy answered"
RUN_TIMEOUT = 60

# Real processes: their waits must really wait, not spin.
pytestmark = pytest.mark.real_sleep


# ---------------------------------------------------------------- the tiny worker


class PublishWorker(ElementsWorker):
    """Publishes on each element what its configuration's ``publish`` key names.

    The configuration values are given to the SDK as they are, unchecked.
    """

    def process_element(self, element) -> None:
        """One publication: a sub-element, a transcription or a classification."""
        config = self.config
        if config["publish"] == "sub-element":
            self.create_sub_element(
                element,
                "text_line",
                "1",
                config.get("polygon"),
                confidence=config.get("confidence"),
            )
        elif config["publish"] == "transcription":
            self.create_transcription(
                element, "Text", config["confidence"], config["orientation"]
            )
        else:
            self.create_classification(element, "demo", config["confidence"])


def main() -> None:
    """Console entry point of the tiny worker."""
    run_worker(PublishWorker, description="Bad-input catalogue worker")


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """A bad input and what the run must end with.

    ``args(demo, folder)`` gives the CLI arguments and prepares files and the
    double; ``lines`` are the last log lines, formatted with ``folder``,
    ``page`` (the element processed), ``url`` (the double's URL) and
    ``worker_run``; ``earlier`` are the starts of lines logged before them.
    """

    args: Callable[[Demo, Path], list[str]]
    lines: list[str]
    tiny: bool = False
    optimized_too: bool = False
    earlier: list[str] = field(default_factory=list)
    files: Callable[[Path], list[Path]] = field(default=lambda folder: [])
    """Files that must be left untouched."""


def _page(demo: Demo) -> list[str]:
    return ["--element", demo.pages[0]]


def _elements_list(content: str) -> Callable[[Demo, Path], list[str]]:
    def args(demo: Demo, folder: Path) -> list[str]:
        path = folder / "elements.json"
        path.write_text(content.replace("{page}", demo.pages[0]))
        return ["--elements-list", str(path)]

    return args


def _both_lists(demo: Demo, folder: Path) -> list[str]:
    return [*_page(demo), *_elements_list('[{"id": "{page}"}]')(demo, folder)]


def _publish(**config) -> Callable[[Demo, Path], list[str]]:
    """Run the tiny worker on one page with this configuration, activities off."""

    def args(demo: Demo, folder: Path) -> list[str]:
        demo.double.version_configuration = config
        demo.double.activity_state = "disabled"
        return _page(demo)

    return args


def _secret(local: str | None) -> Callable[[Demo, Path], list[str]]:
    """A secret the API does not have; ``local``: content of a local secret file."""

    def args(demo: Demo, folder: Path) -> list[str]:
        demo.double.version_secrets = ["model.json"]
        (folder / "gnupg").mkdir(mode=0o700)
        if local is not None:
            path = folder / "config" / "arkindex" / "secrets" / "model.json"
            path.parent.mkdir(parents=True)
            path.write_text(local)
        return _page(demo)

    return args


def _cache(content: Callable[[Path], None]) -> Callable[[Demo, Path], list[str]]:
    def args(demo: Demo, folder: Path) -> list[str]:
        content(folder / "cache.sqlite")
        return ["--dev", "--database", str(folder / "cache.sqlite")]

    return args


def _other_version(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE version (version INTEGER PRIMARY KEY)")
        connection.execute("INSERT INTO version VALUES (?)", (SQL_VERSION - 1,))
    connection.close()


def _html(**fault) -> Callable[[Demo, Path], list[str]]:
    """HTML pages instead of JSON answers; activities off."""

    def args(demo: Demo, folder: Path) -> list[str]:
        demo.double.inject(Fault("html", **fault))
        demo.double.activity_state = "disabled"
        return _page(demo)

    return args


def _failed(error: str) -> list[str]:
    """The last lines of a run whose only element failed with ``error``."""
    return [
        f"WARNING/arkindex_worker: Failed running worker on element {{page}}: {error}",
        FAILED_ONE,
    ]


def _cache_file(folder: Path) -> list[Path]:
    return [folder / "cache.sqlite"]


POLYGON_POINTS = "AssertionError('polygon should have at least three points')"
POLYGON_NUMBERS = "AssertionError('polygon points should be lists of two numbers')"
CONFIDENCE = (
    "AssertionError(\"confidence shouldn't be null and should be a float in [0..1] "
    'range")'
)

CASES = {
    "elements-list-not-json": Case(
        _elements_list("[{'id': 1}"),
        [
            STOPPED + "JSONDecodeError: Elements list {folder}/elements.json is not "
            "valid JSON: Expecting property name enclosed in double quotes: line 1 "
            "column 3 (char 2)"
        ],
    ),
    "elements-list-invalid-ids": Case(
        _elements_list('[{"id": "volumeid"}, {"id": "{page}"}, {"id": "42"}]'),
        [STOPPED + "AssertionError: These element IDs are invalid: volumeid, 42"],
        optimized_too=True,
    ),
    "element-and-elements-list": Case(
        _both_lists,
        [
            STOPPED + "AssertionError: elements-list and element CLI args shouldn't "
            "be both set"
        ],
        optimized_too=True,
    ),
    "elements-list-not-a-list": Case(
        _elements_list('{"id": "{page}"}'),
        [STOPPED + "AssertionError: Elements list must be a list"],
        optimized_too=True,
    ),
    "elements-list-empty": Case(
        _elements_list("[]"),
        [STOPPED + "AssertionError: No elements in elements list"],
        optimized_too=True,
    ),
    "missing-secret": Case(
        _secret(None),
        [
            "WARNING/arkindex_worker: Secret model.json not available: "
            "{{'detail': 'Not found.'}}",
            STOPPED + "Secret model.json is not available on the API nor locally",
        ],
    ),
    "unreadable-secret": Case(
        _secret("not an encrypted file"),
        [STOPPED + "Secret model.json is not available on the API nor locally"],
        earlier=[
            "ERROR/arkindex_worker: Local secret model.json is not available as "
            "{folder}/config/arkindex/secrets/model.json: GPG error: exit status 2 - "
            "gpg: no valid OpenPGP data found."
        ],
    ),
    "polygon-two-points": Case(
        _publish(publish="sub-element", polygon=[[0, 0], [10, 10]]),
        _failed(POLYGON_POINTS),
        tiny=True,
        optimized_too=True,
    ),
    "polygon-not-numbers": Case(
        _publish(publish="sub-element", polygon=[[0, 0], [0, "ten"], [10, 10]]),
        _failed(POLYGON_NUMBERS),
        tiny=True,
        optimized_too=True,
    ),
    "confidence-above-one": Case(
        _publish(publish="classification", confidence=1.5),
        _failed(CONFIDENCE),
        tiny=True,
        optimized_too=True,
    ),
    "confidence-not-a-number": Case(
        _publish(publish="sub-element", confidence="high"),
        _failed(
            "AssertionError('confidence should be None or a float in [0..1] range')"
        ),
        tiny=True,
        optimized_too=True,
    ),
    "orientation-not-in-enum": Case(
        _publish(publish="transcription", confidence=0.5, orientation="sideways"),
        _failed(
            "AssertionError(\"orientation shouldn't be null and should be of type "
            'TextOrientation")'
        ),
        tiny=True,
        optimized_too=True,
    ),
    "cache-not-sqlite": Case(
        _cache(lambda path: path.write_text("not a database, " * 512)),
        [
            STOPPED + "CacheDatabaseError: The file {folder}/cache.sqlite is not a "
            "valid SQLite database: file is not a database"
        ],
        optimized_too=True,
        files=_cache_file,
    ),
    "cache-other-version": Case(
        _cache(_other_version),
        [
            STOPPED + "CacheDatabaseError: The SQLite database {folder}/cache.sqlite "
            f"does not have the correct cache version, it should be {SQL_VERSION}"
        ],
        optimized_too=True,
        files=_cache_file,
    ),
    "server-is-a-web-page": Case(
        _html(times=None),
        [
            STOPPED + "UnexpectedContentError: Operation RetrieveWorkerRun expected "
            "JSON, got an HTML page (text/html, HTTP 200 from "
            "{url}api/v1/process/workers/{worker_run}/): " + WEB_PAGE
        ],
    ),
    "proxy-page-during-the-run": Case(
        _html(operation="ListElementChildren"),
        _failed(
            "UnexpectedContentError('Operation ListElementChildren expected JSON, "
            "got an HTML page (text/html, HTTP 200 from "
            "{url}api/v1/elements/{page}/children/?type=text_line): " + WEB_PAGE + "')"
        ),
    ),
}
RUNS = [
    pytest.param(name, flags, id=name + ("-O" if flags else ""))
    for name, case in CASES.items()
    for flags in ((), ("-O",))
    if case.optimized_too or not flags
]


@dataclass
class Finished:
    """A finished case: the run, its folder, the double and the watched files."""

    run: Run
    folder: Path
    demo: Demo
    url: str
    files: dict[Path, bytes]


def _command(case: Case, flags: tuple[str, ...], args: list[str]) -> list[str]:
    program = ["-m", "tests.test_bad_inputs"] if case.tiny else [str(WORKER_SCRIPT)]
    return [sys.executable, *flags, *program, *args]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> dict[tuple[str, tuple[str, ...]], Finished]:
    """Run every case at once, each against its own double."""
    home = tmp_path_factory.mktemp("bad-inputs")
    doubles, started = [], {}
    try:
        for param in RUNS:
            name, flags = param.values
            case = CASES[name]
            folder = home / param.id
            folder.mkdir()
            double = ArkindexDouble().start()
            doubles.append(double)
            demo = build_demo(double)
            args = case.args(demo, folder)
            files = {path: path.read_bytes() for path in case.files(folder)}
            env = worker_env(
                double,
                folder,
                PYTHONPATH=str(ROOT),
                GNUPGHOME=str(folder / "gnupg"),
            )
            process = subprocess.Popen(
                _command(case, flags, args),
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            started[(name, flags)] = (process, folder, demo, double.url, files)
        results = {}
        for key, (process, folder, demo, url, files) in started.items():
            _stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
            results[key] = Finished(
                Run(process.returncode, stderr), folder, demo, url, files
            )
        return results
    finally:
        for double in doubles:
            double.stop()


def _format(lines: list[str], done: Finished) -> list[str]:
    return [
        line.format(
            folder=done.folder,
            page=done.demo.pages[0],
            url=done.url,
            worker_run=done.demo.double.worker_run_id,
        )
        for line in lines
    ]


@pytest.mark.parametrize(("name", "flags"), RUNS)
def test_one_clear_message(finished, name, flags):
    done = finished[(name, flags)]
    expected = _format(CASES[name].lines, done)
    # Without the run's own lines (elapsed time) and the console's -v hint
    lines = [
        line.removesuffix(" (run with -v to see the traceback)")
        for line in done.run.lines
        if not line.startswith("INFO/arkindex_worker.run: Elapsed ")
    ]
    assert lines[-len(expected) :] == expected, done.run.stderr
    for start in _format(CASES[name].earlier, done):
        assert any(line.startswith(start) for line in done.run.lines), done.run.stderr


@pytest.mark.parametrize(("name", "flags"), RUNS)
def test_non_zero_exit(finished, name, flags):
    done = finished[(name, flags)]
    assert done.run.returncode == 1, done.run.stderr
    assert "Traceback" not in done.run.stderr


@pytest.mark.parametrize(("name", "flags"), RUNS)
def test_nothing_written(finished, name, flags):
    done = finished[(name, flags)]
    double = done.demo.double
    assert [r for r in double.requests if r.method != "GET"] == []
    assert double.activities == {}
    for path, content in done.files.items():
        assert path.read_bytes() == content


def test_optimized_runs_really_are_optimized():
    """``python -O`` drops ``assert`` statements: the checks above do not use them."""
    result = subprocess.run(
        [sys.executable, "-O", "-c", "assert False, 'kept'"],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0


if __name__ == "__main__":
    main()
