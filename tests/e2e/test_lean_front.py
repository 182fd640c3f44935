"""The benchmark's set-up, small: ``worker-scenario`` against the double's lean front.

Keeps ``benchmarks/workers.py`` working (it is not run by the test suite) and
runs the client's lean transport in a real worker process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import RUN_TIMEOUT, worker_env
from tests.e2e.double import ArkindexDouble
from tests.e2e.lean_front import LeanFront

pytestmark = pytest.mark.real_sleep

SCENARIO = Path(sys.executable).parent / "worker-scenario"
PER_ELEMENT = [
    ("RetrieveElement", "GET"),
    ("UpdateWorkerActivity", "PUT"),
    ("CreateElements", "POST"),
    ("CreateTranscription", "POST"),
    ("CreateClassification", "POST"),
    ("CreateMetaData", "POST"),
    ("UpdateWorkerActivity", "PUT"),
]


@pytest.mark.parametrize("overlap", ["0", "1"])
def test_scenario_worker_through_the_lean_front(tmp_path, overlap):
    double = ArkindexDouble()
    image = double.add_image(100, 100)
    folder = double.add_element("folder", "Benchmark")
    pages = [
        double.add_element("page", f"Page {n}", parent=folder, image=image)
        for n in range(3)
    ]
    elements_list = tmp_path / "elements.json"
    elements_list.write_text(json.dumps([{"id": page} for page in pages]))
    with LeanFront(double, latency=0.001) as front:
        env = worker_env(
            double,
            tmp_path,
            ARKINDEX_API_URL=front.url,
            ARKINDEX_WORKER_OVERLAP=overlap,
        )
        result = subprocess.run(
            [str(SCENARIO), "--elements-list", str(elements_list)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert double.activities == dict.fromkeys(pages, "processed")
    served = [(r.operation, r.method) for r in double.requests]
    run_requests = [
        ("RetrieveWorkerRun", "GET"),
        ("ListCorpusMLClasses", "GET"),
        ("CreateMLClass", "POST"),
    ]
    if overlap == "0":
        # Classes are loaded when the first classification is created
        first = PER_ELEMENT[:4] + run_requests[1:] + PER_ELEMENT[4:]
        assert served == run_requests[:1] + first + PER_ELEMENT * (len(pages) - 1)
    else:
        assert sorted(served) == sorted(run_requests + PER_ELEMENT * len(pages))
    assert front.first_request_at is not None
