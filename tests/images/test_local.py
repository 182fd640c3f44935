"""Opening images from disk: paths, ``file://`` URLs, IIIF suffixes, orientation, limits."""

from __future__ import annotations

import inspect
import logging
import uuid
from pathlib import Path

import pytest
from PIL import Image

from arkindex_worker import image_io
from arkindex_worker.cache import CachedElement, CachedImage
from arkindex_worker.image import (
    download_image,
    open_image,
    update_pillow_image_size_limit,
)
from arkindex_worker.local_images import (
    local_images_root,
    local_path,
    use_local_images,
)
from arkindex_worker.models import Element
from tests.images.conftest import pixel_colour, same_pixels

IMAGE_ID = uuid.UUID("22222222-2222-2222-2222-222222222222")
ELEMENT_ID = uuid.UUID("33333333-3333-3333-3333-333333333333")


@pytest.fixture(autouse=True)
def _offline(tmp_path):
    """Local images are opened offline only: these tests run as the offline client does."""
    use_local_images(tmp_path)
    yield
    use_local_images(None)


def test_open_image_signature():
    assert str(inspect.signature(open_image)) == (
        "(path: 'str', mode: 'str | None' = 'RGB', rotation_angle: 'int | None' = 0, "
        "mirrored: 'bool | None' = False) -> 'PillowImage'"
    )


# ---------------------------------------------------------------- dispatch


@pytest.fixture
def fake_download(monkeypatch, reference):
    calls = []

    def download(url):
        calls.append(url)
        return reference

    # open_image calls download_image where it is defined
    monkeypatch.setattr(image_io, "download_image", download)
    return calls


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://server/image/full/full/0/default.jpg", id="http"),
        pytest.param("https://server/image/full/full/0/default.jpg", id="https"),
    ],
)
def test_open_image_downloads_urls(fake_download, url):
    open_image(url)
    assert fake_download == [url]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("path/to/something", id="relative"),
        pytest.param("/absolute/path/to/something", id="absolute"),
    ],
)
def test_open_image_opens_existing_paths(monkeypatch, fake_download, reference, path):
    opened = []

    def fake_open(path):
        opened.append(path)
        return reference

    monkeypatch.setattr(Path, "exists", lambda self: True)
    monkeypatch.setattr(Image, "open", fake_open)
    assert open_image(path) is reference
    assert opened == [path]
    assert fake_download == []


def test_open_image_unreadable_file_is_downloaded(monkeypatch, fake_download):
    def broken_open(path):
        raise OSError("cannot identify image file")

    monkeypatch.setattr(Path, "exists", lambda self: True)
    monkeypatch.setattr(Image, "open", broken_open)
    open_image("some/file")
    assert fake_download == ["some/file"]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("path/to/nothing", id="missing-path"),
        pytest.param("ftp://server/image.jpg", id="other-scheme"),
    ],
)
def test_open_image_not_http(path):
    with pytest.raises(AssertionError) as e:
        open_image(path)
    assert str(e.value) == "Image URL must be HTTP(S)"


def test_open_image_missing_file_url(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^No local image at file://"):
        open_image((tmp_path / "nothing.png").as_uri())


# ---------------------------------------------------------------- local files


def test_open_image_local_path(image_file, reference):
    assert same_pixels(open_image(str(image_file)), reference)


def test_open_image_file_url(image_file, reference, caplog):
    caplog.set_level(logging.INFO)
    url = image_file.as_uri()
    assert same_pixels(open_image(url), reference)
    assert caplog.messages == [f"Opened local image {url} - size=300x200"]


def test_open_image_converts_mode(image_file, reference):
    image = open_image(str(image_file), mode="L")
    assert same_pixels(image, reference.convert("L"))


def test_open_image_keeps_mode(tmp_path):
    path = tmp_path / "gray.png"
    Image.new("L", (4, 4), 7).save(path)
    assert open_image(str(path), mode=None).mode == "L"


@pytest.mark.parametrize(
    ("rotation_angle", "mirrored", "transpositions"),
    [
        pytest.param(90, False, ["ROTATE_270"], id="90"),
        pytest.param(180, False, ["ROTATE_180"], id="180"),
        pytest.param(270, False, ["ROTATE_90"], id="270"),
        pytest.param(0, True, ["FLIP_LEFT_RIGHT"], id="mirrored"),
        # Mirrored first, then rotated clockwise.
        pytest.param(90, True, ["FLIP_LEFT_RIGHT", "ROTATE_270"], id="90-mirrored"),
    ],
)
def test_open_image_orientation(
    image_file, reference, rotation_angle, mirrored, transpositions
):
    expected = reference
    for name in transpositions:
        expected = expected.transpose(getattr(Image.Transpose, name))
    image = open_image(
        str(image_file), rotation_angle=rotation_angle, mirrored=mirrored
    )
    assert same_pixels(image, expected)


def test_open_image_rotation_non_right_angle(image_file):
    image = open_image(str(image_file), rotation_angle=45)
    # The canvas grows to hold the rotated 300×200 image; corners are black.
    assert image.size == (354, 354)
    assert image.getpixel((0, 0)) == (0, 0, 0)
    assert image.getpixel((177, 177)) != (0, 0, 0)


@pytest.mark.parametrize(
    ("suffix", "box"),
    [
        pytest.param("full/full/0/default.jpg", (0, 0, 300, 200), id="full"),
        pytest.param("full/max/0/default.png", (0, 0, 300, 200), id="max"),
        pytest.param("10,20,50,40/full/0/default.jpg", (10, 20, 60, 60), id="region"),
        pytest.param(
            "250,150,100,100/full/0/default.jpg", (250, 150, 300, 200), id="clipped"
        ),
        pytest.param("square/full/0/default.jpg", (50, 0, 250, 200), id="square"),
        pytest.param(
            "pct:10,50,20,25/full/0/default.jpg", (30, 100, 90, 150), id="pct"
        ),
    ],
)
@pytest.mark.parametrize("as_uri", [True, False], ids=["file-url", "path"])
def test_open_image_iiif_region(image_file, reference, suffix, box, as_uri):
    base = image_file.as_uri() if as_uri else str(image_file)
    image = open_image(f"{base}/{suffix}")
    assert same_pixels(image, reference.crop(box))
    left, top = box[:2]
    assert image.getpixel((0, 0)) == pixel_colour(left, top)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        pytest.param("150,", (150, 100), id="width"),
        pytest.param(",50", (75, 50), id="height"),
        pytest.param("30,40", (30, 40), id="both"),
        pytest.param("!100,100", (100, 67), id="best-fit"),
        pytest.param("pct:50", (150, 100), id="pct"),
        pytest.param("^600,", (600, 400), id="iiif3-upscale"),
    ],
)
def test_open_image_iiif_size(image_file, size, expected):
    assert open_image(f"{image_file.as_uri()}/full/{size}/0/default.jpg").size == (
        expected
    )


def test_open_image_iiif_region_then_size(image_file, reference):
    image = open_image(f"{image_file.as_uri()}/100,0,100,200/,100/0/default.jpg")
    assert image.size == (50, 100)
    # Resizing by exactly one half averages each 2×2 block.
    assert image.getpixel((0, 0)) == pytest.approx((100, 0, 0), abs=2)


def test_open_image_iiif_rotation_and_quality(image_file, reference):
    image = open_image(f"{image_file.as_uri()}/0,0,30,20/full/!90/gray.png", mode=None)
    expected = (
        reference.crop((0, 0, 30, 20))
        .transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        .transpose(Image.Transpose.ROTATE_270)
        .convert("L")
    )
    assert same_pixels(image, expected)


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        pytest.param(
            "400,0,10,10/full/0/default.jpg", "is outside the 300×200", id="outside"
        ),
        pytest.param("a,b,c,d/full/0/default.jpg", "Invalid IIIF region", id="region"),
        pytest.param("full/12/0/default.jpg", "Invalid IIIF size", id="size"),
        pytest.param("full/full/0/sepia.jpg", "Unsupported IIIF quality", id="quality"),
        pytest.param("full/99999,/0/default.jpg", "upscales", id="upscale"),
    ],
)
def test_open_image_iiif_invalid(image_file, suffix, message):
    with pytest.raises(ValueError, match=message):
        open_image(f"{image_file.as_uri()}/{suffix}")


def test_download_image_local(image_file, reference):
    """The local support lives in download_image, so open_image's fallback has it too."""
    image = download_image(f"{image_file}/0,0,10,10/full/0/default.jpg")
    assert same_pixels(image, reference.crop((0, 0, 10, 10)))


# ---------------------------------------------------------------- offline only, relative paths


def test_local_images_resolve_against_the_root(tmp_path, image_file, reference):
    assert local_images_root() == tmp_path.resolve()
    assert local_path("images/page-1.png") == str(
        tmp_path.resolve() / "images/page-1.png"
    )
    assert local_path(str(image_file)) == str(image_file)
    assert local_path(image_file.as_uri()) == str(image_file)
    assert local_path("https://server/image") is None
    image = download_image("images/page-1.png/0,0,10,10/full/0/default.jpg")
    assert same_pixels(image, reference.crop((0, 0, 10, 10)))


def test_root_is_made_absolute(tmp_path, image_file, reference, monkeypatch):
    monkeypatch.chdir(tmp_path)
    use_local_images("images")
    monkeypatch.chdir("/")

    assert local_images_root() == tmp_path.resolve() / "images"
    assert same_pixels(download_image("page-1.png"), reference)


@pytest.mark.parametrize("as_uri", [False, True], ids=["path", "file-url"])
def test_online_local_images_are_refused(image_file, as_uri):
    use_local_images(None)
    url = image_file.as_uri() if as_uri else f"{image_file}/full/full/0/default.jpg"

    assert local_images_root() is None
    assert local_path(str(image_file)) is None
    assert image_io.open_local(url) is None
    with pytest.raises(AssertionError, match=r"^Image URL must be HTTP\(S\)$"):
        download_image(url)
    with pytest.raises(AssertionError, match=r"^Image URL must be HTTP\(S\)$"):
        open_image(url)


def test_upstream_open_image_of_an_existing_path_is_kept_online(image_file, reference):
    """Spec 12: ``open_image`` of an existing path opens it, online too."""
    use_local_images(None)

    assert same_pixels(open_image(str(image_file)), reference)


def test_the_offline_client_turns_local_images_on_and_off(tmp_path, image_file):
    from arkindex_worker.cache import create_tables, create_version_table, init_cache_db
    from arkindex_worker.offline import OfflineClient

    use_local_images(None)
    (tmp_path / "db").mkdir()
    init_cache_db(tmp_path / "db" / "x.sqlite")
    create_version_table()
    create_tables()

    client = OfflineClient()
    assert local_images_root() == (tmp_path / "db").resolve()
    client.close()
    assert local_images_root() is None


# ---------------------------------------------------------------- models on local images


def test_element_open_image_local(image_file, reference):
    element = Element(
        id="page",
        rotation_angle=0,
        mirrored=False,
        zone={
            "polygon": [[10, 20], [60, 20], [60, 60], [10, 60]],
            "url": f"{image_file.as_uri()}/10,20,50,40/full/0/default.jpg",
            "image": {
                "url": image_file.as_uri(),
                "s3_url": None,
                "width": 300,
                "height": 200,
                "server": {"max_width": None, "max_height": None},
            },
        },
    )
    assert same_pixels(element.open_image(), reference.crop((10, 20, 60, 60)))
    assert element.open_image(use_full_image=True, max_width=150).size == (150, 100)


@pytest.mark.parametrize(
    ("polygon", "rotation_angle", "box"),
    [
        pytest.param(
            [[10, 20], [60, 20], [60, 60], [10, 60]], 0, (10, 20, 60, 60), id="crop"
        ),
        pytest.param(
            [[0, 0], [300, 0], [300, 200], [0, 200]], 0, (0, 0, 300, 200), id="full"
        ),
        pytest.param(
            [[10, 20], [60, 20], [60, 60], [10, 60]], 90, (10, 20, 60, 60), id="rotated"
        ),
    ],
)
def test_cached_element_open_image_local(
    cache_path, image_file, reference, polygon, rotation_angle, box
):
    CachedImage.create(id=IMAGE_ID, width=300, height=200, url=image_file.as_uri())
    element = CachedElement.create(
        id=ELEMENT_ID,
        type="page",
        image=IMAGE_ID,
        polygon=polygon,
        rotation_angle=rotation_angle,
        mirrored=False,
    )
    expected = reference.crop(box)
    if rotation_angle:
        expected = expected.transpose(Image.Transpose.ROTATE_270)
    assert same_pixels(element.open_image(), expected)


def test_cached_element_open_image_local_resized(cache_path, image_file):
    CachedImage.create(id=IMAGE_ID, width=300, height=200, url=str(image_file))
    element = CachedElement.create(
        id=ELEMENT_ID,
        type="page",
        image=IMAGE_ID,
        polygon=[[0, 0], [300, 0], [300, 200], [0, 200]],
    )
    assert element.open_image(max_height=100).size == (150, 100)


# ---------------------------------------------------------------- size limit


@pytest.fixture
def limits_seen(monkeypatch):
    """Record Pillow's limit while a decorated function runs; start from 1000."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    seen = []

    @update_pillow_image_size_limit
    def func(fail=False):
        seen.append(Image.MAX_IMAGE_PIXELS)
        if fail:
            raise RuntimeError("failed")
        return "result"

    return func, seen


@pytest.mark.parametrize(
    ("value", "inside"),
    [
        pytest.param(None, 1000, id="none"),
        pytest.param("0", None, id="str-zero"),
        pytest.param(0, None, id="zero"),
        pytest.param("1", 1, id="str-one"),
        pytest.param(1, 1, id="one"),
    ],
)
def test_size_limit(limits_seen, value, inside):
    func, seen = limits_seen
    assert func(max_image_pixels=value) == "result"
    assert seen == [inside]
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_size_limit_restored_on_error(limits_seen):
    func, seen = limits_seen
    with pytest.raises(RuntimeError):
        func(fail=True, max_image_pixels=5)
    assert seen == [5]
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_size_limit_disabled_warning(limits_seen, caplog):
    func, _ = limits_seen
    func(max_image_pixels=0)
    assert caplog.messages == [
        "Pillow Image size limit is completely disabled, make sure you trust the image source."
    ]


def test_size_limit_environment(limits_seen, monkeypatch):
    func, seen = limits_seen
    monkeypatch.setenv("ARKINDEX_MAX_IMAGE_PIXELS", "42")
    func()
    assert seen == [42]


def test_size_limit_refuses_large_image(image_file):
    with pytest.raises(Image.DecompressionBombError):
        open_image(str(image_file), max_image_pixels=100)


def test_size_limit_disabled_opens_large_image(image_file, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert open_image(str(image_file), max_image_pixels=0).size == (300, 200)
