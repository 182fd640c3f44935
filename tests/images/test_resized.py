"""``resized_images``: successively smaller JPEG files of an element (12, 14 §3.8)."""

from __future__ import annotations

import base64
import logging
import re
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from arkindex_worker.image import IMAGE_RATIOS, _naturalsize, resized_images
from arkindex_worker.models import Element
from tests.images.conftest import IMAGE_SIZE

RESIZED = "The image will be resized."


class TallPage(Element):
    """A 1000×3000 page whose image is a thumbnail of a 1992×3000 photo."""

    def open_image(self, *args, max_width=None, max_height=None, **kwargs):
        image = Image.new("RGB", (1992, 3000), (200, 180, 150))
        image.thumbnail((max_width or 1992, max_height or 3000))
        return image


def tall_page() -> TallPage:
    return TallPage(
        id="page", zone={"polygon": [[0, 0], [1000, 0], [1000, 3000], [0, 3000]]}
    )


def server_page(iiif_server) -> Element:
    width, height = IMAGE_SIZE
    return Element(
        id="page",
        rotation_angle=0,
        mirrored=False,
        zone={
            "polygon": [[0, 0], [width, 0], [width, height], [0, height]],
            "url": iiif_server.zone_url(0, 0, width, height),
            "image": {
                "url": iiif_server.url,
                "s3_url": None,
                "width": width,
                "height": height,
                "server": {"max_width": None, "max_height": None},
            },
        },
    )


def warnings_of(caplog) -> list[str]:
    """Messages of resized_images itself (without the download lines)."""
    return [m for m in caplog.messages if not m.startswith("Downloaded image")]


def collect(images) -> list[tuple[tuple[int, int], int]]:
    """(size, bytes on disk) of every yielded file, read while it exists."""
    result = []
    for f in images:
        with Image.open(f.name) as image:
            result.append((image.size, Path(f.name).stat().st_size))
    return result


@pytest.mark.parametrize(
    ("size", "text"),
    [
        pytest.param(1, "1 Byte", id="one"),
        pytest.param(50, "50 Bytes", id="bytes"),
        pytest.param(999, "999 Bytes", id="999"),
        pytest.param(1000, "1.0 kB", id="kB"),
        pytest.param(100_000, "100.0 kB", id="100kB"),
        pytest.param(773_400, "773.4 kB", id="773kB"),
        pytest.param(999_949, "999.9 kB", id="999kB"),
        pytest.param(2_500_000, "2.5 MB", id="MB"),
        pytest.param(10**30, "1.0 QB", id="QB"),
    ],
)
def test_naturalsize(size, text):
    assert _naturalsize(size) == text


def test_resized_images_tall_page(caplog):
    images = collect(resized_images(element=tall_page()))
    heights = [size[1] for size, _ in images]
    assert heights == [3000, 2700, 2550, 2400, 2250, 2100, 1800, 1500, 1200, 900]
    assert caplog.messages[0] == "This element's image sizes are (1000 x 3000)."
    assert caplog.messages[1:] == [
        f"The image was resized to ({width} x {height})."
        for (width, height), _ in images
    ]
    assert images[-1][0] == (598, 900)


def test_resized_images_max_pixels(caplog):
    images = collect(resized_images(element=tall_page(), max_pixels=2000))
    assert [size[1] for size, _ in images] == [2000, 1800, 1500, 1200, 900]
    assert caplog.messages[1:3] == [
        "Maximum image input size supported is (2000 x 2000).",
        RESIZED,
    ]


def test_resized_images_on_server(iiif_server, caplog):
    images = collect(resized_images(element=server_page(iiif_server)))
    widths = [size[0] for size, _ in images]
    assert widths == [300, 270, 255, 240, 225, 210, 180, 150, 120, 90]
    assert images[1][0] == (270, 180)
    # The first image has the element's size: no "resized" warning for it.
    assert warnings_of(caplog)[1:] == [
        f"The image was resized to ({width} x {height})."
        for (width, height), _ in images[1:]
    ]
    assert iiif_server.state.requests[:2] == [
        "GET /iiif/page.png/0,0,300,200/full/0/default.jpg",
        "GET /iiif/page.png/0,0,300,200/270,/0/default.jpg",
    ]


def test_resized_images_max_bytes(iiif_server, caplog):
    element = server_page(iiif_server)
    weights = [weight for _, weight in collect(resized_images(element=element))]
    limit = weights[6]
    caplog.clear()

    kept = collect(resized_images(element=element, max_bytes=limit))
    assert [weight for _, weight in kept] == [w for w in weights if w <= limit]
    skipped = [w for w in weights if w > limit]
    warnings = [m for m in warnings_of(caplog) if "resized to" not in m][1:]
    assert warnings == [
        message
        for weight in skipped
        for message in (
            f"The image size is {_naturalsize(weight)}.",
            f"Maximum image input size supported is {_naturalsize(limit)}.",
            RESIZED,
        )
    ]


def test_resized_images_nothing_fits(caplog):
    caplog.set_level(logging.WARNING)
    assert list(resized_images(element=tall_page(), max_pixels=50, max_bytes=50)) == []
    assert re.fullmatch(r"The image size is \d+ Bytes\.", caplog.messages[-3])
    assert caplog.messages[-2:] == [
        "Maximum image input size supported is 50 Bytes.",
        RESIZED,
    ]


def test_resized_images_deletes_files(iiif_server):
    images = resized_images(element=server_page(iiif_server))
    first = next(images)
    path = Path(first.name)
    assert first.tell() == 0
    assert Image.open(first).format == "JPEG"
    next(images)
    assert not path.exists()
    images.close()


def test_resized_images_overrides_limit_keyword(iiif_server):
    images = resized_images(element=server_page(iiif_server), max_width=10)
    assert next(images) is not None
    images.close()
    assert iiif_server.state.requests == [
        "GET /iiif/page.png/0,0,300,200/full/0/default.jpg"
    ]


# ---------------------------------------------------------------- 0.6 keywords


def decoded_size(data: str) -> tuple[int, int]:
    return Image.open(BytesIO(base64.b64decode(data))).size


def test_image_ratios():
    assert IMAGE_RATIOS[:3] == [1.0, 0.95, 0.9]
    assert IMAGE_RATIOS[-1] == 0.05
    assert len(IMAGE_RATIOS) == 20


def test_resized_images_long_side_base64(iiif_server, caplog):
    images = list(
        resized_images(
            element=server_page(iiif_server), max_pixels_long=150, use_base64=True
        )
    )
    assert all(isinstance(data, str) for data in images)
    assert [decoded_size(data) for data in images[:2]] == [(150, 100), (142, 95)]
    assert len(images) == 20
    assert caplog.messages[0] == "This element's image dimensions are (300 x 200)."


def test_resized_images_short_side(iiif_server):
    images = resized_images(element=server_page(iiif_server), max_pixels_short=50)
    with Image.open(next(images).name) as first:
        assert first.size == (75, 50)
    images.close()


def test_resized_images_base64_max_bytes(iiif_server):
    element = server_page(iiif_server)
    lengths = [len(data) for data in resized_images(element=element, use_base64=True)]
    kept = list(resized_images(element=element, use_base64=True, max_bytes=lengths[10]))
    assert [len(data) for data in kept] == [n for n in lengths if n <= lengths[10]]
