"""Open, download, crop, orient and upload element images (IIIF).

Upstream's names, gathered from the lower modules where they are defined (any
module of the package can import those without a cycle):

- [arkindex_worker.geometry][]: ``BoundingBox``, ``polygon_bounding_box``;
- [arkindex_worker.iiif][]: ``IIIF_URL``, ``IIIF_FULL``, ``IIIF_MAX``, and every
  IIIF URL the package builds;
- [arkindex_worker.image_io][]: ``open_image``, ``download_image``,
  ``download_tiles``, ``upload_image``;
- [arkindex_worker.pillow][]: ``update_pillow_image_size_limit``;
- this module: ``trim_polygon``, ``revert_orientation``, ``resized_images``.

!!! note "Differs from upstream: where to patch"
    The functions call each other in the module that defines them, and the
    element helpers (``Element.open_image``, ``CachedElement.open_image``) call
    [arkindex_worker.image_io][]: to replace a function in a test, patch it
    there (e.g. ``arkindex_worker.image_io.download_image``), not on this module.

Pillow is an optional extra (``pip install arkindex-worker-sdk[image]``): no
module imports it when imported, only the functions that handle pixels do
([arkindex_worker.pillow][]), so the polygon helpers
([polygon_bounding_box][arkindex_worker.image.polygon_bounding_box],
[trim_polygon][arkindex_worker.image.trim_polygon],
[revert_orientation][arkindex_worker.image.revert_orientation]) work without it.
Without Pillow, the others raise an ``ImportError`` naming the extra.

HTTP(S) requests go through the session of the worker's API client (see
`arkindex_worker.api.shared.http_client`) and follow its retry
policy (`arkindex_worker.api.retry`): 5xx, 429 and connection failures are
retried, other 4xx answers are not. The API token is never sent to an image
server.

!!! note "Differs from upstream: local images"
    For offline mode, an image URL may also be a local path or a ``file://`` URL.
    [open_image][arkindex_worker.image.open_image] and
    [download_image][arkindex_worker.image.download_image] open such an image from
    disk. A IIIF image request suffix after the file,
    ``{file}/{region}/{size}/{rotation}/{quality}.{format}`` (as
    ``CachedElement.open_image`` and ``Element.open_image`` build them), is applied
    locally with Pillow: the region (``full``, ``square``, ``x,y,w,h``,
    ``pct:x,y,w,h``) is cropped, the size (``full``, ``max``, ``w,``, ``,h``,
    ``w,h``, ``!w,h``, ``pct:n``, with IIIF 3's optional ``^``) resized, the
    rotation (``!`` mirrors first) and the quality (``gray``, ``bitonal``) applied.
    The format only names the file type a server would send and is ignored.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arkindex_worker import generation, logger
from arkindex_worker.geometry import BoundingBox, polygon_bounding_box
from arkindex_worker.iiif import IIIF_FULL, IIIF_MAX, IIIF_URL
from arkindex_worker.image_io import (
    _retried_request as _retried_request,  # upstream's private name (spec 12, 15 §15)
)
from arkindex_worker.image_io import (
    _user_agent,
    download_image,
    download_tiles,
    open_image,
    upload_image,
)
from arkindex_worker.image_io import (
    prepared_download as prepared_download,  # re-exported for arkindex_worker.worker
)
from arkindex_worker.models import Element
from arkindex_worker.pillow import PILLOW_MISSING as PILLOW_MISSING
from arkindex_worker.pillow import require_pillow, update_pillow_image_size_limit
from arkindex_worker.types import ElementLike, Polygon
from arkindex_worker.validation import check, check_element_or_cached

__all__ = [
    "DOWNLOAD_TIMEOUT",
    "IIIF_FULL",
    "IIIF_MAX",
    "IIIF_URL",
    "IIIF_USER_AGENT",
    "IMAGE_RATIO",
    "IMAGE_RATIOS",
    "REQUEST_TIMEOUT",
    "BoundingBox",
    "download_image",
    "download_tiles",
    "open_image",
    "polygon_bounding_box",
    "resized_images",
    "revert_orientation",
    "trim_polygon",
    "update_pillow_image_size_limit",
    "upload_image",
]

DOWNLOAD_TIMEOUT = (30, 60)
"""Default (connect, read) time-outs in seconds; image requests use the API
client's, which default to the same."""

REQUEST_TIMEOUT = DOWNLOAD_TIMEOUT
"""0.6 name of [DOWNLOAD_TIMEOUT][arkindex_worker.image.DOWNLOAD_TIMEOUT]."""

IMAGE_RATIO = [1, 0.9, 0.85, 0.80, 0.75, 0.70, 0.60, 0.50, 0.40, 0.30]
"""Ratios of the successive images of [resized_images][arkindex_worker.image.resized_images]."""

IMAGE_RATIOS = [round(1 - step * 0.05, 2) for step in range(20)]
"""0.6 ratios, from 1.0 down to 0.05 by 0.05."""

IIIF_USER_AGENT = _user_agent()
"""``User-Agent`` of the image requests: ``Teklia/Workers {version}``."""


def _follows_0_6() -> bool:
    """Whether the image helpers follow generation 0.6 (the current one, spec 15 §15)."""
    return generation.current().name == generation.GENERATION_0_6.name


# ------------------------------------------------------------------ polygons


def trim_polygon(polygon: Polygon, image_width: int, image_height: int) -> Polygon:
    """Clamp a polygon into an image, removing the repeated points.

    A closed polygon (last point equal to the first) stays closed.

    Under generation 0.6: at least three points, other messages, no duplicate
    removal and no re-closing.

    Raises:
        AssertionError: the polygon is invalid or entirely outside the image.
    """
    if _follows_0_6():
        return _trim_polygon_0_6(polygon, image_width, image_height)
    check(
        isinstance(polygon, list | tuple),
        "Input polygon must be a valid list or tuple of points.",
    )
    _check_points(polygon, image_width, image_height)
    trimmed: Polygon = []
    for x, y in polygon:
        point = [min(image_width, max(0, x)), min(image_height, max(0, y))]
        if point not in trimmed:
            trimmed.append(point)
    if list(polygon[-1]) == list(polygon[0]):
        trimmed.append(list(trimmed[0]))
    return trimmed


def _check_points(polygon: Polygon, image_width: int, image_height: int) -> None:
    """The point checks both generations of `trim_polygon` make, in this order."""
    check(
        all(isinstance(point, list | tuple) for point in polygon),
        "Polygon points must be tuples or lists.",
    )
    check(
        all(len(point) == 2 for point in polygon),
        "Polygon points must be tuples or lists of 2 elements.",
    )
    check(
        all(isinstance(x, int) and isinstance(y, int) for x, y in polygon),
        "Polygon point coordinates must be integers.",
    )
    check(
        any(x <= image_width and y <= image_height for x, y in polygon),
        "This polygon is entirely outside the image's bounds.",
    )


def _trim_polygon_0_6(polygon: Polygon, image_width: int, image_height: int) -> Polygon:
    check(
        isinstance(polygon, list | tuple),
        "Polygon must be a valid list or tuple of points.",
    )
    check(len(polygon) >= 3, "Polygon should have at least three points.")
    _check_points(polygon, image_width, image_height)
    return [
        [min(image_width, max(0, x)), min(image_height, max(0, y))] for x, y in polygon
    ]


_Ring = list[tuple[float, float]]


def _ring(polygon: Polygon) -> _Ring:
    ring = [(float(x), float(y)) for x, y in polygon]
    if ring and ring[-1] != ring[0]:
        ring.append(ring[0])
    if len(ring) < 4:
        raise ValueError("A linearring requires at least 4 coordinates.")
    return ring


def _bounds(ring: _Ring) -> tuple[float, float, float, float]:
    xs, ys = zip(*ring)
    return min(xs), min(ys), max(xs), max(ys)


def _rotate(ring: _Ring, angle: float, origin: tuple[float, float]) -> _Ring:
    """Counter-clockwise rotation in a y-up frame, as shapely's ``rotate``."""
    radians = angle * math.pi / 180
    c, s = math.cos(radians), math.sin(radians)
    c = 0.0 if abs(c) < 2.5e-16 else c
    s = 0.0 if abs(s) < 2.5e-16 else s
    ox, oy = origin
    x_off = ox - ox * c + oy * s
    y_off = oy - ox * s - oy * c
    return [(c * x - s * y + x_off, s * x + c * y + y_off) for x, y in ring]


def _mirror(ring: _Ring, origin: tuple[float, float]) -> _Ring:
    return [(2 * origin[0] - x, y) for x, y in ring]


def _translate(ring: _Ring, dx: float, dy: float) -> _Ring:
    return [(x + dx, y + dy) for x, y in ring]


def revert_orientation(
    element: ElementLike, polygon: Polygon, reverse: bool = False
) -> Polygon:
    """Map a polygon between an element's oriented image and its original image.

    Args:
        element: the element whose image was opened rotated and/or mirrored.
        polygon: a polygon on the oriented image (or, with ``reverse``, on the
            original image).
        reverse: apply the orientation instead of undoing it.

    Returns:
        The mapped polygon, closed, with coordinates truncated to integers.

    Raises:
        AssertionError: invalid arguments, or an element without polygon.
    """
    modern = _follows_0_6()
    if modern:
        check(
            element and isinstance(element, Element),
            "element shouldn't be null and should be an Element",
        )
    else:
        check_element_or_cached(element)
    check(
        polygon and isinstance(polygon, list),
        "polygon shouldn't be null and should be a list",
    )
    check(
        isinstance(reverse, bool),
        "reverse should be a bool" if modern else "Reverse should be a bool",
    )
    if isinstance(element, Element):
        check(
            element.get("zone") and element.zone.get("polygon"),
            "element should have a zone and a polygon",
        )
        parent = _ring(element.zone.polygon)
    else:
        check(element.polygon, "cached element should have a polygon")
        parent = _ring(element.polygon)
    angle, mirrored = element.rotation_angle, element.mirrored

    minx, miny, maxx, maxy = _bounds(parent)
    origin = ((minx + maxx) / 2, (miny + maxy) / 2)
    # Pillow's expand=True moves the rotated image's top left corner to (0, 0).
    dx, dy, _, _ = _bounds(_rotate(parent, angle, origin))

    ring = _ring(polygon)
    if reverse:
        if mirrored:
            ring = _mirror(ring, origin)
        if angle:
            ring = _rotate(ring, angle, origin)
        ring = _translate(ring, -dx, -dy)
    else:
        ring = _translate(ring, dx, dy)
        if angle:
            ring = _rotate(ring, -angle, origin)
        if mirrored:
            ring = _mirror(ring, origin)
    return [[int(x), int(y)] for x, y in ring]


# ------------------------------------------------------------------ resized images


_SIZE_SUFFIXES = ("kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", "RB", "QB")


def _naturalsize(size: int) -> str:
    """Human readable size in decimal units, as ``humanize.naturalsize``."""
    if size == 1:
        return "1 Byte"
    if size < 1000:
        return f"{size} Bytes"
    power = 1
    while power < len(_SIZE_SUFFIXES) and size >= 1000 ** (power + 1):
        power += 1
    return f"{size / 1000**power:.1f} {_SIZE_SUFFIXES[power - 1]}"


def _too_heavy(size: int, max_bytes: int) -> bool:
    if size <= max_bytes:
        return False
    logger.warning(f"The image size is {_naturalsize(size)}.")
    logger.warning(f"Maximum image input size supported is {_naturalsize(max_bytes)}.")
    logger.warning("The image will be resized.")
    return True


def resized_images(
    *args: Any,
    element: Element,
    max_pixels: int | None = None,
    max_bytes: int | None = None,
    **kwargs: Any,
) -> Iterator[Any]:
    """Yield successively smaller JPEG files of an element's image.

    Sizes are the ratios of [IMAGE_RATIO][arkindex_worker.image.IMAGE_RATIO] of the
    long side of the element's bounding box, capped at ``max_pixels``; files
    heavier than ``max_bytes`` are skipped. Each file is deleted when the generator
    resumes.

    Args:
        *args: passed to ``element.open_image_tempfile``.
        element: the element whose image is resized.
        max_pixels: maximum length of the long side.
        max_bytes: maximum size of the file.
        **kwargs: passed to ``element.open_image_tempfile``; the 0.6 keywords
            ``max_pixels_short``, ``max_pixels_long`` and ``use_base64`` select the
            0.6 algorithm.

    Yields:
        Open temporary files (``tempfile.NamedTemporaryFile``), or base64 strings
        with ``use_base64=True``.
    """
    modern = {
        key: kwargs.pop(key)
        for key in ("max_pixels_short", "max_pixels_long", "use_base64")
        if key in kwargs
    }
    if modern and max_pixels is not None:
        raise TypeError(
            "resized_images() takes either max_pixels or the 0.6 keywords "
            f"({', '.join(modern)}), not both"
        )
    if modern or (max_pixels is None and _follows_0_6()):
        yield from _resized_images_modern(
            args, element, max_bytes=max_bytes, kwargs=kwargs, **modern
        )
        return

    Image = require_pillow()
    box = polygon_bounding_box(element.polygon)
    width, height = box.width, box.height
    logger.info(f"This element's image sizes are ({width} x {height}).")
    if max_pixels and max(width, height) > max_pixels:
        logger.warning(
            f"Maximum image input size supported is ({max_pixels} x {max_pixels})."
        )
        logger.warning("The image will be resized.")

    side, param = (width, "max_width") if width > height else (height, "max_height")
    sizes = sorted(
        {min(round(ratio * side), max_pixels or side) for ratio in IMAGE_RATIO},
        reverse=True,
    )
    for size in sizes:
        with element.open_image_tempfile(*args, **{**kwargs, param: size}) as f:
            with Image.open(f) as image:
                if image.size != (width, height):
                    logger.warning(
                        f"The image was resized to ({image.width} x {image.height})."
                    )
            f.seek(0)
            if max_bytes and _too_heavy(Path(f.name).stat().st_size, max_bytes):
                continue
            yield f


def _resized_images_modern(
    args: tuple,
    element: Element,
    max_bytes: int | None,
    kwargs: dict,
    max_pixels_short: int | None = None,
    max_pixels_long: int | None = None,
    use_base64: bool = False,
) -> Iterator[Any]:
    """0.6 ``resized_images`` (spec 15 §15): limits per side, ``IMAGE_RATIOS``."""
    Image = require_pillow()
    box = polygon_bounding_box(element.polygon)
    width, height = box.width, box.height
    logger.info(f"This element's image dimensions are ({width} x {height}).")
    portrait = width <= height
    limit_w, limit_h = (
        (max_pixels_short, max_pixels_long)
        if portrait
        else (max_pixels_long, max_pixels_short)
    )
    # A limit the image already fits in is no limit
    limit_w = limit_w if limit_w is not None and limit_w < width else None
    limit_h = limit_h if limit_h is not None and limit_h < height else None
    if limit_w or limit_h:
        logger.warning(
            f"Maximum image dimensions supported are ({limit_w or width} x {limit_h or height})."
        )
        logger.warning("The image will be resized.")
    param, value = _resized_side(width, height, limit_w, limit_h, portrait)
    ratios = globals()["IMAGE_RATIOS"]  # read at call time: callers patch it
    sizes = sorted({min(round(ratio * value), value) for ratio in ratios}, reverse=True)
    for size in sizes:
        with element.open_image_tempfile(*args, **{**kwargs, param: size}) as f:
            with Image.open(f) as image:
                if image.size != (width, height):
                    logger.warning(
                        f"The image was resized to ({image.width} x {image.height})."
                    )
            f.seek(0)
            if use_base64:
                candidate: Any = base64.b64encode(Path(f.name).read_bytes()).decode()
                length = len(candidate)
            else:
                candidate, length = f, Path(f.name).stat().st_size
            if max_bytes and _too_heavy(length, max_bytes):
                continue
            yield candidate


def _resized_side(
    width: int,
    height: int,
    limit_w: int | None,
    limit_h: int | None,
    portrait: bool,
) -> tuple[str, int]:
    """The ``open_image`` keyword to resize with, and its largest value."""
    if limit_w and limit_h:
        if height / limit_h > width / limit_w:
            return "max_height", limit_h
        return "max_width", limit_w
    if limit_h:
        return "max_height", limit_h
    if limit_w:
        return "max_width", limit_w
    return ("max_height", height) if portrait else ("max_width", width)
