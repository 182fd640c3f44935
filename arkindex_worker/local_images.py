"""Local images for offline mode: files read as a IIIF server would serve them.

Our addition (upstream reads images over HTTP only). An image URL may be a local
path or a ``file://`` URL, optionally followed by a IIIF image request suffix,
``{file}/{region}/{size}/{rotation}/{quality}.{format}``:
[open_local][arkindex_worker.local_images.open_local] reads the file and applies
the region, size, rotation and quality with Pillow. Used by
[arkindex_worker.image][] for every image it opens or downloads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from urllib.request import url2pathname

from arkindex_worker import image as image_module

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

__all__ = ["local_path", "open_local"]

# Upper bound of the scale of a local resize, as a safety net against typos.
_MAX_UPSCALE = 16

_IIIF_SUFFIX = re.compile(
    r"^(?P<base>.+)/(?P<region>[^/]+)/(?P<size>[^/]+)/(?P<rotation>!?[\d.]+)"
    r"/(?P<quality>[^/.]+)\.(?P<format>\w+)$"
)


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
    suffix = _IIIF_SUFFIX.match(path)
    if suffix and Path(suffix["base"]).is_file():
        return _apply_iiif(_read_file(suffix["base"]), suffix.groupdict())
    if url.startswith("file://"):
        raise FileNotFoundError(f"No local image at {url}")
    return None


def _read_file(path: str) -> PillowImage:
    with image_module._pillow().open(path) as image:
        image.load()
        return image.copy()


def _apply_iiif(image: PillowImage, request: dict[str, str]) -> PillowImage:
    """Apply a IIIF region, size, rotation and quality, as a IIIF server would."""
    image = image.crop(_iiif_region(request["region"], *image.size))
    size = _iiif_size(request["size"], *image.size)
    if size != image.size:
        image = image.resize(size, image_module._pillow().Resampling.LANCZOS)
    rotation = request["rotation"]
    image = image_module._orient(
        image, float(rotation.lstrip("!")), rotation.startswith("!")
    )
    quality = request["quality"]
    if quality in ("gray", "grey"):
        image = image.convert("L")
    elif quality == "bitonal":
        image = image.convert("1")
    elif quality not in ("default", "color", "native"):
        raise ValueError(f"Unsupported IIIF quality {quality!r}")
    return image


def _numbers(text: str, count: int, what: str) -> list[float]:
    try:
        values = [float(value) for value in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or any(value < 0 for value in values):
        raise ValueError(f"Invalid IIIF {what} {text!r}")
    return values


def _iiif_region(region: str, width: int, height: int) -> tuple[int, int, int, int]:
    """Crop box of a IIIF region, clipped to the image."""
    if region == "full":
        return (0, 0, width, height)
    if region == "square":
        side = min(width, height)
        x, y = (width - side) // 2, (height - side) // 2
        return (x, y, x + side, y + side)
    if region.startswith("pct:"):
        x, y, w, h = _numbers(region[4:], 4, "region")
        x, w = x * width / 100, w * width / 100
        y, h = y * height / 100, h * height / 100
    else:
        x, y, w, h = _numbers(region, 4, "region")
    left, top = round(x), round(y)
    right, bottom = min(width, round(x + w)), min(height, round(y + h))
    if left >= right or top >= bottom:
        raise ValueError(
            f"IIIF region {region!r} is outside the {width}×{height} image"
        )
    return (left, top, right, bottom)


def _iiif_size(size: str, width: int, height: int) -> tuple[int, int]:
    """Pixel size of a IIIF size applied to a region of ``width``×``height``."""
    size = size.lstrip("^")
    if size in (image_module.IIIF_FULL, image_module.IIIF_MAX):
        return (width, height)
    if size.startswith("pct:"):
        (percent,) = _numbers(size[4:], 1, "size")
        new = (width * percent / 100, height * percent / 100)
    else:
        best_fit = size.startswith("!")
        parts = size.lstrip("!").split(",")
        if len(parts) != 2 or not any(parts):
            raise ValueError(f"Invalid IIIF size {size!r}")
        w, h = (_numbers(part, 1, "size")[0] if part else None for part in parts)
        if w is not None and h is not None:
            scale = min(w / width, h / height)
            new = (width * scale, height * scale) if best_fit else (w, h)
        elif w is not None:
            new = (w, height * w / width)
        else:
            new = (width * h / height, h)
    result = (max(1, round(new[0])), max(1, round(new[1])))
    if result[0] > width * _MAX_UPSCALE or result[1] > height * _MAX_UPSCALE:
        raise ValueError(f"IIIF size {size!r} upscales the image too much")
    return result
