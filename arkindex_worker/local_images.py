"""Local images for offline mode: files read as a IIIF server would serve them.

Our addition (upstream reads images over HTTP only). An image URL may be a local
path or a ``file://`` URL, optionally followed by a IIIF image request suffix,
``{file}/{region}/{size}/{rotation}/{quality}.{format}``:
[open_local][arkindex_worker.local_images.open_local] reads the file and applies
the region, size, rotation and quality with Pillow ([arkindex_worker.iiif][]
reads the suffix and the meaning of its parameters). Used by
[arkindex_worker.image][] for every image it opens or downloads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from urllib.request import url2pathname

from arkindex_worker import iiif
from arkindex_worker.pillow import orient, require_pillow

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

__all__ = ["local_path", "open_local"]

# Upper bound of the scale of a local resize, as a safety net against typos.
_MAX_UPSCALE = 16


def local_path(url: str) -> str | None:
    """The file system path of a ``file://`` URL or a plain path; ``None`` for other URLs."""
    if url.startswith("file://"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            return None
        return url2pathname(parsed.path)
    if re.match(r"^[a-zA-Z][\w+.-]*://", url):
        return None
    return url


def open_local(url: str) -> PillowImage | None:
    """Open a local image, applying a IIIF suffix; ``None`` when ``url`` is not local.

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
