"""CachedElement.open_image: IIIF URL of the polygon's bounding box (06).

`arkindex_worker.image_io.open_image` is replaced by a mock, so these tests check
only the URL built here, whatever the state of the image code.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from unittest.mock import Mock, call

import pytest

from arkindex_worker import image_io
from arkindex_worker.cache import CachedElement, CachedImage


@pytest.fixture
def image_module(monkeypatch):
    monkeypatch.setattr(image_io, "open_image", Mock(return_value="the image"))
    return image_io


def box(x, y, width, height):
    return [[x, y], [x, y + height], [x + width, y + height], [x + width, y]]


def test_no_image():
    element = CachedElement(id="aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")

    with pytest.raises(ValueError) as e:
        element.open_image()

    assert str(e.value) == "Element aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa has no image"


@pytest.mark.parametrize(
    ("size", "polygon", "max_width", "max_height", "suffix"),
    [
        pytest.param((400, 600), box(0, 0, 400, 600), None, None, "full/full", id="full"),
        pytest.param((400, 600), box(0, 0, 200, 100), None, None, "0,0,200,100/full", id="crop"),
        pytest.param((400, 600), box(50, 50, 200, 100), None, None, "50,50,200,100/full", id="crop-offset"),
        pytest.param((400, 600), box(0, 0, 400, 600), 400, None, "full/full", id="fits-width"),
        pytest.param((600, 400), box(0, 0, 600, 400), None, 400, "full/full", id="fits-height"),
        pytest.param((400, 400), box(0, 0, 400, 400), 400, 400, "full/full", id="fits-both"),
        pytest.param((400, 400), box(50, 50, 200, 100), 200, 100, "50,50,200,100/full", id="crop-no-resize"),
        pytest.param((400, 600), box(0, 0, 400, 600), None, 400, "full/,400", id="resize-height"),
        pytest.param((600, 400), box(0, 0, 600, 400), 400, None, "full/400,", id="resize-width"),
        pytest.param((400, 600), box(0, 0, 200, 600), 400, 600, "0,0,200,600/full", id="crop-max"),
        pytest.param((400, 400), box(0, 0, 400, 400), 200, 200, "full/200,200", id="resize-both"),
        pytest.param((400, 400), box(0, 0, 400, 400), 1000, 1000, "full/full", id="above-size"),
        pytest.param((400, 400), box(10, 10, 400, 400), None, None, "full/full", id="offset-same-size"),
        pytest.param((400, 400), box(0.0, 0.0, 50.0, 50.0), None, None, "0.0,0.0,50.0,50.0/full", id="float"),
    ],
)  # fmt: skip
def test_url(cache_path, image_module, size, polygon, max_width, max_height, suffix):
    image = CachedImage.create(
        id=uuid.uuid4(), width=size[0], height=size[1], url="http://something"
    )
    element = CachedElement.create(
        id=uuid.uuid4(), type="page", image=image, polygon=polygon
    )

    result = element.open_image(max_width=max_width, max_height=max_height)

    assert result == "the image"
    assert image_module.open_image.call_args_list == [
        call(
            f"http://something/{suffix}/0/default.jpg",
            mirrored=False,
            rotation_angle=0,
        )
    ]


def test_passes_arguments(cache_path, image_module):
    image = CachedImage.create(id=uuid.uuid4(), width=10, height=10, url="http://i/")
    element = CachedElement.create(
        id=uuid.uuid4(),
        type="page",
        image=image,
        polygon=box(0, 0, 10, 10),
        rotation_angle=90,
        mirrored=True,
    )

    element.open_image("positional", use_cache=True)

    assert image_module.open_image.call_args_list == [
        call(
            "http://i/full/full/0/default.jpg",
            "positional",
            rotation_angle=90,
            mirrored=True,
            use_cache=True,
        )
    ]


def test_import_does_not_load_pillow():
    code = (
        "import sys, arkindex_worker.cache; "
        "print(sorted({'PIL', 'arkindex_worker.image'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout == "[]\n"
