"""IIIF image requests: the one place that builds and parses their URLs.

A IIIF Image API request is ``{base}/{region}/{size}/{rotation}/{quality}.{format}``,
``base`` being the image's identifier URL (the ``url`` of an Arkindex image), e.g.
``https://iiif.example/iiif/2/page.jpg/0,0,400,600/full/0/default.jpg``; the
image's description is ``{base}/info.json``. The element helpers
([Element][arkindex_worker.models.Element],
[CachedElement][arkindex_worker.cache.CachedElement]), the downloads of
[arkindex_worker.image][], the local images of
[arkindex_worker.local_images][] and the offline client build and read these
URLs here. Pure string and arithmetic functions: this module imports nothing
from the package.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "IIIF_FULL",
    "IIIF_MAX",
    "IIIF_URL",
    "ImageRequest",
    "bounded_size",
    "box_region",
    "image_request_url",
    "info_url",
    "max_size_fallback",
    "parse_image_request",
    "parse_rotation",
    "region_box",
    "size_for_version",
    "size_pixels",
    "with_extension",
    "with_size",
]

IIIF_FULL = "full"
"""IIIF size of the image at full size (IIIF 2); also the whole-image region."""

IIIF_MAX = "max"
"""IIIF size of the largest image the server allows (IIIF 2.1 and 3)."""

IIIF_URL = re.compile(r"\w+:\/{2}.+\/.+\/.+\/.+\/(?P<size>.+)\/!?\d+\/\w+\.\w+")
"""A IIIF image request URL (upstream's pattern); captures its size segment as ``size``."""

_IMAGE_REQUEST = re.compile(
    r"^(?P<base>.+)/(?P<region>[^/]+)/(?P<size>[^/]+)/(?P<rotation>!?[\d.]+)"
    r"/(?P<quality>[^/.]+)\.(?P<format>\w+)$"
)


class ImageRequest(NamedTuple):
    """The parts of a IIIF image request URL, as strings."""

    base: str
    region: str
    size: str
    rotation: str
    quality: str
    format: str


# ---------------------------------------------------------------- building


def _with_slash(base: str) -> str:
    return base if base.endswith("/") else base + "/"


def image_request_url(
    base: str,
    region: str = IIIF_FULL,
    size: str | int = IIIF_FULL,
    rotation: int | str = 0,
    quality_format: str = "default.jpg",
) -> str:
    """The image request ``{base}/{region}/{size}/{rotation}/{quality_format}``.

    A ``/`` is added after ``base`` unless it ends with one.
    """
    return f"{_with_slash(base)}{region}/{size}/{rotation}/{quality_format}"


def info_url(base: str) -> str:
    """The URL of the image information document, ``{base}/info.json``."""
    return f"{_with_slash(base)}info.json"


def box_region(x: float, y: float, width: float, height: float) -> str:
    """The IIIF region ``x,y,w,h`` of a box (coordinates written as given)."""
    return f"{x},{y},{width},{height}"


def bounded_size(
    width: int,
    height: int,
    max_width: int | None,
    max_height: int | None,
    best_fit: bool = False,
) -> str:
    """The IIIF size that brings a ``width``×``height`` image within the limits.

    ``full`` when the image already fits (a ``None`` limit is no limit), else
    ``w,``, ``,h`` or ``w,h``; with ``best_fit`` and both limits, ``!w,h``
    (the image keeps its ratio).
    """
    if (max_width is None or width <= max_width) and (
        max_height is None or height <= max_height
    ):
        return IIIF_FULL
    size = f"{max_width or ''},{max_height or ''}"
    if best_fit and max_width and max_height:
        return f"!{size}"
    return size


def size_for_version(size: str | int, version: object) -> str | int:
    """The size as a server of IIIF ``version`` names it: ``max`` for ``full`` on IIIF 3.

    IIIF 3 has no ``full`` size; other sizes and versions are unchanged.
    """
    if size == IIIF_FULL and str(version) == "3":
        return IIIF_MAX
    return size


# ---------------------------------------------------------------- rewriting


def with_size(url: str, size: str | int) -> str:
    """The image request ``url`` with another size (the third segment from the end)."""
    parts = url.split("/")
    parts[-3] = str(size)
    return "/".join(parts)


def with_extension(url: str, extension: str) -> str:
    """The image request ``url`` with another file extension (``default.{extension}``)."""
    head, slash, filename = url.rpartition("/")
    stem = filename.rpartition(".")[0] if "." in filename else filename
    return f"{head}{slash}{stem}.{extension}"


def max_size_fallback(url: str) -> str | None:
    """The same request at the ``max`` size when ``url`` asks for the ``full`` size.

    ``None`` when ``url`` is not a full-size IIIF request
    ([IIIF_URL][arkindex_worker.iiif.IIIF_URL] decides).
    """
    match = IIIF_URL.match(url)
    if not match or match.group("size") != IIIF_FULL:
        return None
    return url[: match.start("size")] + IIIF_MAX + url[match.end("size") :]


# ---------------------------------------------------------------- parsing


def parse_image_request(url: str) -> ImageRequest | None:
    """Split a IIIF image request URL (or path) into its parts; ``None`` if it is not one."""
    match = _IMAGE_REQUEST.match(url)
    return ImageRequest(**match.groupdict()) if match else None


def parse_rotation(rotation: str) -> tuple[float, bool]:
    """The clockwise angle of a IIIF rotation and whether it mirrors first (``!``)."""
    return float(rotation.lstrip("!")), rotation.startswith("!")


def _numbers(text: str, count: int, what: str) -> list[float]:
    try:
        values = [float(value) for value in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or any(value < 0 for value in values):
        raise ValueError(f"Invalid IIIF {what} {text!r}")
    return values


def region_box(region: str, width: int, height: int) -> tuple[int, int, int, int]:
    """Crop box ``(left, top, right, bottom)`` of a IIIF region, clipped to the image.

    Regions: ``full``, ``square``, ``x,y,w,h`` and ``pct:x,y,w,h``.

    Raises:
        ValueError: an invalid region, or one outside the image.
    """
    if region == IIIF_FULL:
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


def size_pixels(size: str, width: int, height: int) -> tuple[int, int]:
    """Pixel size of a IIIF size applied to a region of ``width``×``height``.

    Sizes: ``full``, ``max``, ``w,``, ``,h``, ``w,h``, ``!w,h`` and ``pct:n``,
    with IIIF 3's optional ``^`` (upscaling allowed).

    Raises:
        ValueError: an invalid size.
    """
    size = size.lstrip("^")
    if size in (IIIF_FULL, IIIF_MAX):
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
    return (max(1, round(new[0])), max(1, round(new[1])))
