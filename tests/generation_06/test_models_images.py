"""Generation 0.6: element images (spec 15 §14), image helpers (§15), utils (§16)."""

from __future__ import annotations

import logging
import types
from pathlib import Path

import pytest

from arkindex_worker import image, image_io
from arkindex_worker.models import Element
from arkindex_worker.utils import create_tar_archive, create_tar_zst_archive
from tests.models_utils.test_element_image import FakeImage

ZONE_URL = "http://zoneurl/0,0,400,400/full/0/default.jpg"


@pytest.fixture
def opened(monkeypatch):
    record = types.SimpleNamespace(urls=[], image=FakeImage())

    def open_image(url, *args, **kwargs):
        record.urls.append(url)
        return record.image

    monkeypatch.setattr(image_io, "open_image", open_image)
    return record


def element(version=None, url="http://something", **image_fields) -> Element:
    server = {} if version is None else {"version": version}
    return Element(
        id="e",
        zone={
            "url": ZONE_URL,
            "polygon": [[0, 0], [400, 0], [400, 400], [0, 400]],
            "image": {
                "url": url,
                "width": 400,
                "height": 400,
                "server": server,
                **image_fields,
            },
        },
    )


# ---------------------------------------------------------------- models


@pytest.mark.parametrize(
    ("el", "args", "expected"),
    [
        (element(2), (), "http://something/full/full/0/default.jpg"),
        (
            element(2, url="http://something/"),
            (),
            "http://something/full/full/0/default.jpg",
        ),
        (element(3), (), "http://something/full/max/0/default.jpg"),
        (element(), (), "http://something/full/full/0/default.jpg"),
        (element(2), (500,), "http://something/full/500/0/default.jpg"),
        (element(2, s3_url="http://s3/x"), (), "http://s3/x"),
        (Element(id="e", zone=None), (), None),
    ],
)
def test_image_url(el, args, expected):
    assert el.image_url(*args) == expected


def test_resize_zone_url_extension_default():
    assert (
        element().resize_zone_url(",200")
        == "http://zoneurl/0,0,400,400/,200/0/default.jpg"
    )
    assert element().resize_zone_url() == ZONE_URL


@pytest.mark.parametrize(
    ("el", "kwargs", "expected"),
    [
        (
            element(2),
            {"max_width": 200, "max_height": 200},
            "full/!200,200/0/default.jpg",
        ),
        (
            element(2),
            {"max_width": 200, "max_height": 200, "preserve_ratio": False},
            "full/200,200/0/default.jpg",
        ),
        (element(2), {"max_width": 800, "max_height": 800}, "full/full/0/default.jpg"),
        (element(3), {}, "full/max/0/default.jpg"),
    ],
)
def test_open_image_06_defaults(opened, el, kwargs, expected):
    el.open_image(use_full_image=True, **kwargs)
    assert opened.urls == [f"http://something/{expected}"]


@pytest.mark.parametrize(
    ("args", "suffix", "pillow_format", "url_end"),
    [
        ((), ".jpg", "jpeg", "default.jpg"),
        ((None,), ".jpg", "jpeg", "default.jpg"),
        (("png",), ".png", "png", "default.png"),
    ],
)
def test_open_image_tempfile_positional_extension(
    opened, args, suffix, pillow_format, url_end
):
    with element().open_image_tempfile(*args, max_width=200) as f:
        path = Path(f.name)
        assert path.suffix == suffix
        assert path.read_bytes() == b"image bytes"
    assert not path.exists()
    assert opened.image.saved == [(f.name, pillow_format)]
    assert opened.urls == [f"http://zoneurl/0,0,400,400/200,/0/{url_end}"]


# ---------------------------------------------------------------- trim_polygon


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ("nope", "Polygon must be a valid list or tuple of points."),
        ([[0, 0], [1, 1]], "Polygon should have at least three points."),
        ([[0, 0], [1, 1], 3], "Polygon points must be tuples or lists."),
        (
            [[0, 0], [1, 1], [1]],
            "Polygon points must be tuples or lists of 2 elements.",
        ),
        ([[0, 0], [1, 1], [1.5, 2]], "Polygon point coordinates must be integers."),
        (
            [[500, 500], [600, 600], [700, 500]],
            "This polygon is entirely outside the image's bounds.",
        ),
    ],
)
def test_trim_polygon_checks(polygon, message):
    with pytest.raises(AssertionError, match=f"^{message}$"):
        image.trim_polygon(polygon, 100, 100)


def test_trim_polygon_no_dedupe():
    polygon = [(-5, 0), (0, 0), (150, 50), (150, 60), (-5, 0)]
    assert image.trim_polygon(polygon, 100, 100) == [
        [0, 0],
        [0, 0],
        [100, 50],
        [100, 60],
        [0, 0],
    ]


def test_revert_orientation_checks():
    with pytest.raises(
        AssertionError, match="^element shouldn't be null and should be an Element$"
    ):
        image.revert_orientation(None, [[0, 0], [1, 1], [1, 0]])
    el = Element(
        id="e",
        rotation_angle=0,
        mirrored=False,
        zone={"polygon": [[0, 0], [9, 9], [9, 0]]},
    )
    with pytest.raises(AssertionError, match="^reverse should be a bool$"):
        image.revert_orientation(el, [[0, 0], [1, 1], [1, 0]], reverse=1)


# ---------------------------------------------------------------- download_tiles


@pytest.mark.parametrize(("key", "size"), [("id", "max"), ("@id", "full")])
def test_download_tiles_size_segment(monkeypatch, key, size):
    pytest.importorskip("PIL")
    from io import BytesIO

    from PIL import Image

    def tile_bytes():
        buffer = BytesIO()
        Image.new("RGB", (181, 240)).save(buffer, format="png")
        return buffer.getvalue()

    urls = []

    def http(method, url, **kwargs):
        urls.append(url)
        if url.endswith("info.json"):
            info = {
                key: "x",
                "width": 543,
                "height": 720,
                "tiles": [{"width": 181, "height": 240}],
            }
            return types.SimpleNamespace(json=lambda: info)
        return types.SimpleNamespace(content=tile_bytes())

    monkeypatch.setattr(image_io, "_http", http)

    result = image_io.download_tiles("http://iiif/img")

    assert result.size == (543, 720)
    assert len(urls) == 10
    assert urls[1] == f"http://iiif/img/0,0,181,240/{size}/0/default.jpg"
    assert all(url.endswith(f"/{size}/0/default.jpg") for url in urls[1:])


# ---------------------------------------------------------------- resized_images


class ThumbnailElement(Element):
    """Its image is a 2000×3000 page (or 3000×2000), thumbnailed to the limits."""

    def open_image(self, *args, max_width=None, max_height=None, **kwargs):
        from PIL import Image

        width, height = self.size
        page = Image.new("RGB", (width, height), "white")
        page.thumbnail((max_width or width, max_height or height))
        return page


def page_element(width=2000, height=3000) -> ThumbnailElement:
    el = ThumbnailElement(
        id="e", zone={"polygon": [[0, 0], [width, 0], [width, height], [0, height]]}
    )
    el.size = (width, height)
    return el


def sizes_of(candidates) -> list[tuple[int, int]]:
    from PIL import Image

    sizes = []
    for candidate in candidates:
        with Image.open(candidate) as opened:
            sizes.append(opened.size)
    return sizes


@pytest.mark.parametrize(
    ("dimensions", "kwargs", "warning", "expected"),
    [
        ((2000, 3000), {}, None, [(2000, 3000), (1000, 1500), (200, 300)]),
        (
            (2000, 3000),
            {"max_pixels_short": 1000},
            "Maximum image dimensions supported are (1000 x 3000).",
            [(1000, 1500), (500, 750), (100, 150)],
        ),
        (
            (2000, 3000),
            {"max_pixels_long": 2000},
            "Maximum image dimensions supported are (2000 x 2000).",
            [(1333, 2000), (667, 1000), (133, 200)],
        ),
        (
            (3000, 2000),
            {"max_pixels_short": 1000, "max_pixels_long": 2000},
            "Maximum image dimensions supported are (2000 x 1000).",
            [(1500, 1000), (750, 500), (150, 100)],
        ),
    ],
)
def test_resized_images_06(monkeypatch, caplog, dimensions, kwargs, warning, expected):
    pytest.importorskip("PIL")
    caplog.set_level(logging.INFO, logger="arkindex_worker")
    monkeypatch.setattr(image, "IMAGE_RATIOS", [1.0, 0.5, 0.1])
    el = page_element(*dimensions)

    assert sizes_of(image.resized_images(element=el, **kwargs)) == expected

    messages = [m for name, _, m in caplog.record_tuples if name == "arkindex_worker"]
    width, height = dimensions
    assert messages[0] == f"This element's image dimensions are ({width} x {height})."
    if warning:
        assert messages[1:3] == [warning, "The image will be resized."]
    resized = [m for m in messages if m.startswith("The image was resized to")]
    assert resized == [
        f"The image was resized to ({w} x {h})."
        for w, h in expected
        if (w, h) != dimensions
    ]


def test_resized_images_max_bytes_skips(monkeypatch, caplog):
    pytest.importorskip("PIL")
    monkeypatch.setattr(image, "IMAGE_RATIOS", [1.0, 0.5, 0.1])
    # JPEG of a white page: nothing of 20 bytes or less
    assert list(image.resized_images(element=page_element(), max_bytes=20)) == []
    messages = [m for name, _, m in caplog.record_tuples if name == "arkindex_worker"]
    assert messages[-1] == "The image will be resized."
    assert messages[-2] == "Maximum image input size supported is 20 Bytes."


def test_resized_images_base64(monkeypatch):
    pytest.importorskip("PIL")
    import base64

    monkeypatch.setattr(image, "IMAGE_RATIOS", [1.0])
    (candidate,) = image.resized_images(element=page_element(20, 30), use_base64=True)
    assert isinstance(candidate, str)
    assert base64.b64decode(candidate)[:2] == b"\xff\xd8"  # JPEG


def test_resized_images_max_pixels_with_06_keyword():
    with pytest.raises(TypeError, match="max_pixels"):
        list(
            image.resized_images(element=page_element(), max_pixels=10, use_base64=True)
        )


def test_iiif_user_agent():
    assert image.IIIF_USER_AGENT.startswith("Teklia/Workers ")


# ---------------------------------------------------------------- utils


def test_archives_06(tmp_path):
    pytest.importorskip("zstandard")
    source = tmp_path / "model"
    source.mkdir()
    (source / "weights").write_bytes(b"w" * 100)

    fd, tar_path = create_tar_archive(source)
    assert tar_path.exists()
    tar_path.unlink()
    if fd is not None:
        import os

        os.close(fd)

    result = create_tar_zst_archive(source, destination=tmp_path / "m.tar.zst")
    assert len(result) == 3
    fd, zst_path, zst_hash = result
    assert fd is None
    assert zst_path == tmp_path / "m.tar.zst"
    import hashlib

    assert zst_hash == hashlib.md5(zst_path.read_bytes()).hexdigest()
