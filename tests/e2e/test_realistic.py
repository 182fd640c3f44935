"""End to end: ``worker-realistic`` downloads each image once, without the token.

The worker of the "realistic worker" benchmark rows (image, model, two
publications), on three pages with their own image served by the double's IIIF
route, in each of the benchmark's three modes: strictly sequential, overlap of
network waits without the image read-ahead, and the defaults (overlap and image
read-ahead).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import RUN_TIMEOUT, worker_env
from tests.e2e.double import IIIF_IMAGE, ArkindexDouble

pytestmark = pytest.mark.real_sleep

SCRIPT = Path(sys.executable).with_name("worker-realistic")
ELEMENTS = 3
MODES = {
    "sequential": {"ARKINDEX_WORKER_OVERLAP": "0"},
    "overlap": {
        "ARKINDEX_WORKER_OVERLAP": "1",
        "ARKINDEX_WORKER_IMAGE_READ_AHEAD": "0",
    },
    "defaults": {},
}
"""The benchmark's modes; ``defaults`` leaves both variables unset."""


def run_realistic(home: Path, mode: dict[str, str]) -> tuple[ArkindexDouble, list, str]:
    """Run the worker on 3 pages (0.01 s model); return the double, the IDs, stderr."""
    with ArkindexDouble() as double:
        folder = double.add_element("folder", "Realistic")
        ids = [
            double.add_element(
                "page", f"Page {n}", parent=folder, image=double.add_image(1000, 1500)
            )
            for n in range(ELEMENTS)
        ]
        elements_list = home / "elements.json"
        elements_list.write_text(json.dumps([{"id": i} for i in ids]))
        env = worker_env(double, home, REALISTIC_MODEL_SECONDS="0.01", **mode)
        for name in MODES["overlap"]:
            if name not in mode:
                env.pop(name, None)
        process = subprocess.run(
            [sys.executable, str(SCRIPT), "--elements-list", str(elements_list)],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    assert process.returncode == 0, process.stderr
    return double, ids, process.stderr


@pytest.fixture(scope="module", params=list(MODES))
def realistic_run(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"realistic-{request.param}")
    return run_realistic(home, MODES[request.param])


def test_every_element_processed(realistic_run):
    double, ids, _stderr = realistic_run
    assert double.activities == dict.fromkeys(ids, "processed")


def test_one_classification_and_three_lines_per_element(realistic_run):
    double, ids, _stderr = realistic_run
    assert Counter(c["element"] for c in double.classifications) == Counter(ids)
    assert Counter(t["element_id"] for t in double.transcriptions) == Counter(
        dict.fromkeys(ids, 3)
    )
    assert {t["text"] for t in double.transcriptions} == {
        f"Line {n} of a 1000x1500 page" for n in (1, 2, 3)
    }
    bulk = [r for r in double.served() if r.operation == "CreateTranscriptions"]
    assert len(bulk) == ELEMENTS


def test_one_image_request_per_element(realistic_run):
    double, ids, _stderr = realistic_run
    images = [double.elements[i]["image"] for i in ids]
    assert all(r.operation == IIIF_IMAGE for r in double.iiif_requests)
    assert all(r.status == 200 for r in double.iiif_requests)
    assert Counter(r.path.split("/")[2] for r in double.iiif_requests) == Counter(
        images
    )


def test_no_token_sent_to_the_image_server(realistic_run):
    double, _ids, _stderr = realistic_run
    assert double.iiif_requests
    assert not any(r.authorization for r in double.iiif_requests)
    # API requests do carry it (the flag works)
    assert all(r.authorization for r in double.requests)
