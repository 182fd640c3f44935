"""Tests of the image helpers of ``Element`` (04, 12, 14 §3.2).

The functions of ``arkindex_worker.image_io`` that ``Element`` calls are replaced
by fakes: these tests check what ``Element`` asks of them, not the image code itself.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import requests

from arkindex_worker import image_io, models
from arkindex_worker.models import Element

ZONE_URL = "http://zoneurl/0,0,400,600/full/0/default.jpg"


class FakeImage:
    """Stands for a Pillow image: records how it was saved."""

    def __init__(self):
        self.saved = []

    def save(self, fp, format=None):
        fp.write(b"image bytes")
        self.saved.append((fp.name, format))


@pytest.fixture
def iiif(monkeypatch):
    """Fakes of ``open_image`` / ``download_tiles`` recording their calls.

    A test may replace ``iiif.open_image``: ``Element`` calls the current one.
    """
    module = types.SimpleNamespace()
    module.calls = []
    module.image = FakeImage()

    def open_image(url, *args, **kwargs):
        module.calls.append(("open_image", url, args, kwargs))
        return module.image

    def download_tiles(url):
        module.calls.append(("download_tiles", url))
        return "tiles"

    module.open_image = open_image
    module.download_tiles = download_tiles
    monkeypatch.setattr(
        image_io,
        "open_image",
        lambda *args, **kwargs: module.open_image(*args, **kwargs),
    )
    monkeypatch.setattr(
        image_io, "download_tiles", lambda url: module.download_tiles(url)
    )
    return module


@pytest.fixture(autouse=True)
def _default_image_defaults():
    yield
    models.use_modern_image_defaults(False)


def make_element(
    width=400,
    height=600,
    polygon=((0, 0), (400, 0), (400, 600), (0, 600)),
    s3_url=None,
    max_width=None,
    max_height=None,
    **extra,
) -> Element:
    return Element(
        id="element_id",
        name="Page",
        type="page",
        rotation_angle=0,
        mirrored=False,
        zone={
            "url": ZONE_URL,
            "polygon": [list(point) for point in polygon],
            "image": {
                "url": "http://something",
                "s3_url": s3_url,
                "width": width,
                "height": height,
                "server": {"max_width": max_width, "max_height": max_height},
            },
        },
        **extra,
    )


def opened_url(iiif) -> str:
    (call,) = iiif.calls
    assert call[0] == "open_image"
    return call[1]


# ---------------------------------------------------------------- requires_tiles


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param({}, False, id="no-limits"),
        pytest.param({"max_width": 400, "max_height": 600}, False, id="fits"),
        pytest.param({"max_width": 300}, True, id="too-wide"),
        pytest.param({"max_height": 500}, True, id="too-tall"),
        pytest.param({"max_width": 0, "max_height": 0}, False, id="zero-unlimited"),
        pytest.param({"max_width": 300, "s3_url": "http://s3url"}, False, id="s3"),
    ],
)
def test_requires_tiles(iiif, options, expected):
    assert make_element(**options).requires_tiles is expected


def test_requires_tiles_without_zone():
    assert Element(id="a", zone=None).requires_tiles is False


# ---------------------------------------------------------------- open_image


def test_open_image_without_zone(iiif):
    with pytest.raises(ValueError, match=r"^Element element_id has no zone$"):
        Element(id="element_id", zone=None).open_image()
    assert iiif.calls == []


@pytest.mark.parametrize(
    ("size", "limits", "expected"),
    [
        pytest.param((400, 600), {}, "full", id="no-limit"),
        pytest.param((400, 600), {"max_height": 600}, "full", id="fits-height"),
        pytest.param((400, 600), {"max_height": 400}, ",400", id="height"),
        pytest.param((400, 600), {"max_height": 800}, "full", id="larger-height"),
        pytest.param((600, 400), {"max_width": 400}, "400,", id="width"),
        pytest.param(
            (400, 400), {"max_width": 200, "max_height": 200}, "200,200", id="both"
        ),
    ],
)
def test_open_image_full_image_sizes(iiif, size, limits, expected):
    width, height = size
    element = make_element(
        width=width, height=height, polygon=((0, 0), (10, 10), (0, 10))
    )
    assert element.open_image(use_full_image=True, **limits) is iiif.image
    assert opened_url(iiif) == f"http://something/full/{expected}/0/default.jpg"


def test_open_image_full_image_size_decides(iiif):
    """A 200×600 polygon on a 400×600 image is still resized: the image size decides."""
    element = make_element(polygon=((0, 0), (200, 0), (200, 600), (0, 600)))
    element.open_image(use_full_image=True, max_height=400)
    assert opened_url(iiif) == "http://something/full/,400/0/default.jpg"


def test_open_image_zone_url(iiif):
    make_element().open_image(max_height=200)
    assert opened_url(iiif) == "http://zoneurl/0,0,400,600/,200/0/default.jpg"


def test_open_image_s3(iiif):
    make_element(s3_url="http://s3url").open_image(use_full_image=True, max_width=10)
    assert opened_url(iiif) == "http://s3url"


def test_open_image_forwards_orientation_and_arguments(iiif):
    element = make_element()
    element.rotation_angle = 42
    element.mirrored = True
    element.open_image("L", use_full_image=True)
    assert iiif.calls == [
        (
            "open_image",
            "http://something/full/full/0/default.jpg",
            ("L",),
            {"rotation_angle": 42, "mirrored": True},
        )
    ]


def test_open_image_explicit_orientation_wins(iiif):
    element = make_element()
    element.rotation_angle = 90
    element.open_image(rotation_angle=0, mirrored=False)
    assert iiif.calls[0][3] == {"rotation_angle": 0, "mirrored": False}


def test_open_image_tiles(iiif):
    assert make_element(max_width=300).open_image() == "tiles"
    assert iiif.calls == [("download_tiles", "http://something")]


def test_open_image_tiles_with_resize(iiif):
    with pytest.raises(NotImplementedError):
        make_element(max_width=300).open_image(max_width=400)
    assert iiif.calls == []


def http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} error", response=response)


@pytest.mark.parametrize(
    ("s3_url", "status", "expected"),
    [
        pytest.param("http://s3url", 403, NotImplementedError, id="s3-forbidden"),
        pytest.param("http://s3url", 404, requests.HTTPError, id="s3-not-found"),
        pytest.param(None, 403, requests.HTTPError, id="iiif-forbidden"),
    ],
)
def test_open_image_http_errors(iiif, s3_url, status, expected):
    error = http_error(status)

    def failing_open_image(url, *args, **kwargs):
        raise error

    iiif.open_image = failing_open_image
    with pytest.raises(expected) as e:
        make_element(s3_url=s3_url).open_image(use_full_image=True)
    assert e.value is error or e.value.__cause__ is error


# ---------------------------------------------------------------- 0.6 keywords


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, "http://zoneurl/0,0,400,600/200,200/0/default.jpg", id="0.4"),
        pytest.param(
            {"extension": "png"},
            "http://zoneurl/0,0,400,600/!200,200/0/default.png",
            id="extension",
        ),
        pytest.param(
            {"extension": "png", "preserve_ratio": False},
            "http://zoneurl/0,0,400,600/200,200/0/default.png",
            id="explicit-no-ratio",
        ),
        pytest.param(
            {"preserve_ratio": True},
            "http://zoneurl/0,0,400,600/!200,200/0/default.jpg",
            id="explicit-ratio",
        ),
    ],
)
def test_open_image_preserve_ratio(iiif, kwargs, expected):
    make_element().open_image(max_width=200, max_height=200, **kwargs)
    assert opened_url(iiif) == expected
    assert iiif.calls[0][3] == {"rotation_angle": 0, "mirrored": False}


def test_open_image_modern_defaults(iiif):
    models.use_modern_image_defaults(True)
    make_element().open_image(max_width=200, max_height=200)
    assert opened_url(iiif) == "http://zoneurl/0,0,400,600/!200,200/0/default.jpg"


def test_open_image_modern_defaults_single_limit(iiif):
    models.use_modern_image_defaults(True)
    make_element().open_image(max_height=200)
    assert opened_url(iiif) == "http://zoneurl/0,0,400,600/,200/0/default.jpg"


# ---------------------------------------------------------------- open_image_tempfile


def test_open_image_tempfile(iiif):
    with make_element().open_image_tempfile(max_height=200) as f:
        path = Path(f.name)
        assert path.read_bytes() == b"image bytes"
        assert path.suffix == ""
    assert not path.exists()
    assert iiif.image.saved == [(f.name, "jpeg")]
    assert opened_url(iiif) == "http://zoneurl/0,0,400,600/,200/0/default.jpg"


@pytest.mark.parametrize(
    ("format", "expected"),
    [pytest.param("png", "png", id="png"), pytest.param("jpg", "jpeg", id="jpg")],
)
def test_open_image_tempfile_format(iiif, format, expected):
    with make_element().open_image_tempfile(format):
        pass
    assert iiif.image.saved[0][1] == expected


@pytest.mark.parametrize(
    ("extension", "pillow_format"),
    [pytest.param("jpg", "jpeg", id="jpg"), pytest.param("png", "png", id="png")],
)
def test_open_image_tempfile_extension(iiif, extension, pillow_format):
    with make_element().open_image_tempfile(
        extension=extension, max_width=200, max_height=200
    ) as f:
        assert f.name.endswith(f".{extension}")
    assert iiif.image.saved == [(f.name, pillow_format)]
    assert (
        opened_url(iiif) == f"http://zoneurl/0,0,400,600/!200,200/0/default.{extension}"
    )


def test_open_image_tempfile_uses_overridden_open_image(iiif):
    class CustomElement(Element):
        def open_image(self, *args, **kwargs):
            return iiif.image

    with CustomElement(id="a").open_image_tempfile():
        pass
    assert iiif.calls == []
    assert len(iiif.image.saved) == 1
