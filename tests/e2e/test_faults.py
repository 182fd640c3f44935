"""End-to-end: ``worker-demo`` against the API double injecting network and server faults.

Each scenario runs the console script once over the three demo elements (two
pages with lines, one without), with faults aimed at chosen requests (`Fault`);
the processes of all scenarios run side by side (one module fixture). Retry
waits are shortened through ``ARKINDEX_API_RETRY_WAIT_MIN``/``MAX``, not skipped.

Whatever the faults, nothing is lost silently: every element is either processed
with all its publications, or reported failed by one log line; no publication is
made twice; the exit status is 0 when some element completed, 1 when none did.
A write whose answer was lost is settled by a read (verify, then retry:
`arkindex_worker.api.confirm`), so its element completes; the ``undecided``
scenario keeps the `UnconfirmedWriteError` where the read cannot tell.
`tests/e2e/test_fault_run.py` makes a whole run under a share of faults.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import requests

from tests.e2e.conftest import (
    build_demo,
    finish,
    start_demo_worker,
    worker_env,
)
from tests.e2e.double import (
    NO_ANSWER,
    SERVER_ERROR,
    UNAVAILABLE_PAGE,
    ArkindexDouble,
    Fault,
)
from tests.e2e.fault_scenarios import (
    DROPPED,
    SCENARIOS,
    SUMMARY,
    WAIT,
    Outcome,
    complete_publications,
    failed,
    failure_lines,
    processed,
    publications,
    requests_of,
    retry_lines,
    summary_line,
    unconfirmed_message,
)
from tests.e2e.test_worker_demo import (
    call,
    expected_requests,
    lines_of,
)

# Real processes: their waits must really wait, not spin.
pytestmark = pytest.mark.real_sleep


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    """Run every scenario at once, each against its own double."""
    home = tmp_path_factory.mktemp("faults")
    doubles, started = {}, {}
    try:
        for name, scenario in SCENARIOS.items():
            folder = home / name
            folder.mkdir()
            double = ArkindexDouble(seed=scenario.seed).start()
            doubles[name] = double
            demo = build_demo(double)
            # Images from the double's IIIF server (HTTP)
            double.version_configuration = {"crop_lines": True}
            if scenario.prepare is not None:
                scenario.prepare(demo)
            double.inject(*scenario.faults(demo))
            port = int(double.url.rsplit(":", 1)[1].rstrip("/"))
            process = start_demo_worker(
                ["--element", *demo.elements],
                worker_env(double, folder, **scenario.env),
                folder,
            )
            started[name] = (demo, process, port)
        return {
            name: Outcome(demo, finish(process), port)
            for name, (demo, process, port) in started.items()
        }
    finally:
        for double in doubles.values():
            double.stop()


# ---------------------------------------------------------------- every scenario


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_faults_were_injected(outcomes, name):
    """Each aimed fault hit at least once (or the scenario tests nothing)."""
    double = outcomes[name].demo.double
    assert all(fault.hits for fault in double.faults)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_processed_elements_have_all_their_publications(outcomes, name):
    outcome = outcomes[name]
    double = outcome.demo.double
    for element_id in processed(outcome):
        assert publications(double, element_id) == complete_publications(
            double, element_id
        )
        assert failure_lines(outcome.run, element_id) == []


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_other_elements_are_reported_failed_once(outcomes, name):
    outcome = outcomes[name]
    for element_id in failed(outcome):
        assert len(failure_lines(outcome.run, element_id)) == 1
        assert outcome.demo.double.activities[element_id] == "error"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_nothing_is_published_twice(outcomes, name):
    double = outcomes[name].demo.double
    for element_id in outcomes[name].demo.elements:
        assert max(publications(double, element_id).values(), default=1) == 1


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_summary_and_exit_status_match_the_double(outcomes, name):
    outcome = outcomes[name]
    run = outcome.run
    match = SUMMARY.search(summary_line(run))
    assert match, run.stderr
    completed, failures = int(match[1]), int(match[2])
    assert (completed, failures) == (len(processed(outcome)), len(failed(outcome)))
    assert run.returncode == (0 if completed else 1), run.stderr
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------- 5xx


def test_server_errors_fail_only_the_element_whose_write_never_passed(outcomes):
    outcome = outcomes["server-errors"]
    demo, run = outcome.demo, outcome.run
    page = demo.pages[1]
    assert failed(outcome) == [page]
    assert failure_lines(run, page) == [
        "WARNING/arkindex_worker: An API error occurred while processing element "
        f"{page}: 503 Service Unavailable - {UNAVAILABLE_PAGE}"
    ]
    assert summary_line(run) == (
        "ERROR/arkindex_worker: Ran on 3 elements: 2 completed, 1 failed"
    )
    assert run.returncode == 0


def test_server_errors_are_retried_five_times_in_all(outcomes):
    demo = outcomes["server-errors"].demo
    page = demo.pages[1]
    attempts = requests_of(demo.double, "CreateClassification", page)
    assert [r.status for r in attempts] == [503] * 5
    assert ("classification", page) not in publications(demo.double, page)


def test_server_errors_each_retried_after_one_bounded_wait(outcomes):
    """Every 5xx but the last of the failing write is logged, then sent again."""
    outcome = outcomes["server-errors"]
    requests = outcome.demo.double.requests
    last = requests_of(
        outcome.demo.double, "CreateClassification", outcome.demo.pages[1]
    )[-1]
    injected = [r for r in requests if r.injected and r is not last]
    assert {r.status for r in injected} == {500, 502, 503}
    assert {r.method for r in injected} == {"GET", "POST", "PUT"}
    assert "ListElementChildren" in {r.operation for r in injected}  # pages too
    assert Counter(retry_or_page_warning(line) for line in outcome.run.lines) == (
        Counter(expected_retry(r) for r in injected)
        + Counter({None: len(outcome.run.lines) - len(injected)})
    )
    for index, request in enumerate(requests):
        if request.injected and request is not last:
            assert call(requests[index + 1]) == call(request)


REASONS = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Unavailable",
}


def retry_or_page_warning(line: str) -> str | None:
    """A retry line, without its attempt number, or a page given up; ``None`` else.

    Pages are retried by the client's policy like any other read: a page given
    up (``API Error … on pagination``) is kept, so that one would show.
    """
    if line.startswith("WARNING/arkindex_worker.api: API Error "):
        return line.split(" on pagination:")[0]
    if line.startswith("INFO/arkindex_worker.api: Retrying "):
        return re.sub(r" \(attempt \d of 5 failed\)$", "", line)
    return None


def expected_retry(request) -> str:
    """The line logged before retrying an injected 5xx (pages included)."""
    return (
        f"INFO/arkindex_worker.api: Retrying {request.operation} in {WAIT} seconds "
        f"after HTTP {REASONS[request.status]}"
    )


def test_all_elements_failing_exits_1(outcomes):
    outcome = outcomes["all-fail"]
    demo, run = outcome.demo, outcome.run
    assert run.returncode == 1
    assert summary_line(run) == (
        "ERROR/arkindex_worker: Ran on 3 elements: 0 completed, 3 failed"
    )
    for element_id in demo.elements:
        assert failure_lines(run, element_id) == [
            "WARNING/arkindex_worker: An API error occurred while processing element "
            f"{element_id}: 500 Internal Server Error - {SERVER_ERROR}"
        ]
        attempts = requests_of(demo.double, "CreateClassification", element_id)
        assert len(attempts) == 5
    assert retry_lines(run) == [
        f"CreateClassification in {WAIT} seconds after HTTP 500 Internal Server "
        f"Error (attempt {attempt} of 5 failed)"
        for _element in demo.elements
        for attempt in range(1, 5)
    ]


# ---------------------------------------------------------------- 429


def test_throttled_requests_of_every_method_are_retried(outcomes):
    outcome = outcomes["throttled"]
    demo = outcome.demo
    assert processed(outcome) == demo.elements
    assert [call(r) for r in demo.double.served()] == expected_requests(demo)
    assert {r.method for r in demo.double.faulted()} == {"GET", "PUT", "POST"}


def test_throttled_waits_follow_retry_after_within_the_bound(outcomes):
    assert retry_lines(outcomes["throttled"].run) == [
        "RetrieveElement in 0.02 seconds after HTTP 429 Too Many Requests "
        "(attempt 1 of 5 failed)",
        f"UpdateWorkerActivity in {WAIT} seconds after HTTP 429 Too Many Requests "
        "(attempt 1 of 5 failed)",
        f"UpdateWorkerActivity in {WAIT} seconds after HTTP 429 Too Many Requests "
        "(attempt 2 of 5 failed)",
        f"CreateClassification in {WAIT} seconds after HTTP 429 Too Many Requests "
        "(attempt 1 of 5 failed)",
    ]


# ---------------------------------------------------------------- dropped connections


def test_dropped_reads_are_sent_again(outcomes):
    outcome = outcomes["dropped"]
    double, page = outcome.demo.double, outcome.demo.pages[1]
    assert page in processed(outcome)
    for operation, fault in (
        ("RetrieveElement", "drop-after"),
        ("ListElementChildren", "drop-before"),
    ):
        assert [r.fault for r in requests_of(double, operation, page)] == [fault, None]


def test_dropped_write_before_applying_is_read_then_sent_again(outcomes):
    """Verify, then retry: the element's classifications show none, so it is re-sent."""
    outcome = outcomes["dropped"]
    double, page = outcome.demo.double, outcome.demo.pages[0]
    assert page in processed(outcome)
    sent = [
        (r.operation, r.fault)
        for r in double.requests
        if r.operation in ("CreateClassification", "RetrieveElement")
        and page in (r.path + json.dumps(r.body))
    ]
    assert sent == [
        ("RetrieveElement", None),  # the element to process
        ("CreateClassification", "drop-before"),
        ("RetrieveElement", None),  # the check
        ("CreateClassification", None),
    ]
    assert publications(double, page)[("classification", page)] == 1


def test_dropped_write_after_applying_is_read_and_not_sent_again(outcomes):
    """The metadata exists: the element's metadata show it, the answer is rebuilt."""
    outcome = outcomes["dropped"]
    double, page = outcome.demo.double, outcome.demo.empty_page
    assert page in processed(outcome)
    assert [r.fault for r in requests_of(double, "CreateMetaData", page)] == [
        "drop-after"
    ]
    (check,) = requests_of(double, "ListElementMetaData", page)
    assert (check.path, check.query) == (f"element/{page}/metadata/", "")
    assert publications(double, page)[("metadata", "element", "lines")] == 1
    assert (
        "INFO/arkindex_worker.api: CreateMetaData was applied: its answer is rebuilt"
        in outcome.run.lines
    )


def test_dropped_started_activity_is_sent_again(outcomes):
    """The re-sent ``started`` is answered 409: already started, by the lost one."""
    outcome = outcomes["dropped"]
    double, page = outcome.demo.double, outcome.demo.pages[1]
    assert page in processed(outcome)
    updates = requests_of(double, "UpdateWorkerActivity", page)
    assert [(r.body["state"], r.status, r.fault) for r in updates] == [
        ("started", 200, "drop-after"),  # applied, then no answer
        ("started", 409, None),
        ("processed", 200, None),
    ]


def test_undecided_write_fails_its_element(outcomes):
    """Two entities of that name and run: the read cannot tell, the element fails."""
    outcome = outcomes["undecided"]
    double, page = outcome.demo.double, outcome.demo.pages[0]
    assert failed(outcome) == [page]
    (line,) = failure_lines(outcome.run, page)
    assert unconfirmed_message("POST", "CreateEntity", DROPPED) in line
    assert (
        "WARNING/arkindex_worker.api: Cannot tell whether CreateEntity was applied: "
        "2 entities match 1 of the write"
    ) in outcome.run.lines
    created = [r for r in double.requests if r.operation == "CreateEntity"]
    assert [r.fault for r in created if r.body["name"] == "Line 1.1"] == ["drop-after"]
    (check,) = [r for r in double.requests if r.operation == "ListCorpusEntities"]
    assert check.params == {"name": ["Line 1.1"]}


# ---------------------------------------------------------------- read time-outs


def test_late_reads_are_sent_again(outcomes):
    outcome = outcomes["read-timeouts"]
    demo = outcome.demo
    assert demo.pages[0] in processed(outcome)
    assert demo.empty_page in processed(outcome)
    for operation, element_id in (
        ("RetrieveElement", demo.pages[0]),
        ("ListElementChildren", demo.empty_page),
    ):
        requests = requests_of(demo.double, operation, element_id)
        assert [r.fault for r in requests] == ["slow", None]


def test_late_write_is_read_and_not_sent_again(outcomes):
    """Applied by the server: each line's transcriptions of the run show it."""
    outcome = outcomes["read-timeouts"]
    double, page = outcome.demo.double, outcome.demo.pages[1]
    assert page in processed(outcome)
    lines = lines_of(double, page)
    assert [r.fault for r in requests_of(double, "CreateTranscriptions", lines[0])] == [
        "slow"
    ]
    checks = [r for r in double.requests if r.operation == "ListTranscriptions"]
    assert [(r.path, r.params) for r in checks] == [
        (f"element/{line}/transcriptions/", {"worker_run": [double.worker_run_id]})
        for line in lines
    ]
    assert publications(double, page)[("transcription", "Line 2.1")] == 1


# ---------------------------------------------------------------- cut answers


def test_cut_reads_are_sent_again(outcomes):
    outcome = outcomes["cut"]
    demo = outcome.demo
    for operation, element_id in (
        ("ListElementChildren", demo.pages[0]),
        ("RetrieveElement", demo.pages[1]),
    ):
        assert element_id in processed(outcome)
        requests = requests_of(demo.double, operation, element_id)
        assert [r.fault for r in requests] == ["cut", None]


def test_cut_write_is_read_and_not_sent_again(outcomes):
    outcome = outcomes["cut"]
    double, page = outcome.demo.double, outcome.demo.empty_page
    assert page in processed(outcome)
    assert [r.fault for r in requests_of(double, "CreateClassification", page)] == [
        "cut"
    ]
    assert publications(double, page)[("classification", page)] == 1


# ---------------------------------------------------------------- refused connections


def test_refused_write_is_retried_until_the_server_is_back(outcomes):
    outcome = outcomes["outage"]
    demo = outcome.demo
    assert processed(outcome) == demo.elements
    assert [call(r) for r in demo.double.requests] == expected_requests(demo)
    lines = retry_lines(outcome.run)
    assert lines
    assert {re.sub(r" \(attempt \d of 5 failed\)$", "", line) for line in lines} == {
        "CreateElements in 0.2 seconds after ConnectionError, the request did not "
        "reach the server"
    }


# ---------------------------------------------------------------- the double's faults


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match=r"Unknown fault kinds: \['504'\]"):
        Fault(("502", "504"))


def test_faults_hit_only_matching_requests_within_their_budget():
    with ArkindexDouble() as double:
        page = build_demo(double).pages[0]
        double.inject(Fault("drop-before", operation="RetrieveElement", times=2))
        session = requests.Session()
        session.headers["Authorization"] = f"Token {double.token}"
        url = f"{double.url}api/v1/element/{page}/"
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(session.get(url, timeout=5).status_code)
            except requests.ConnectionError:
                outcomes.append(None)
        worker_run = session.get(
            f"{double.url}api/v1/process/workers/{double.worker_run_id}/", timeout=5
        )
    assert outcomes == [None, None, 200]
    assert worker_run.status_code == 200
    assert [(r.status, r.injected, r.fault) for r in double.requests] == [
        (NO_ANSWER, True, "drop-before"),
        (NO_ANSWER, True, "drop-before"),
        (200, False, None),
        (200, False, None),
    ]
    assert double.faulted() == double.requests[:2]
