"""End-to-end: fatal errors of ``worker-demo`` end with one clear line and an exit code.

Every case runs the console script once; the processes of all cases run side by
side (one module fixture) to keep the suite fast.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import Demo, Run, build_demo, finish, start_demo_worker
from tests.e2e.conftest import worker_env as base_env
from tests.e2e.double import ArkindexDouble

MISSING = "/nonexistent/e2e-file"
INVALID_IDS = ["volumeid", "pageid"]
STOPPED = "ERROR/arkindex_worker: Worker stopped: "

# Real processes: their waits must really wait, not spin.
pytestmark = pytest.mark.real_sleep


@dataclass(frozen=True)
class Case:
    """A bad input: the CLI arguments, then the expected exit status and last line.

    ``args`` receives the demo and a directory of its own; ``{folder}`` and
    ``{closed_url}`` in ``message`` are replaced by that directory and by the URL
    of a closed port. With ``exact=False`` the last line only has to start with
    the message.
    """

    args: Callable[[Demo, Path], list[str]]
    status: int
    message: str
    env: dict[str, str] = field(default_factory=dict)
    python_flags: tuple[str, ...] = ()
    exact: bool = True


def _json_file(folder: Path, content: object) -> str:
    path = folder / "elements.json"
    path.write_text(json.dumps(content))
    return str(path)


def _text_file(folder: Path, name: str, content: str) -> str:
    path = folder / name
    path.write_text(content)
    return str(path)


def _page(demo: Demo, folder: Path) -> list[str]:
    return ["--element", demo.pages[0]]


def _dev_config(content: str) -> Callable[[Demo, Path], list[str]]:
    def args(demo: Demo, folder: Path) -> list[str]:
        config = _text_file(folder, "config.yml", content)
        return ["--dev", "--config", config, "--element", demo.pages[0]]

    return args


CASES = {
    "element-and-elements-list": Case(
        lambda demo, folder: [
            *("--element", demo.pages[0]),
            *("--elements-list", _json_file(folder, [{"id": demo.pages[1]}])),
        ],
        1,
        STOPPED
        + "AssertionError: elements-list and element CLI args shouldn't be both set",
    ),
    "list-not-a-list": Case(
        lambda demo, folder: [
            *("--elements-list", _json_file(folder, {"id": demo.pages[0]}))
        ],
        1,
        STOPPED + "AssertionError: Elements list must be a list",
    ),
    "empty-list": Case(
        lambda demo, folder: ["--elements-list", _json_file(folder, [])],
        1,
        STOPPED + "AssertionError: No elements in elements list",
    ),
    # An invalid command-line value: argparse's status 2 (docs/cli.md)
    "invalid-uuids": Case(
        lambda demo, folder: ["--element", *INVALID_IDS],
        2,
        "worker-demo: error: argument --element: These element IDs are invalid: "
        "volumeid, pageid",
    ),
    "invalid-uuids-python-O": Case(
        lambda demo, folder: ["--element", *INVALID_IDS],
        2,
        "worker-demo: error: argument --element: These element IDs are invalid: "
        "volumeid, pageid",
        python_flags=("-O",),
    ),
    "listed-invalid-uuids": Case(
        lambda demo, folder: [
            *("--elements-list", _json_file(folder, [{"id": i} for i in INVALID_IDS]))
        ],
        1,
        STOPPED + "AssertionError: These element IDs are invalid: volumeid, pageid",
    ),
    "missing-elements-list": Case(
        lambda demo, folder: ["--elements-list", MISSING],
        2,
        f"worker-demo: error: argument --elements-list: can't open '{MISSING}': "
        "No such file or directory",
    ),
    "missing-config": Case(
        lambda demo, folder: ["--dev", "--config", MISSING, *_page(demo, folder)],
        2,
        f"worker-demo: error: argument -c/--config: can't open '{MISSING}': "
        "No such file or directory",
    ),
    "config-not-a-mapping": Case(
        _dev_config("- line_type\n- word\n"),
        1,
        STOPPED + "ValueError: Configuration file {folder}/config.yml should hold a "
        "mapping of settings, not list",
    ),
    "config-not-yaml": Case(
        _dev_config("line_type: [unclosed\n"),
        1,
        STOPPED
        + "ValueError: Configuration file {folder}/config.yml is not valid YAML: ",
        exact=False,
    ),
    "unknown-worker-run": Case(
        _page,
        1,
        STOPPED + "The Arkindex API answered 404 Not Found: {{'detail': 'Not found.'}}",
        env={"ARKINDEX_WORKER_RUN_ID": str(uuid.UUID(int=1))},
    ),
    "wrong-token": Case(
        _page,
        1,
        "ERROR/arkindex_worker.run: Authentication failed: the token was refused "
        "(401 Unauthorized: Invalid token.); ARKINDEX_API_TOKEN is invalid or expired "
        "on http://127.0.0.1:",
        env={"ARKINDEX_API_TOKEN": "wrong-token"},
        exact=False,
    ),
    "unreachable-api": Case(
        _page,
        1,
        STOPPED + "Could not reach the Arkindex API at {closed_url}",
        env={"ARKINDEX_API_URL": "{closed_url}"},
        exact=False,
    ),
}


def _closed_url() -> str:
    """URL of a loopback port nobody listens on any more."""
    double = ArkindexDouble().start()
    url = double.url
    double.stop()
    return url


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[Run, Path, str]]:
    """Run every case at once against one double; ``case id → (run, folder, url)``."""
    home = tmp_path_factory.mktemp("bad-inputs")
    closed_url = _closed_url()
    with ArkindexDouble() as double:
        demo = build_demo(double)
        started = {}
        for case_id, case in CASES.items():
            folder = home / case_id
            folder.mkdir()
            env = {k: v.format(closed_url=closed_url) for k, v in case.env.items()}
            started[case_id] = (
                start_demo_worker(
                    case.args(demo, folder),
                    base_env(double, folder, **env),
                    folder,
                    case.python_flags,
                ),
                folder,
            )
        return {
            case_id: (finish(process), folder, closed_url)
            for case_id, (process, folder) in started.items()
        }


@pytest.mark.parametrize("case_id", list(CASES))
def test_exit_status(bad_runs, case_id):
    run, _folder, _url = bad_runs[case_id]
    assert run.returncode == CASES[case_id].status, run.stderr


@pytest.mark.parametrize("case_id", list(CASES))
def test_last_line_is_one_clear_message(bad_runs, case_id):
    run, folder, closed_url = bad_runs[case_id]
    case = CASES[case_id]
    message = case.message.format(folder=folder, closed_url=closed_url)
    if case.exact:
        assert run.lines[-1] == message
    else:
        assert run.lines[-1].startswith(message)


@pytest.mark.parametrize("case_id", list(CASES))
def test_no_traceback(bad_runs, case_id):
    run, _folder, _url = bad_runs[case_id]
    assert "Traceback" not in run.stderr


def test_verbose_shows_the_traceback(run_worker, tmp_path):
    listed = _json_file(tmp_path, [{"id": i} for i in INVALID_IDS])
    with ArkindexDouble() as double:
        run = run_worker(double, ["--verbose", "--elements-list", listed])

    assert run.returncode == 1
    assert "Traceback (most recent call last):" in run.stderr
    assert run.lines[-1] == (
        "AssertionError: These element IDs are invalid: volumeid, pageid"
    )
