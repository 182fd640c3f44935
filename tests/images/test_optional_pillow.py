"""Pillow is an optional extra: imports stay Pillow-free, calls fail clearly (12)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from arkindex_worker import image as image_module
from arkindex_worker.cache import CachedElement, CachedImage
from arkindex_worker.image import PILLOW_MISSING
from arkindex_worker.local_images import use_local_images
from arkindex_worker.models import Element


@pytest.mark.parametrize(
    "module",
    [
        "arkindex_worker.worker",
        "arkindex_worker.models",
        "arkindex_worker.cache",
    ],
)
def test_import_without_pillow(module):
    code = f"import {module}, sys; assert 'PIL' not in sys.modules, 'PIL imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_pillow_missing_message():
    assert PILLOW_MISSING == (
        "Image helpers need the optional Pillow package: "
        "pip install arkindex-worker-sdk[image]"
    )


@pytest.fixture
def no_pillow(monkeypatch):
    """Make ``from PIL import Image`` fail, as when the extra is not installed."""
    monkeypatch.setitem(sys.modules, "PIL", None)


def pillow_calls(tmp_path):
    local_file = tmp_path / "page.png"
    local_file.write_bytes(b"not read")
    element = Element(
        id="page",
        rotation_angle=0,
        mirrored=False,
        zone={
            "polygon": [[0, 0], [1, 0], [1, 1]],
            "url": "http://server/iiif/page/0,0,1,1/full/0/default.jpg",
            "image": {"url": "http://server/iiif/page", "width": 1, "height": 1},
        },
    )
    return {
        "open_image": lambda: image_module.open_image("http://server/image.jpg"),
        "download_image": lambda: image_module.download_image("http://server/a.jpg"),
        "download_local": lambda: image_module.download_image(str(local_file)),
        "download_tiles": lambda: image_module.download_tiles("http://server/"),
        "resized_images": lambda: next(image_module.resized_images(element=element)),
        "element.open_image": element.open_image,
        "element.open_image_tempfile": lambda: (
            element.open_image_tempfile().__enter__()
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "open_image",
        "download_image",
        "download_local",
        "download_tiles",
        "resized_images",
        "element.open_image",
        "element.open_image_tempfile",
    ],
)
def test_calls_without_pillow(no_pillow, tmp_path, mock_api, name):
    # Local images are opened offline only
    use_local_images(tmp_path)
    with pytest.raises(ImportError) as e:
        pillow_calls(tmp_path)[name]()
    assert str(e.value) == PILLOW_MISSING
    assert len(mock_api.calls) == 0


def test_cached_element_open_image_without_pillow(no_pillow, cache_path):
    image_id = uuid.uuid4()
    CachedImage.create(id=image_id, width=10, height=10, url="http://server/image")
    element = CachedElement.create(
        id=uuid.uuid4(), type="page", image=image_id, polygon=[[0, 0], [10, 10]]
    )
    with pytest.raises(ImportError, match=r"pip install arkindex-worker-sdk\[image\]"):
        element.open_image()


def test_polygon_helpers_without_pillow(no_pillow):
    assert image_module.polygon_bounding_box([[0, 0], [2, 3]]) == (0, 0, 2, 3)
    assert image_module.trim_polygon([[0, 0], [20, 3]], 10, 10) == [[0, 0], [10, 3]]


def test_image_module_import_without_pillow():
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "from arkindex_worker import image\n"
        "try:\n"
        "    image.open_image('http://server/image.jpg')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == PILLOW_MISSING + "\n"
