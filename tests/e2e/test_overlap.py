"""End to end with the default overlap of network waits across elements.

The requests of consecutive elements interleave, so the whole sequence varies
from run to run; what must hold is that every expected request is sent once,
and that each element's own requests keep their order.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.e2e.test_worker_demo import (
    call,
    expected_requests,
    run_over_demo,
)

pytestmark = pytest.mark.real_sleep


def mentions(request, element_id: str) -> bool:
    return element_id in json.dumps(request)


@pytest.fixture(scope="module", params=[0.0, 0.2], ids=["clean", "faulty"])
def overlapped_run(request, tmp_path_factory):
    home = tmp_path_factory.mktemp("overlap")
    return run_over_demo(home, fault_rate=request.param, ARKINDEX_WORKER_OVERLAP="1")


def test_every_element_completes(overlapped_run):
    demo, run = overlapped_run
    assert run.returncode == 0, run.stderr
    assert run.lines[-1].endswith("Ran on 3 elements: 3 completed, 0 failed")
    assert demo.double.activities == dict.fromkeys(demo.elements, "processed")


def test_every_request_sent_once(overlapped_run):
    demo, _run = overlapped_run
    sent = [call(r) for r in demo.double.served()]
    expected = expected_requests(demo)
    assert Counter(map(json.dumps, sent)) == Counter(map(json.dumps, expected))


def test_each_element_keeps_its_order(overlapped_run):
    demo, _run = overlapped_run
    sent = [call(r) for r in demo.double.served()]
    expected = expected_requests(demo)
    for element_id in demo.elements:
        assert [r for r in sent if mentions(r, element_id)] == [
            r for r in expected if mentions(r, element_id)
        ]


def test_requests_did_overlap(overlapped_run):
    demo, _run = overlapped_run
    operations = [r.operation for r in demo.double.served()]
    # The second element was retrieved before the first one was finished
    first_processed = max(
        i
        for i, r in enumerate(demo.double.served())
        if r.operation == "UpdateWorkerActivity"
        and r.body["element_id"] == demo.elements[0]
        and r.body["state"] == "processed"
    )
    second_retrieved = operations.index("RetrieveElement", 2)
    assert second_retrieved < first_processed
