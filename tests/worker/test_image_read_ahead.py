"""ElementsWorker.run: the next element's image is read ahead (arkindex_worker.prefetch)."""

from __future__ import annotations

import gc
import json
import sys
import threading
import weakref
from concurrent.futures import Future
from io import BytesIO

import pytest
from PIL import Image

from arkindex_worker.prefetch import ImageReadAhead
from arkindex_worker.worker import ElementsWorker
from tests.conftest import WORKER_RUN_ID, api_url
from tests.worker.factories import element_payload, worker_run_payload

ELEMENTS = [f"11111111-1111-1111-1111-00000000000{n}" for n in range(1, 4)]
ACTIVITY_URL = api_url(f"workers/versions/{WORKER_RUN_ID}/activity/")
IIIF = "http://iiif.test/iiif"
SIZE = (200, 100)


def image_url(n: int) -> str:
    return f"{IIIF}/page{n}.jpg"


def crop_url(n: int, size: str = "full") -> str:
    return f"{image_url(n)}/0,0,200,100/{size}/0/default.jpg"


def zoned_payload(element_id: str, n: int) -> dict:
    """An element on its own 200×100 image, whose zone is part of the image."""
    return {
        **element_payload(element_id, f"Page {n}"),
        "zone": {
            "url": crop_url(n),
            "polygon": [[0, 0], [200, 0], [200, 100], [0, 100], [0, 0]],
            "image": {
                "id": f"image-{n}",
                "url": image_url(n),
                "width": 400,
                "height": 100,
                "server": {"max_width": None, "max_height": None},
                "s3_url": None,
            },
        },
    }


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = SIZE) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, format="jpeg")
    return out.getvalue()


class Server:
    """Records the IIIF requests with the thread that sent them."""

    def __init__(self, mock_api) -> None:
        self.mock_api = mock_api
        self.downloads: list[tuple[str, str]] = []
        self.authorized = 0
        self.answers: dict[str, list[tuple[int, bytes]]] = {}

    def serve(self, url: str, *answers: tuple[int, bytes]) -> None:
        self.answers[url] = list(answers)
        self.mock_api.add_callback("GET", url, callback=self._answer)

    def _answer(self, request):
        self.downloads.append((request.url, threading.current_thread().name))
        self.authorized += "Authorization" in request.headers
        answers = self.answers[request.url]
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        return status, {"Content-Type": "image/jpeg"}, body

    def urls(self) -> list[str]:
        return [url for url, _thread in self.downloads]


@pytest.fixture
def server(mock_api) -> Server:
    return Server(mock_api)


@pytest.fixture
def build(api_env, mock_api, monkeypatch, server):
    """A worker over 3 zoned elements; ``opens(n, element)`` is its process_element."""

    def build(opens, overlap: bool = True, **worker_attributes):
        monkeypatch.setattr(sys, "argv", ["worker", "--element", *ELEMENTS])
        if not overlap:
            monkeypatch.setenv("ARKINDEX_WORKER_OVERLAP", "0")
        mock_api.get(
            api_url(f"process/workers/{WORKER_RUN_ID}/"), json=worker_run_payload()
        )
        for n, element_id in enumerate(ELEMENTS, start=1):
            mock_api.get(
                api_url(f"element/{element_id}/"), json=zoned_payload(element_id, n)
            )
        mock_api.add_callback(
            "PUT",
            ACTIVITY_URL,
            callback=lambda request: (200, {}, request.body),
            content_type="application/json",
        )
        worker_class = type(
            "Opening",
            (ElementsWorker,),
            {
                "process_element": lambda self, element: opens(
                    ELEMENTS.index(element.id) + 1, element
                ),
                **worker_attributes,
            },
        )
        return worker_class()

    return build


def states(mock_api) -> list[tuple[str, str]]:
    return [
        (body["element_id"], body["state"])
        for call in mock_api.calls
        if call.request.method == "PUT"
        for body in [json.loads(call.request.body)]
    ]


def test_next_image_read_ahead_and_served(build, server):
    for n in (1, 2, 3):
        server.serve(crop_url(n, "100,"), (200, jpeg((n * 50, 0, 0), (100, 50))))
    opened = {}

    def opens(n, element):
        opened[n] = element.open_image(max_width=100).getpixel((10, 10))
        if n == 1:
            # Element 2's image is downloaded while element 1 is processed
            for _ in range(2000):
                if crop_url(2, "100,") in server.urls():
                    break
                threading.Event().wait(0.001)

    build(opens).run()
    # Each image downloaded once: 1 in the foreground, 2 and 3 ahead
    assert server.downloads == [
        (crop_url(1, "100,"), "MainThread"),
        (crop_url(2, "100,"), "overlap-image"),
        (crop_url(3, "100,"), "overlap-image"),
    ]
    assert {n: pixel[0] // 50 for n, pixel in opened.items()} == {1: 1, 2: 2, 3: 3}
    # The IIIF server is not the API: it never gets the token
    assert server.authorized == 0


def test_image_tempfile_is_read_ahead(build, server):
    for n in (1, 2, 3):
        server.serve(crop_url(n), (200, jpeg((0, 0, 0))))

    def opens(n, element):
        with element.open_image_tempfile() as file, Image.open(file.name) as image:
            assert image.size == SIZE

    build(opens).run()
    assert [thread for _url, thread in server.downloads] == [
        "MainThread",
        "overlap-image",
        "overlap-image",
    ]


def test_served_only_for_the_same_request(build, server, mock_api):
    """Element 2 asks for another size: downloaded as without read-ahead."""
    server.serve(crop_url(1, "100,"), (200, jpeg((0, 0, 0), (100, 50))))
    server.serve(crop_url(2, "100,"), (200, jpeg((0, 0, 0), (100, 50))))
    server.serve(crop_url(2), (200, jpeg((0, 0, 0))))
    sizes = {}

    def opens(n, element):
        if n == 1:
            sizes[n] = element.open_image(max_width=100).size
        elif n == 2:
            sizes[n] = element.open_image().size

    build(opens).run()
    assert sizes == {1: (100, 50), 2: SIZE}
    assert server.downloads[0] == (crop_url(1, "100,"), "MainThread")
    # The read-ahead of element 2 was not used: its own request went out
    assert sorted(server.downloads[1:]) == sorted(
        [(crop_url(2), "MainThread"), (crop_url(2, "100,"), "overlap-image")]
    )
    assert (ELEMENTS[2], "processed") in states(mock_api)


def test_element_without_image_reads_nothing_ahead(build, server):
    """Only an element that opened its image reads the next one's ahead."""
    server.serve(crop_url(1), (200, jpeg((0, 0, 0))))
    server.serve(crop_url(2), (200, jpeg((0, 0, 0))))

    def opens(n, element):
        if n == 1:
            element.open_image()

    build(opens).run()
    # Element 2's image was read ahead (and dropped); element 2 opened none,
    # so element 3's was not
    assert server.downloads == [
        (crop_url(1), "MainThread"),
        (crop_url(2), "overlap-image"),
    ]


@pytest.mark.parametrize("status", [404, 500])
def test_failed_read_ahead_falls_back_to_a_download(build, server, mock_api, status):
    server.serve(crop_url(1), (200, jpeg((0, 0, 0))))
    # The read-ahead fails (after the retries for a 500), the download works
    failures = [(status, b"nope")] * (5 if status == 500 else 1)
    server.serve(crop_url(2), *failures, (200, jpeg((0, 0, 0))))
    server.serve(crop_url(3), (200, jpeg((0, 0, 0))))

    def opens(n, element):
        if n < 3:
            element.open_image()

    build(opens).run()
    page_2 = [d for d in server.downloads if d[0] == crop_url(2)]
    assert page_2[-1] == (crop_url(2), "MainThread")
    assert {thread for _url, thread in page_2[:-1]} == {"overlap-image"}
    assert sorted(states(mock_api)) == sorted(
        (element_id, state)
        for element_id in ELEMENTS
        for state in ("started", "processed")
    )


def test_failed_read_ahead_then_failed_download_fails_as_usual(
    build, server, mock_api, caplog
):
    server.serve(crop_url(1), (200, jpeg((0, 0, 0))))
    server.serve(crop_url(2), (404, b"gone"))
    max_url = crop_url(2, "max")
    server.serve(max_url, (404, b"gone"))

    def opens(n, element):
        if n < 3:
            element.open_image()

    build(opens).run()
    # The IIIF fallback to the max size happens as without read-ahead
    assert server.downloads[1:] == [
        (crop_url(2), "overlap-image"),
        (crop_url(2), "MainThread"),
        (max_url, "MainThread"),
    ]
    assert (ELEMENTS[1], "error") in states(mock_api)
    assert (
        f"Failed running worker on element {ELEMENTS[1]}: "
        f"HTTPError('404 Not Found for GET {max_url}')"
    ) in caplog.messages


@pytest.mark.parametrize(
    ("overlap", "attributes", "variable"),
    [
        pytest.param(False, {}, None, id="overlap-off"),
        pytest.param(True, {"image_read_ahead": False}, None, id="class-attribute"),
        pytest.param(True, {}, "0", id="variable"),
    ],
)
def test_turned_off(build, server, monkeypatch, overlap, attributes, variable):
    if variable is not None:
        monkeypatch.setenv("ARKINDEX_WORKER_IMAGE_READ_AHEAD", variable)
    for n in (1, 2, 3):
        server.serve(crop_url(n), (200, jpeg((0, 0, 0))))
    build(lambda n, element: element.open_image(), overlap, **attributes).run()
    assert server.downloads == [(crop_url(n), "MainThread") for n in (1, 2, 3)]


def test_queue_mode_reads_no_image_ahead(build, server, mock_api, monkeypatch):
    """Elements pulled from the activity queue: the next one is unknown."""
    for n in (1, 2, 3):
        server.serve(crop_url(n), (200, jpeg((0, 0, 0))))
    worker = build(lambda n, element: element.open_image())
    monkeypatch.setattr(sys, "argv", ["worker"])
    monkeypatch.setattr(type(worker), "consume_worker_activities", True)
    for element_id in ELEMENTS:
        mock_api.post(
            api_url("process/start-activity/"),
            json={"id": element_id},
        )
    mock_api.post(api_url("process/start-activity/"), status=404)
    worker.run()
    assert server.downloads == [(crop_url(n), "MainThread") for n in (1, 2, 3)]


class Answer:
    """A downloaded answer; weak references show when it is freed."""


def test_memory_bounded_to_one_image_ahead():
    """1,000 elements, most asking for their image: at most one answer is kept."""
    sent: list[weakref.ref] = []

    def send(request):
        future = Future()
        future.set_result(request())
        sent.append(weakref.ref(future.result()))
        return future

    def asks(n: int) -> bool:
        return n % 3 != 2

    elements = [type("E", (), {"id": f"element-{n}"})() for n in range(1000)]
    read_ahead = ImageReadAhead(send, lambda url: Answer)
    served = 0
    with read_ahead:
        for n, element in enumerate(elements):
            upcoming = None
            if n + 1 < len(elements):
                upcoming = Future()
                upcoming.set_result(elements[n + 1])
            read_ahead.begin(element, upcoming)
            if asks(n):
                answer = read_ahead.take(f"http://iiif.test/{element.id}")
                # Served when the previous element asked (and so read it ahead)
                assert (answer is not None) is (n > 0 and asks(n - 1))
                served += answer is not None
                del answer
                read_ahead.opened(element, lambda other: f"http://iiif.test/{other.id}")
            read_ahead.start()
            # Freed by reference counting: no collection needed
            assert len([ref for ref in sent if ref() is not None]) <= 1
    assert served == 333
    assert len(sent) == 666  # every element asking, but the last one
    gc.collect()
    assert [ref for ref in sent if ref() is not None] == []


def test_read_ahead_is_only_a_prepared_download(build, server, monkeypatch):
    """The background sends the image request the main thread prepared, nothing else."""
    for n in (1, 2, 3):
        server.serve(crop_url(n), (200, jpeg((0, 0, 0))))
    prepared = []
    from arkindex_worker import image

    original = image.prepared_download

    def recording(url, *args, **kwargs):
        prepared.append((url, threading.current_thread().name))
        return original(url, *args, **kwargs)

    monkeypatch.setattr("arkindex_worker.worker.prepared_download", recording)
    build(lambda n, element: element.open_image()).run()
    assert prepared == [(crop_url(2), "MainThread"), (crop_url(3), "MainThread")]
