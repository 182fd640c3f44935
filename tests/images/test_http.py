"""Downloads, tiles and uploads against a loopback IIIF-like server (12)."""

from __future__ import annotations

import logging
from io import BytesIO

import pytest
import requests
from PIL import Image

from arkindex_worker.image import (
    DOWNLOAD_TIMEOUT,
    REQUEST_TIMEOUT,
    download_image,
    download_tiles,
    open_image,
    upload_image,
)
from arkindex_worker.models import Element
from tests.images.conftest import IDENTIFIER, IMAGE_SIZE, same_pixels

FULL = "full/full/0/default.jpg"


def get(path: str) -> str:
    return f"GET /iiif/{IDENTIFIER}/{path}"


def page(server, polygon=((10, 20), (60, 20), (60, 60), (10, 60)), **server_limits):
    """An API element on the server's image, with the zone URL the API would build."""
    xs, ys = zip(*polygon)
    return Element(
        id="page",
        rotation_angle=0,
        mirrored=False,
        zone={
            "polygon": [list(point) for point in polygon],
            "url": server.zone_url(
                min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
            ),
            "image": {
                "url": server.url,
                "s3_url": None,
                "width": IMAGE_SIZE[0],
                "height": IMAGE_SIZE[1],
                "server": {"max_width": None, "max_height": None, **server_limits},
            },
        },
    )


def test_timeouts():
    assert DOWNLOAD_TIMEOUT == REQUEST_TIMEOUT == (30, 60)


# ---------------------------------------------------------------- download_image


def test_download_image(iiif_server, reference, caplog):
    caplog.set_level(logging.INFO)
    url = f"{iiif_server.url}/{FULL}"
    assert same_pixels(download_image(url).convert("RGB"), reference)
    assert iiif_server.state.requests == [get(FULL)]
    (message,) = caplog.messages
    assert message.startswith(f"Downloaded image {url} - size=300x200 in 0:00:")


def test_download_image_user_agent(iiif_server):
    download_image(f"{iiif_server.url}/{FULL}")
    assert iiif_server.state.headers[0]["User-Agent"].startswith("Teklia/Workers ")


def test_open_image_crop(iiif_server, reference):
    image = open_image(iiif_server.zone_url(10, 20, 50, 40))
    assert same_pixels(image, reference.crop((10, 20, 60, 60)))


def retry_line(url: str, wait: int, reason: str, attempt: int) -> tuple:
    """The retry policy's log record before sending an image request again."""
    return (
        "arkindex_worker.api",
        logging.INFO,
        f"Retrying GET {url} in {wait} seconds after HTTP {reason} "
        f"(attempt {attempt} of 5 failed)",
    )


def records(caplog) -> list[tuple]:
    return [(r.name, r.levelno, r.getMessage()) for r in caplog.records]


def test_download_image_retries_server_errors(iiif_server, reference, sleeps, caplog):
    iiif_server.state.failures = [500, 503]
    url = f"{iiif_server.url}/{FULL}"
    assert same_pixels(download_image(url).convert("RGB"), reference)
    assert iiif_server.state.requests == [get(FULL)] * 3
    assert sleeps == [3, 4]
    assert records(caplog)[:2] == [
        retry_line(url, 3, "500 Internal Server Error", 1),
        retry_line(url, 4, "503 Service Unavailable", 2),
    ]
    assert caplog.messages[2].startswith(f"Downloaded image {url} - size=300x200")
    assert len(caplog.messages) == 3


def test_download_image_retries_throttled(iiif_server, reference, sleeps):
    iiif_server.state.failures = [429]
    assert same_pixels(
        download_image(f"{iiif_server.url}/{FULL}").convert("RGB"), reference
    )
    assert iiif_server.state.requests == [get(FULL)] * 2
    assert sleeps == [3]  # no Retry-After: the first exponential wait


def test_download_image_gives_up(iiif_server, sleeps):
    iiif_server.state.failures = [502] * 5
    url = f"{iiif_server.url}/{FULL}"
    with pytest.raises(requests.HTTPError) as e:
        download_image(url)
    assert str(e.value) == f"502 Bad Gateway for GET {url}"
    assert e.value.response.status_code == 502
    assert iiif_server.state.requests == [get(FULL)] * 5
    assert sleeps == [3, 4, 8, 16]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_download_image_client_error_not_retried(iiif_server, sleeps, caplog, status):
    iiif_server.state.failures = [status]
    url = f"{iiif_server.url}/full/,100/0/default.jpg"
    with pytest.raises(requests.HTTPError) as e:
        download_image(url)
    assert e.value.response.status_code == status
    assert iiif_server.state.requests == [get("full/,100/0/default.jpg")]
    assert sleeps == []
    assert caplog.records == []


def test_download_image_falls_back_to_max(iiif_server, reference, sleeps):
    iiif_server.state.refused_sizes = {"full"}
    image = download_image(f"{iiif_server.url}/{FULL}")
    assert same_pixels(image.convert("RGB"), reference)
    # One request to the refused full size (a 400 is not retried), then max
    assert iiif_server.state.requests == [get(FULL), get("full/max/0/default.jpg")]
    assert sleeps == []


def test_download_image_fallback_retries_server_errors(iiif_server, reference, sleeps):
    """The ``max`` request follows the retry policy too."""
    iiif_server.state.refused_sizes = {"full"}
    iiif_server.state.failures = [400, 503]  # full refused, then max unavailable
    image = download_image(f"{iiif_server.url}/{FULL}")
    assert same_pixels(image.convert("RGB"), reference)
    assert (
        iiif_server.state.requests == [get(FULL)] + [get("full/max/0/default.jpg")] * 2
    )
    assert sleeps == [3]


def test_download_image_no_fallback_on_server_error(iiif_server, sleeps):
    iiif_server.state.failures = [500] * 5
    with pytest.raises(requests.HTTPError) as e:
        download_image(f"{iiif_server.url}/{FULL}")
    assert e.value.response.status_code == 500
    assert iiif_server.state.requests == [get(FULL)] * 5
    assert sleeps == [3, 4, 8, 16]


def test_download_image_no_fallback_on_short_url(iiif_server, sleeps):
    """Fewer than four parts before the size: not recognised as a IIIF URL."""
    iiif_server.state.refused_sizes = {"full"}
    url = f"{iiif_server.root}/{FULL}"
    with pytest.raises(requests.HTTPError) as e:
        download_image(url)
    assert e.value.response.status_code == 404
    assert iiif_server.state.requests == [f"GET /{FULL}"]
    assert sleeps == []


def test_download_image_no_fallback_for_other_sizes(iiif_server, sleeps):
    iiif_server.state.refused_sizes = {",100"}
    with pytest.raises(requests.HTTPError) as e:
        download_image(f"{iiif_server.url}/full/,100/0/default.jpg")
    assert e.value.response.status_code == 400
    assert iiif_server.state.requests == [get("full/,100/0/default.jpg")]
    assert sleeps == []


# ---------------------------------------------------------------- size limits


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        pytest.param({"max_width": 100}, (100, 67), id="width"),
        pytest.param({"max_height": 50}, (75, 50), id="height"),
        pytest.param({"max_width": 100, "max_height": 100}, (100, 100), id="both"),
        pytest.param(
            {"max_width": 100, "max_height": 100, "preserve_ratio": True},
            (100, 67),
            id="both-preserve-ratio",
        ),
        pytest.param({"max_width": 1000}, (300, 200), id="fits"),
    ],
)
def test_element_open_image_limits(iiif_server, limits, expected):
    element = page(iiif_server)
    assert element.open_image(use_full_image=True, **limits).size == expected


def test_element_open_image_iiif3_asks_max(iiif_server, reference):
    element = page(iiif_server, version=3)
    iiif_server.state.refused_sizes = {"full"}
    assert same_pixels(element.open_image(use_full_image=True), reference)
    assert iiif_server.state.requests == [get("full/max/0/default.jpg")]


def test_element_open_image_zone_iiif3_asks_max(iiif_server, reference):
    element = page(iiif_server, version=3)
    iiif_server.state.refused_sizes = {"full"}
    assert same_pixels(element.open_image(), reference.crop((10, 20, 60, 60)))
    assert iiif_server.state.requests == [get("10,20,50,40/max/0/default.jpg")]


def test_open_image_pixel_limit(iiif_server):
    with pytest.raises(Image.DecompressionBombError):
        open_image(f"{iiif_server.url}/{FULL}", max_image_pixels=100)


# ---------------------------------------------------------------- tiles

TILE_REQUESTS = [
    get(f"{x},{y},{w},{h}/full/0/default.jpg")
    for x, w in ((0, 128), (128, 128), (256, 44))
    for y, h in ((0, 128), (128, 72))
]


def test_download_tiles(iiif_server, reference):
    iiif_server.state.tiles = [
        {"width": 64, "scaleFactors": [1]},
        {"width": 128, "scaleFactors": [1, 2]},
    ]
    assert same_pixels(download_tiles(iiif_server.url), reference)
    assert iiif_server.state.requests == [get("info.json"), *TILE_REQUESTS]


def test_download_tiles_rectangular(iiif_server, reference):
    iiif_server.state.tiles = [{"width": 181, "height": 150}]
    assert same_pixels(download_tiles(f"{iiif_server.url}/"), reference)
    assert iiif_server.state.requests[1:] == [
        get("0,0,181,150/full/0/default.jpg"),
        get("0,150,181,50/full/0/default.jpg"),
        get("181,0,119,150/full/0/default.jpg"),
        get("181,150,119,50/full/0/default.jpg"),
    ]


def test_element_open_image_requires_tiles(iiif_server, reference):
    iiif_server.state.tiles = [{"width": 128}]
    element = page(
        iiif_server, polygon=((0, 0), (300, 0), (300, 200), (0, 200)), max_width=150
    )
    assert same_pixels(element.open_image(), reference)
    assert iiif_server.state.requests == [get("info.json"), *TILE_REQUESTS]


def test_download_tiles_crops_larger_tiles(iiif_server, reference, caplog):
    iiif_server.state.tiles = [{"width": 128}]
    iiif_server.state.tile_padding = (1, 0)
    assert same_pixels(download_tiles(iiif_server.url), reference)
    assert "Cropping tile 0,0 from 129×128 to 128×128" in caplog.messages
    assert len(caplog.messages) == 6


def test_download_tiles_smaller_tile(iiif_server):
    iiif_server.state.tiles = [{"width": 128}]
    iiif_server.state.image = Image.new("RGB", (1, 1))
    iiif_server.state.info = {"width": 300, "height": 200, "tiles": [{"width": 128}]}
    with pytest.raises(ValueError) as e:
        download_tiles(iiif_server.url)
    assert str(e.value) == "Expected size 128×128 for tile 0,0, but got 1×1"


@pytest.mark.parametrize(
    ("info", "message"),
    [
        pytest.param(
            {"height": 200, "tiles": [{"width": 128}]},
            "Missing image dimensions in info.json",
            id="no-width",
        ),
        pytest.param(
            {"width": 300, "height": 0, "tiles": [{"width": 128}]},
            "Missing image dimensions in info.json",
            id="zero-height",
        ),
        pytest.param(
            {"width": 300, "height": 200},
            "Image cannot be retrieved at full size and tiles are not supported",
            id="no-tiles",
        ),
    ],
)
def test_download_tiles_invalid_info(iiif_server, info, message):
    iiif_server.state.info = info
    with pytest.raises(AssertionError) as e:
        download_tiles(iiif_server.url)
    assert str(e.value) == message


# ---------------------------------------------------------------- upload_image


def test_upload_image(iiif_server, reference, caplog):
    caplog.set_level(logging.INFO)
    url = f"{iiif_server.root}/upload/page.jpg"
    assert upload_image(reference, url)
    assert iiif_server.state.requests == ["PUT /upload/page.jpg"]
    uploaded = Image.open(BytesIO(iiif_server.state.bodies[0]))
    assert (uploaded.format, uploaded.size) == ("JPEG", IMAGE_SIZE)
    (message,) = caplog.messages
    assert message.startswith(f"Uploaded image to {url} in 0:00:")


def test_upload_image_retries_with_whole_body(iiif_server, reference, sleeps, caplog):
    iiif_server.state.failures = [502, 503, 500]
    url = f"{iiif_server.root}/upload/page.jpg"
    assert upload_image(reference, url)
    assert iiif_server.state.requests == ["PUT /upload/page.jpg"] * 4
    first, *others = iiif_server.state.bodies
    assert first.startswith(b"\xff\xd8")  # a JPEG
    assert others == [first, first, first]
    assert sleeps == [3, 4, 8]
    assert [m for m in caplog.messages if m.startswith("Retrying")] == [
        f"Retrying PUT {url} in {wait} seconds after HTTP {reason} "
        f"(attempt {attempt} of 5 failed)"
        for attempt, wait, reason in (
            (1, 3, "502 Bad Gateway"),
            (2, 4, "503 Service Unavailable"),
            (3, 8, "500 Internal Server Error"),
        )
    ]


def test_upload_image_client_error_not_retried(iiif_server, reference, sleeps):
    iiif_server.state.failures = [400]
    url = f"{iiif_server.root}/upload/page.jpg"
    with pytest.raises(requests.HTTPError) as e:
        upload_image(reference, url)
    assert str(e.value) == f"400 Bad Request for PUT {url}"
    assert iiif_server.state.requests == ["PUT /upload/page.jpg"]
    assert sleeps == []


def test_upload_image_resent_when_its_answer_was_lost(mock_api, reference, sleeps):
    """A storage upload is idempotent: unlike an API write, a lost answer is re-sent."""
    url = "http://storage.test/upload/page.jpg"
    mock_api.put(url, body=requests.ConnectionError("reset"))
    mock_api.put(url, status=200)
    assert upload_image(reference, url)
    first, second = (call.request.body for call in mock_api.calls)
    assert first.startswith(b"\xff\xd8")
    assert second == first
    assert sleeps == [3]


def test_upload_image_not_http(reference):
    with pytest.raises(AssertionError) as e:
        upload_image(reference, "s3://bucket/key")
    assert str(e.value) == "Destination URL for the image must be HTTP(S)"
