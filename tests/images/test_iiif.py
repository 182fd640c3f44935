"""IIIF image request URLs: built and parsed in one module (17)."""

from __future__ import annotations

import pytest
from PIL import Image

from arkindex_worker import iiif
from arkindex_worker.iiif import ImageRequest

BASE = "http://server/iiif/page"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        pytest.param(BASE, f"{BASE}/full/full/0/default.jpg", id="no-slash"),
        pytest.param(f"{BASE}/", f"{BASE}/full/full/0/default.jpg", id="slash"),
    ],
)
def test_image_request_url_defaults(base, expected):
    assert iiif.image_request_url(base) == expected


def test_image_request_url_parts():
    url = iiif.image_request_url(BASE, "1,2,3,4", "!5,6", "!90", "gray.png")
    assert url == f"{BASE}/1,2,3,4/!5,6/!90/gray.png"


def test_info_url():
    assert iiif.info_url(BASE) == iiif.info_url(f"{BASE}/") == f"{BASE}/info.json"


def test_box_region_keeps_the_coordinates_type():
    assert iiif.box_region(0, 1, 2, 3) == "0,1,2,3"
    assert iiif.box_region(0.0, 1.5, 2, 3) == "0.0,1.5,2,3"


@pytest.mark.parametrize(
    ("max_width", "max_height", "best_fit", "expected"),
    [
        pytest.param(None, None, False, "full", id="no-limit"),
        pytest.param(400, 600, True, "full", id="fits"),
        pytest.param(200, None, False, "200,", id="width"),
        pytest.param(None, 300, False, ",300", id="height"),
        pytest.param(200, 300, False, "200,300", id="both"),
        pytest.param(200, 300, True, "!200,300", id="best-fit"),
        pytest.param(200, None, True, "200,", id="best-fit-one-limit"),
    ],
)
def test_bounded_size(max_width, max_height, best_fit, expected):
    assert iiif.bounded_size(400, 600, max_width, max_height, best_fit) == expected


@pytest.mark.parametrize(
    ("size", "version", "expected"),
    [
        pytest.param("full", 3, "max", id="iiif3-full"),
        pytest.param("full", "3", "max", id="iiif3-full-str"),
        pytest.param("full", 2, "full", id="iiif2-full"),
        pytest.param("full", None, "full", id="unknown-version"),
        pytest.param(",200", 3, ",200", id="iiif3-other-size"),
    ],
)
def test_size_for_version(size, version, expected):
    assert iiif.size_for_version(size, version) == expected


def test_with_size_and_extension():
    url = f"{BASE}/0,0,10,10/full/0/default.jpg"
    assert iiif.with_size(url, ",200") == f"{BASE}/0,0,10,10/,200/0/default.jpg"
    assert iiif.with_extension(url, "png") == f"{BASE}/0,0,10,10/full/0/default.png"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            f"{BASE}/full/full/0/default.jpg",
            f"{BASE}/full/max/0/default.jpg",
            id="full",
        ),
        pytest.param(
            f"{BASE}/0,0,10,10/full/!90/default.png",
            f"{BASE}/0,0,10,10/max/!90/default.png",
            id="crop-mirrored",
        ),
        pytest.param(f"{BASE}/full/,200/0/default.jpg", None, id="other-size"),
        pytest.param("http://server/page/full/full/0/default.jpg", None, id="short"),
        pytest.param("/local/page.png/full/full/0/default.jpg", None, id="path"),
    ],
)
def test_max_size_fallback(url, expected):
    assert iiif.max_size_fallback(url) == expected


def test_parse_image_request():
    assert iiif.parse_image_request(
        "/a/page.png/pct:0,0,50,50/^!5,6/!90.5/gray.jpg"
    ) == (ImageRequest("/a/page.png", "pct:0,0,50,50", "^!5,6", "!90.5", "gray", "jpg"))
    assert iiif.parse_image_request("/a/page.png") is None


def test_parse_rotation():
    assert iiif.parse_rotation("90") == (90.0, False)
    assert iiif.parse_rotation("!0") == (0.0, True)


@pytest.mark.parametrize(
    "module_name", ["arkindex_worker.image", "arkindex_worker.image_io"]
)
def test_download_image_replaced_on_either_module_is_called(monkeypatch, module_name):
    """Upstream's suites patch arkindex_worker.image.download_image (spec 12)."""
    import importlib

    from arkindex_worker import image_io
    from arkindex_worker.models import Element

    calls = []
    monkeypatch.setattr(
        importlib.import_module(module_name),
        "download_image",
        lambda url: calls.append(url) or Image.new("RGB", (10, 10)),
    )
    element = Element(
        id="e",
        zone={
            "url": "http://iiif.test/page/0,0,10,10/full/0/default.jpg",
            "polygon": [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
            "image": {"url": "http://iiif.test/page", "width": 10, "height": 10},
        },
    )
    assert element.open_image().size == (10, 10)
    assert image_io.open_image("http://iiif.test/x").size == (10, 10)
    assert calls == [
        "http://iiif.test/page/0,0,10,10/full/0/default.jpg",
        "http://iiif.test/x",
    ]
