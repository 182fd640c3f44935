"""The loopback API double itself: recording, authentication, pagination, faults."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.double import ArkindexDouble, RecordedRequest, build_demo_corpus

pytestmark = pytest.mark.real_sleep


def call(double: ArkindexDouble, method: str, url: str, token: str = "", **kwargs):
    """Send one request with the double's token (or another one)."""
    headers = {"Authorization": f"Token {token or double.token}"}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def api(double: ArkindexDouble, path: str) -> str:
    return f"{double.url}api/v1/{path}"


@pytest.fixture
def double() -> Iterator[ArkindexDouble]:
    with ArkindexDouble(page_size=2) as started:
        yield started


def test_records_method_path_query_body_and_status(double):
    page = build_demo_corpus(double, pages=1)[0]
    url = api(double, f"elements/{page}/children/?type=text_line")

    call(double, "GET", url, headers={"X-Test": "yes"})

    (recorded,) = double.requests
    assert recorded == RecordedRequest(
        operation="ListElementChildren",
        method="GET",
        path=f"elements/{page}/children/",
        query="type=text_line",
        body=None,
        headers=recorded.headers,
        status=200,
    )
    assert recorded.headers["X-Test"] == "yes"
    assert "Authorization" not in recorded.headers


def test_wrong_token_is_answered_401(double):
    answer = call(double, "GET", api(double, f"corpus/{double.corpus_id}/"), "nope")

    assert answer.status_code == 401
    assert answer.json() == {"detail": "Invalid token."}
    assert [r.status for r in double.requests] == [401]


def test_unknown_route_is_answered_404(double):
    answer = call(double, "GET", api(double, "openapi/"))

    assert answer.status_code == 404
    assert [(r.operation, r.path) for r in double.requests] == [(None, "openapi/")]


def test_children_are_paginated(double):
    page = build_demo_corpus(double, pages=1, lines=3)[0]
    url = api(double, f"elements/{page}/children/")

    first = call(double, "GET", url).json()
    second = call(double, "GET", first["next"]).json()

    assert (first["count"], len(first["results"])) == (3, 2)
    assert first["next"] == f"{url}?page=2"
    assert (second["next"], [e["name"] for e in second["results"]]) == (
        None,
        ["Line 1.3"],
    )


def test_starting_an_element_twice_is_a_conflict(double):
    page = build_demo_corpus(double, pages=1)[0]
    url = api(double, f"workers/versions/{double.worker_run_id}/activity/")
    body = {"element_id": page, "process_id": double.process_id, "state": "started"}

    statuses = [call(double, "PUT", url, json=body).status_code for _ in range(2)]

    assert statuses == [200, 409]
    assert double.activities == {page: "started"}


def test_secret_names_may_hold_slashes(double):
    double.secrets["path/to/secret.json"] = '{"key": "value"}'

    answer = call(double, "GET", api(double, "secret/path%2Fto%2Fsecret.json"))

    assert answer.json() == {
        "name": "path/to/secret.json",
        "content": '{"key": "value"}',
    }


def _fault_statuses(seed: int) -> list[int]:
    with ArkindexDouble(fault_rate=0.5, seed=seed) as double:
        url = api(double, f"corpus/{double.corpus_id}/")
        return [call(double, "GET", url).status_code for _ in range(12)]


def test_faults_are_deterministic_for_a_seed():
    assert _fault_statuses(3) == _fault_statuses(3)
    assert set(_fault_statuses(3)) == {200, 429, 502}


def test_faults_look_like_a_load_balancer_and_a_throttle():
    with ArkindexDouble(fault_rate=1.0) as double:
        url = api(double, f"corpus/{double.corpus_id}/")
        answers = [call(double, "GET", url) for _ in range(8)]

    gateway = next(a for a in answers if a.status_code == 502)
    throttled = next(a for a in answers if a.status_code == 429)
    assert gateway.headers["Content-Type"] == "text/html; charset=utf-8"
    assert gateway.text.startswith("<html>")
    assert throttled.headers["Retry-After"] == "0"


def test_faults_are_injected_before_the_request_is_applied():
    with ArkindexDouble(fault_rate=1.0) as double:
        url = api(double, f"corpus/{double.corpus_id}/classes/")
        call(double, "POST", url, json={"name": "demo"})

    assert double.ml_classes == {}
    assert [r.injected for r in double.requests] == [True]


def test_latency_delays_every_answer_and_first_request_is_timed():
    latency = 0.05
    with ArkindexDouble(latency=latency) as double, requests.Session() as session:
        url = api(double, f"corpus/{double.corpus_id}/")
        headers = {"Authorization": f"Token {double.token}"}
        assert double.first_request_at is None
        sent, answered = [], []
        for _ in range(2):  # the second one on the kept-alive connection
            sent.append(time.perf_counter())
            answer = session.get(url, headers=headers, timeout=10)
            answered.append(time.perf_counter())
            assert answer.status_code == 200

    assert all(end - start >= latency for start, end in zip(sent, answered))
    # Arrived after it was sent; answered (latency later) before it was received
    assert sent[0] <= double.first_request_at <= answered[0] - latency


def test_runs_as_a_module_and_prints_its_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.double", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        token = process.stdout.readline().strip().split("=", 1)[1]
        answer = requests.get(
            f"{url}api/v1/corpus/",
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        )
    finally:
        process.terminate()
        process.communicate(timeout=10)

    assert url.startswith("http://127.0.0.1:")
    assert answer.status_code == 404


# ---------------------------------------------------------------- IIIF server


def test_iiif_serves_a_decodable_page_after_its_latency():
    from PIL import Image

    with ArkindexDouble(latency=0.0, iiif_latency=0.1) as double:
        image = double.add_image(1000, 1500)
        page = double.add_element("page", "Page", image=image)
        zone = double.element_payload(page)["zone"]
        assert zone["image"]["url"] == f"{double.iiif_url}{image}"
        # Another origin than the API's, as a real IIIF server: it gets no token
        assert not double.iiif_url.startswith(double.url)
        started = time.perf_counter()
        answer = requests.get(zone["url"], timeout=10)  # no token
        elapsed = time.perf_counter() - started

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "image/jpeg"
    decoded = Image.open(io.BytesIO(answer.content))
    decoded.load()
    assert (decoded.format, decoded.size, decoded.mode) == ("JPEG", (1000, 1500), "RGB")
    assert 50_000 < len(answer.content) < 500_000  # what a scanned page weighs
    assert elapsed >= 0.1
    (recorded,) = double.iiif_requests
    assert (recorded.operation, recorded.path, recorded.authorization) == (
        "IIIFImage",
        f"/iiif/{image}/0,0,1000,1500/full/0/default.jpg",
        False,
    )
    assert double.requests == []  # not an API request


def test_iiif_crops_resizes_and_records_a_token():
    from PIL import Image

    with ArkindexDouble() as double:
        image = double.add_image(1000, 1500)
        base = f"{double.iiif_url}{image}"
        crop = call(double, "GET", f"{base}/100,200,300,400/150,/0/gray.png")
        info = requests.get(f"{base}/info.json", timeout=10)
        missing = requests.get(f"{double.iiif_url}nope/full/full/0/default.jpg")

    assert Image.open(io.BytesIO(crop.content)).size == (150, 200)
    assert Image.open(io.BytesIO(crop.content)).mode == "L"
    assert (info.json()["width"], info.json()["height"]) == (1000, 1500)
    assert missing.status_code == 404
    assert [(r.operation, r.status, r.authorization) for r in double.iiif_requests] == [
        ("IIIFImage", 200, True),
        ("IIIFInfo", 200, False),
        ("IIIFImage", 404, False),
    ]
    assert "Authorization" not in double.iiif_requests[0].headers
