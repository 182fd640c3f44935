"""Local images for offline mode: files read as a IIIF server would serve them.

Our addition (upstream reads images over HTTP only). An image URL may be a local
path or a ``file://`` URL, optionally followed by a IIIF image request suffix,
``{file}/{region}/{size}/{rotation}/{quality}.{format}``:
[open_local][arkindex_worker.local_images.open_local] reads the file and applies
the region, size, rotation and quality with Pillow ([arkindex_worker.iiif][]
reads the suffix and the meaning of its parameters). Used by
[arkindex_worker.image][] for every image it downloads.

Local images are opened **offline only**: the offline client turns them on
with [use_local_images][arkindex_worker.local_images.use_local_images], giving
the folder of the database, against which relative paths resolve (a database
copied with its image folder keeps working). Online they are off, so an image
URL from the server must be HTTP(S) (`Image URL must be HTTP(S)`): a path or a
``file://`` URL in server data never opens a local file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from urllib.request import url2pathname

from arkindex_worker import iiif
from arkindex_worker.checks import check
from arkindex_worker.pillow import orient, require_pillow

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

__all__ = [
    "check_image_url",
    "local_images_root",
    "local_path",
    "open_local",
    "use_local_images",
]

# Upper bound of the scale of a local resize, as a safety net against typos.
_MAX_UPSCALE = 16

# The folder relative image paths resolve against; None while local images are off.
_root: Path | None = None


def use_local_images(root: Path | str | None) -> None:
    """Turn local images on, resolving relative paths against ``root``, or off (``None``).

    Called by the offline client with its database's folder (made absolute, so
    that a later change of directory does not matter).
    """
    global _root
    _root = None if root is None else Path(root).resolve()


def local_images_root() -> Path | None:
    """The folder relative image paths resolve against; ``None`` when local images are off."""
    return _root


def check_image_url(url: str) -> None:
    """Check the URL of an element's image: online, it must be HTTP(S).

    The element helpers (``Element.open_image``, ``CachedElement.open_image``)
    call it before opening: offline any local path or URL goes on.

    Raises:
        AssertionError: ``Image URL must be HTTP(S)``, online, for another URL.
    """
    check(
        _root is not None or url.startswith(("http://", "https://")),
        "Image URL must be HTTP(S)",
    )


def local_path(url: str) -> str | None:
    """The file system path of a ``file://`` URL or a plain path; ``None`` for other URLs.

    ``None`` too while local images are off (online). A relative path is
    resolved against the folder given to `use_local_images`.
    """
    if _root is None:
        return None
    if url.startswith("file://"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            return None
        return url2pathname(parsed.path)
    if re.match(r"^[a-zA-Z][\w+.-]*://", url):
        return None
    return str(_root / url)


def open_local(url: str) -> PillowImage | None:
    """Open a local image, applying a IIIF suffix; ``None`` when ``url`` is not local.

    Always ``None`` while local images are off (online).

    Raises:
        FileNotFoundError: a ``file://`` URL names no image.
    """
    path = local_path(url)
    if path is None:
        return None
    if Path(path).is_file():
        return _read_file(path)
    request = iiif.parse_image_request(path)
    if request and Path(request.base).is_file():
        return _apply_iiif(_read_file(request.base), request)
    if url.startswith("file://"):
        raise FileNotFoundError(f"No local image at {url}")
    return None


def _read_file(path: str) -> PillowImage:
    with require_pillow().open(path) as image:
        image.load()
        return image.copy()


def _apply_iiif(image: PillowImage, request: iiif.ImageRequest) -> PillowImage:
    """Apply a IIIF region, size, rotation and quality, as a IIIF server would."""
    image = image.crop(iiif.region_box(request.region, *image.size))
    size = _local_size(request.size, *image.size)
    if size != image.size:
        image = image.resize(size, require_pillow().Resampling.LANCZOS)
    image = orient(image, *iiif.parse_rotation(request.rotation))
    quality = request.quality
    if quality in ("gray", "grey"):
        image = image.convert("L")
    elif quality == "bitonal":
        image = image.convert("1")
    elif quality not in ("default", "color", "native"):
        raise ValueError(f"Unsupported IIIF quality {quality!r}")
    return image


def _local_size(size: str, width: int, height: int) -> tuple[int, int]:
    """Pixel size of a IIIF size on a ``width``×``height`` region, within ``_MAX_UPSCALE``."""
    result = iiif.size_pixels(size, width, height)
    if result[0] > width * _MAX_UPSCALE or result[1] > height * _MAX_UPSCALE:
        raise ValueError(f"IIIF size {size.lstrip('^')!r} upscales the image too much")
    return result
