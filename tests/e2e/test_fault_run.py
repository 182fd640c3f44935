"""End-to-end: one whole run of ``worker-demo`` with 5 % of requests dropped and 5 % throttled.

The double drops the connection of a seeded 5 % of the API requests (half
before applying them, half after) and answers another 5 % with ``429``
(`fault_mix`). Writes whose answer was lost are settled by a read (verify,
then retry: `arkindex_worker.api.confirm`): every element completes, with each
of its publications made exactly once.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.e2e.conftest import Run, build_demo, finish, start_demo_worker, worker_env
from tests.e2e.double import ArkindexDouble, fault_mix
from tests.e2e.fault_scenarios import (
    SHORT_WAITS,
    complete_publications,
    publications,
    summary_line,
)

pytestmark = pytest.mark.real_sleep

PAGES = 12
SEED = 3
"""A seed whose draws drop writes before and after applying them, and throttle some."""


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory) -> tuple[ArkindexDouble, list[str], Run]:
    home = tmp_path_factory.mktemp("fault-run")
    with ArkindexDouble(seed=SEED) as double:
        demo = build_demo(double)
        pages = demo.elements + [
            double.add_element("page", f"Page {n}", image=double.add_image())
            for n in range(len(demo.elements) + 1, PAGES + 1)
        ]
        double.version_configuration = {"crop_lines": True}
        double.inject(*fault_mix(dropped=0.05, throttled=0.05))
        process = start_demo_worker(
            ["--element", *pages], worker_env(double, home, **SHORT_WAITS), home
        )
        run = finish(process)
    return double, pages, run


def test_every_element_completes(fault_run):
    double, pages, run = fault_run
    assert run.returncode == 0, run.stderr
    assert summary_line(run) == (
        f"INFO/arkindex_worker: Ran on {PAGES} elements: {PAGES} completed, 0 failed"
    )
    assert [double.activities.get(page) for page in pages] == ["processed"] * PAGES


def test_no_write_is_lost_or_made_twice(fault_run):
    double, pages, _run = fault_run
    for page in pages:
        assert publications(double, page) == complete_publications(double, page)


def test_faults_hit_writes_before_and_after_applying_them(fault_run):
    """The run tests something: writes lost both ways, and throttled."""
    double, _pages, run = fault_run
    hits = Counter(
        (r.fault, r.method) for r in double.faulted() if r.method in ("POST", "PUT")
    )
    assert hits[("drop-before", "POST")] >= 1
    assert hits[("drop-after", "POST")] >= 1
    assert hits[("429", "POST")] >= 1
    shares = Counter(r.fault for r in double.faulted())
    total = len(double.requests)
    assert 0.02 * total < shares["drop-before"] + shares["drop-after"] < 0.1 * total
    assert 0.02 * total < shares["429"] < 0.1 * total
    settled = [line for line in run.lines if " was applied: " in line]
    resent = [line for line in run.lines if " was not applied: " in line]
    assert settled and resent
