"""End-to-end: ``worker-demo`` run as a subprocess against the loopback API double."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Demo,
    Run,
    build_demo,
    run_demo_worker,
    worker_env,
    write_elements_list,
)
from tests.e2e.double import ArkindexDouble, RecordedRequest

CONFIDENCE = 0.9
FAULT_RATE = 0.2
FAULT_SEED = 7

Call = tuple[str, str, str, object]
"""``(method, path relative to /api/v1/, query string, JSON body)``."""

# Real processes: their waits must really wait, not spin.
pytestmark = pytest.mark.real_sleep


def call(request: RecordedRequest) -> Call:
    """The comparable part of a recorded request."""
    return (request.method, request.path, request.query, request.body)


def activity(double: ArkindexDouble, element_id: str, state: str) -> Call:
    """The UpdateWorkerActivity request of an element."""
    body = {"element_id": element_id, "process_id": double.process_id, "state": state}
    return ("PUT", f"workers/versions/{double.worker_run_id}/activity/", "", body)


def element_requests(demo: Demo, element_id: str, first: bool) -> list[Call]:
    """Requests of one processed element, IDs of created objects read from the double."""
    double = demo.double
    lines = double.children(element_id)
    requests = [
        ("GET", f"element/{element_id}/", "", None),
        activity(double, element_id, "started"),
        ("GET", f"elements/{element_id}/children/", "type=text_line", None),
    ]
    if element_id == demo.empty_page:
        polygon = double.elements[element_id]["polygon"]
        body = {
            "type": "text_line",
            "name": "1",
            "image": None,
            "corpus": double.corpus_id,
            "polygon": polygon,
            "parent": element_id,
            "worker_run_id": double.worker_run_id,
            "confidence": None,
        }
        requests.append(("POST", "elements/create/", "", body))
    transcriptions = [
        {
            "element_id": line,
            "text": f"Text of {double.elements[line]['name']}",
            "confidence": CONFIDENCE,
            "orientation": "horizontal-lr",
        }
        for line in lines
    ]
    body = {"worker_run_id": double.worker_run_id, "transcriptions": transcriptions}
    requests.append(("POST", "transcription/bulk/", "", body))
    if first:
        classes = f"corpus/{double.corpus_id}/classes/"
        requests += [
            ("GET", classes, "", None),
            ("POST", classes, "", {"name": "demo"}),
        ]
    classification = {
        "element": element_id,
        "ml_class": double.ml_classes["demo"],
        "worker_run_id": double.worker_run_id,
        "confidence": CONFIDENCE,
        "high_confidence": False,
    }
    metadata = {
        "type": "numeric",
        "name": "lines",
        "value": str(len(lines)),
        "entity_id": None,
        "worker_run_id": double.worker_run_id,
    }
    return [
        *requests,
        ("POST", "classifications/", "", classification),
        ("POST", f"element/{element_id}/metadata/", "", metadata),
        activity(double, element_id, "processed"),
    ]


def expected_requests(demo: Demo) -> list[Call]:
    """Every request of a complete run over the demo elements, in order."""
    double = demo.double
    requests = [("GET", f"process/workers/{double.worker_run_id}/", "", None)]
    for index, element_id in enumerate(demo.elements):
        requests += element_requests(demo, element_id, first=index == 0)
    return requests


def expected_log(demo: Demo, home: Path) -> list[str]:
    """Every log line of a complete run over the demo elements, in order."""
    double = demo.double
    lines = [
        f"INFO/arkindex_worker: Worker will use {home}/data/arkindex as working directory",
        "INFO/arkindex_worker: Loaded Worker Demo worker @ e2e from API",
    ]
    count = len(demo.elements)
    for index, element_id in enumerate(demo.elements, start=1):
        element = double.elements[element_id]
        n = len(double.children(element_id))
        noun = "transcription" if n == 1 else "transcriptions"
        lines += [
            f"INFO/arkindex_worker: Processing page {element['name']} ({element_id}) ({index}/{count})",
            f"INFO/arkindex_worker.utils: Creating batches of size 50 to process {n} {noun}",
            f"INFO/arkindex_worker.utils: Processing batch 1 containing {n} {noun}...",
        ]
        if index == 1:
            lines += [
                f"INFO/arkindex_worker: Loaded 0 ML classes in corpus ({double.corpus_id})",
                f"INFO/arkindex_worker: Creating ML class demo on corpus {double.corpus_id}",
            ]
    return [
        *lines,
        f"INFO/arkindex_worker: Ran on {count} elements: {count} completed, 0 failed",
    ]


def run_over_demo(home: Path, fault_rate: float = 0.0) -> tuple[Demo, Run]:
    """Process every demo element through an elements list; return the finished state."""
    with ArkindexDouble(fault_rate=fault_rate, seed=FAULT_SEED) as double:
        demo = build_demo(double)
        elements_list = write_elements_list(
            home / "elements.json",
            [{"id": element_id, "type": "page"} for element_id in demo.elements],
        )
        run = run_demo_worker(
            ["--elements-list", str(elements_list)], worker_env(double, home), home
        )
    return demo, run


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> Iterator[tuple[Demo, Run, Path]]:
    """One fault-free run over the demo elements, shared by the tests reading it."""
    home = tmp_path_factory.mktemp("clean")
    demo, run = run_over_demo(home)
    yield demo, run, home


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory) -> Iterator[tuple[Demo, Run, Path]]:
    """One run where about a fifth of the requests are answered 502 or 429."""
    home = tmp_path_factory.mktemp("faulty")
    demo, run = run_over_demo(home, fault_rate=FAULT_RATE)
    yield demo, run, home


# ---------------------------------------------------------------- clean run


def test_clean_run_exits_zero(clean_run):
    _demo, run, _home = clean_run
    assert run.returncode == 0, run.stderr


def test_clean_run_log(clean_run):
    demo, run, home = clean_run
    assert run.lines == expected_log(demo, home)


def test_clean_run_requests(clean_run):
    demo, _run, _home = clean_run
    assert [call(r) for r in demo.double.requests] == expected_requests(demo)


def test_clean_run_first_request_is_the_worker_run(clean_run):
    """No OpenAPI schema is fetched: the bundled operation table is used."""
    demo, _run, _home = clean_run
    first = demo.double.requests[0]
    assert (first.method, first.path) == (
        "GET",
        f"process/workers/{demo.double.worker_run_id}/",
    )
    assert not any("openapi" in r.path for r in demo.double.requests)


def test_clean_run_authenticates_every_request(clean_run):
    demo, _run, _home = clean_run
    assert {r.status for r in demo.double.requests} <= {200, 201}
    assert not any("Authorization" in r.headers for r in demo.double.requests)


def test_clean_run_publications(clean_run):
    demo, _run, _home = clean_run
    double = demo.double
    assert double.activities == dict.fromkeys(demo.elements, "processed")
    assert [t["text"] for t in double.transcriptions] == [
        "Text of Line 1.1",
        "Text of Line 1.2",
        "Text of Line 1.3",
        "Text of Line 2.1",
        "Text of Line 2.2",
        "Text of Line 2.3",
        "Text of 1",
    ]
    assert [c["element"] for c in double.classifications] == demo.elements
    assert [(m["element_id"], m["value"]) for m in double.metadata] == [
        (demo.pages[0], "3"),
        (demo.pages[1], "3"),
        (demo.empty_page, "1"),
    ]


# ---------------------------------------------------------------- faults


def test_faulty_run_completes_every_element(faulty_run):
    _demo, run, _home = faulty_run
    assert run.returncode == 0, run.stderr
    assert run.lines[-1] == (
        "INFO/arkindex_worker: Ran on 3 elements: 3 completed, 0 failed"
    )


def test_faulty_run_injected_both_kinds_of_faults(faulty_run):
    """The seed gives 502s and 429s on reads, writes and pages (or the test is weak)."""
    demo, _run, _home = faulty_run
    injected = [r for r in demo.double.requests if r.injected]
    assert {r.status for r in injected} == {429, 502}
    assert {r.method for r in injected} >= {"GET", "POST", "PUT"}
    assert "ListElementChildren" in {r.operation for r in injected}


def test_faulty_run_served_the_clean_sequence(faulty_run):
    demo, _run, _home = faulty_run
    assert [call(r) for r in demo.double.served()] == expected_requests(demo)


def test_faulty_run_retries_each_fault_at_once(faulty_run):
    requests = faulty_run[0].double.requests
    for index, request in enumerate(requests):
        if request.injected:
            assert call(requests[index + 1]) == call(request)


def test_faulty_run_logs_one_line_per_retry(faulty_run):
    demo, run, home = faulty_run
    retries = [
        line
        for line in run.lines
        if line.startswith(
            (
                "INFO/arkindex_worker.api: Retrying ",
                "WARNING/arkindex_worker.api: API Error ",
            )
        )
    ]
    assert len(retries) == len([r for r in demo.double.requests if r.injected])
    assert [line for line in run.lines if line not in retries] == expected_log(
        demo, home
    )
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------- activities & modes


def test_already_started_element_is_skipped(demo, run_worker):
    """UpdateWorkerActivity answers 409 for an element this run already started."""
    double, page = demo.double, demo.pages[0]
    double.activities[page] = "started"

    run = run_worker(double, ["--element", page])

    assert run.returncode == 0, run.stderr
    assert run.lines[-2:] == [
        f"INFO/arkindex_worker: Skipping element {page} as it was already processed",
        "INFO/arkindex_worker: Ran on 1 element: 1 completed, 0 failed",
    ]
    assert [(call(r), r.status) for r in double.requests] == [
        (("GET", f"process/workers/{double.worker_run_id}/", "", None), 200),
        (("GET", f"element/{page}/", "", None), 200),
        (activity(double, page, "started"), 409),
    ]


def test_dev_mode_reads_line_type_from_config(demo, run_worker, tmp_path):
    double, page = demo.double, demo.pages[0]
    double.add_element_type("word")
    double.add_element("word", "Word 1", parent=page)
    config = tmp_path / "config.yml"
    config.write_text("line_type: word\n")

    run = run_worker(double, ["--dev", "--config", str(config), "--element", page])

    assert run.returncode == 0, run.stderr
    assert [call(r) for r in double.requests] == [
        ("GET", f"element/{page}/", "", None),
        ("GET", f"elements/{page}/children/", "type=word", None),
    ]


def test_dev_mode_publishes_nothing(demo, run_worker, tmp_path):
    page = demo.pages[0]
    config = tmp_path / "config.yml"
    config.write_text("line_type: text_line\n")

    run = run_worker(demo.double, ["--dev", "--config", str(config), "--element", page])

    assert run.returncode == 0, run.stderr
    assert run.lines == [
        f"INFO/arkindex_worker: Worker will use {tmp_path}/data/arkindex as working directory",
        f"INFO/arkindex_worker: Running with local configuration from {config}",
        "INFO/arkindex_worker: No worker activity will be stored as it is disabled for this process",
        f"INFO/arkindex_worker: Processing page Page 1 ({page}) (1/1)",
        "WARNING/arkindex_worker: Cannot create transcription as this worker is in read-only mode",
        "WARNING/arkindex_worker: Cannot create classification as this worker is in read-only mode",
        "WARNING/arkindex_worker: Cannot create metadata as this worker is in read-only mode",
        "INFO/arkindex_worker: Ran on 1 element: 1 completed, 0 failed",
    ]
    assert [r.method for r in demo.double.requests] == ["GET", "GET"]
