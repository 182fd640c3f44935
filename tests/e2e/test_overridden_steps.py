"""End to end: steps a worker overrides stay in the foreground, in upstream's order.

The overlap's background thread only sends requests prepared on the main
thread. When a worker overrides ``update_activity`` or ``retrieve_element``,
that step runs on the main thread where upstream runs it, so that the
override sees the worker as upstream would (its attributes of that moment).

Each scenario runs a custom worker (`tests.e2e.custom_workers`) twice, on two
fresh doubles holding the same corpus (same seed, same IDs): once strictly
sequential (``ARKINDEX_WORKER_OVERLAP=0``), once with the default overlap,
both processes side by side; the overlapped run must do what the sequential
one does.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Run, finish, worker_env, write_elements_list
from tests.e2e.custom_workers import start_custom_worker
from tests.e2e.double import ArkindexDouble, build_demo_corpus
from tests.e2e.test_worker_demo import Call, call

# Real processes, real waits
pytestmark = pytest.mark.real_sleep

PAGES = 7
PARENT_RUN = "0a7e57a1-0000-4000-8000-00000000a11e"
"""The parent worker run whose results the ``replay`` worker reads."""
FAILING = (2, 5)
"""Positions of the pages the ``replay`` worker fails on, by design."""
LATENCY = 0.02
"""Seconds each answer takes, as from a distant server."""
REPORT_TIME = "0.03"
"""Seconds the ``replay`` worker works in ``update_activity`` before a
``processed`` update: in the background, the update would read
``worker_run_id`` while the next element holds the parent's run."""


@dataclass
class Outcome:
    """A finished run of a custom worker over `PAGES` pages."""

    double: ArkindexDouble
    pages: list[str]
    run: Run

    @property
    def calls(self) -> list[Call]:
        return [call(r) for r in self.double.served()]

    def activity_calls(self) -> list[Call]:
        return [
            call(r)
            for r in self.double.served()
            if r.operation == "UpdateWorkerActivity"
        ]


def run_twice(home: Path, worker: str, **env: str) -> dict[str, Outcome]:
    """Run ``worker`` sequentially and overlapped, side by side; by mode."""
    started = {}
    for mode, overlap in (("sequential", "0"), ("overlapped", "1")):
        folder = home / mode
        folder.mkdir()
        double = ArkindexDouble(latency=LATENCY).start()
        pages = build_demo_corpus(double, pages=PAGES, lines=1)
        elements = write_elements_list(
            folder / "elements.json", [{"id": p, "type": "page"} for p in pages]
        )
        variables = {
            name: value.format(pages=pages) if "{" in value else value
            for name, value in env.items()
        }
        process = start_custom_worker(
            worker,
            ["--elements-list", str(elements)],
            worker_env(double, folder, ARKINDEX_WORKER_OVERLAP=overlap, **variables),
            folder,
        )
        started[mode] = (double, pages, process)
    outcomes = {}
    for mode, (double, pages, process) in started.items():
        try:
            outcomes[mode] = Outcome(double, pages, finish(process))
        finally:
            double.stop()
    return outcomes


def retrieval(element_id: str) -> Call:
    """The RetrieveElement request of an element."""
    return ("GET", f"element/{element_id}/", "", None)


def processed(outcome: Outcome, index: int) -> Call:
    """The ``processed`` UpdateWorkerActivity request of the page at ``index``."""
    double = outcome.double
    body = {
        "element_id": outcome.pages[index],
        "process_id": double.process_id,
        "state": "processed",
    }
    return ("PUT", f"workers/versions/{double.worker_run_id}/activity/", "", body)


def metadata(outcome: Outcome, index: int, name: str) -> Call:
    """The CreateMetaData request a custom worker sends for the page at ``index``."""
    page = outcome.pages[index]
    body = {
        "type": "text",
        "name": name,
        "value": outcome.double.elements[page]["name"],
        "entity_id": None,
        "worker_run_id": outcome.double.worker_run_id,
    }
    return ("POST", f"element/{page}/metadata/", "", body)


def counted(calls: list[Call]) -> Counter:
    return Counter(json.dumps(c, sort_keys=True) for c in calls)


# ---------------------------------------------------------------- update_activity


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> dict[str, Outcome]:
    """The ``replay`` worker (overridden ``update_activity``), run in both modes."""
    fail = ",".join(f"{{pages[{i}]}}" for i in FAILING)
    return run_twice(
        tmp_path_factory.mktemp("replay"),
        "replay",
        E2E_PARENT_RUN=PARENT_RUN,
        E2E_FAIL=fail,
        E2E_REPORT_TIME=REPORT_TIME,
    )


def activity_log(outcome: Outcome) -> list[str]:
    """The lines the override of ``update_activity`` logged, in order."""
    return [line for line in outcome.run.lines if ": Activity of " in line]


def test_replay_runs_end_alike(replayed):
    sequential, overlapped = replayed["sequential"], replayed["overlapped"]
    summary = "ERROR/arkindex_worker: Ran on 7 elements: 5 completed, 2 failed"
    assert sequential.run.returncode == 0, sequential.run.stderr
    assert overlapped.run.returncode == sequential.run.returncode
    assert sequential.run.lines[-1] == summary, sequential.run.stderr
    assert overlapped.run.lines[-1] == summary, overlapped.run.stderr
    assert "Traceback" not in overlapped.run.stderr


def test_replay_activities_alike(replayed):
    sequential, overlapped = replayed["sequential"], replayed["overlapped"]
    pages = sequential.pages
    assert overlapped.pages == pages  # same seed, same IDs
    assert sequential.double.activities == {
        page: "error" if index in FAILING else "processed"
        for index, page in enumerate(pages)
    }
    assert overlapped.double.activities == sequential.double.activities


def test_replay_every_activity_update_accepted(replayed):
    """Every update names the worker's own run, never the parent's."""
    for outcome in replayed.values():
        updates = [
            r for r in outcome.double.requests if r.operation == "UpdateWorkerActivity"
        ]
        assert len(updates) == 2 * PAGES
        assert {r.status for r in updates} == {200}, outcome.run.stderr
        assert {r.path for r in updates} == {
            f"workers/versions/{outcome.double.worker_run_id}/activity/"
        }


def test_replay_same_requests(replayed):
    sequential, overlapped = replayed["sequential"], replayed["overlapped"]
    assert counted(overlapped.calls) == counted(sequential.calls)
    # The parent run's results were read with the parent's ID
    parent_reads = [c for c in sequential.calls if c[2] == f"worker_run={PARENT_RUN}"]
    assert len(parent_reads) == PAGES


def test_replay_activity_updates_in_the_same_order(replayed):
    sequential, overlapped = replayed["sequential"], replayed["overlapped"]
    assert overlapped.activity_calls() == sequential.activity_calls()


def test_replay_override_called_on_the_main_thread(replayed):
    sequential, overlapped = replayed["sequential"], replayed["overlapped"]
    expected = [
        f"INFO/arkindex_worker: Activity of {page}: {state} (MainThread)"
        for index, page in enumerate(sequential.pages)
        for state in ("started", "error" if index in FAILING else "processed")
    ]
    assert activity_log(sequential) == expected
    assert activity_log(overlapped) == expected


def test_replay_still_reads_ahead(replayed):
    """``retrieve_element`` is the SDK's: the next element is read in the background."""
    overlapped = replayed["overlapped"]
    calls, pages = overlapped.calls, overlapped.pages
    assert calls.index(retrieval(pages[1])) < calls.index(processed(overlapped, 0))


# ---------------------------------------------------------------- retrieve_element


@pytest.fixture(scope="module")
def own_retrieval(tmp_path_factory) -> dict[str, Outcome]:
    """The ``own-retrieval`` worker (overridden ``retrieve_element``), both modes."""
    return run_twice(tmp_path_factory.mktemp("own-retrieval"), "own-retrieval")


def test_own_retrieval_completes(own_retrieval):
    for outcome in own_retrieval.values():
        assert outcome.run.returncode == 0, outcome.run.stderr
        assert outcome.run.lines[-1] == (
            "INFO/arkindex_worker: Ran on 7 elements: 7 completed, 0 failed"
        )
        assert outcome.double.activities == dict.fromkeys(outcome.pages, "processed")
        # Through the override, once per element
        assert [line for line in outcome.run.lines if ": Retrieving " in line] == [
            f"INFO/arkindex_worker: Retrieving {page}" for page in outcome.pages
        ]


def test_own_retrieval_same_requests(own_retrieval):
    sequential, overlapped = own_retrieval["sequential"], own_retrieval["overlapped"]
    assert counted(overlapped.calls) == counted(sequential.calls)


def test_own_retrieval_is_not_read_ahead(own_retrieval):
    """Each element is retrieved once the previous one's processing is over."""
    overlapped = own_retrieval["overlapped"]
    calls, pages = overlapped.calls, overlapped.pages
    for index, page in enumerate(pages[1:]):
        published = calls.index(metadata(overlapped, index, "retrieved"))
        assert calls.index(retrieval(page)) > published


def test_own_retrieval_after_the_processed_update(own_retrieval):
    overlapped = own_retrieval["overlapped"]
    calls, pages = overlapped.calls, overlapped.pages
    for index, page in enumerate(pages[1:]):
        assert calls.index(retrieval(page)) > calls.index(processed(overlapped, index))


def test_own_retrieval_same_requests_in_order(own_retrieval):
    assert own_retrieval["overlapped"].calls == own_retrieval["sequential"].calls
