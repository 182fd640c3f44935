"""Open, download, crop, orient and upload element images (IIIF).

Pillow is an optional extra (``pip install arkindex-worker-sdk[image]``): this module
imports it only inside the functions that handle pixels, so the polygon helpers
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
import functools
import math
import os
import re
from collections import namedtuple
from collections.abc import Callable, Iterator
from importlib import metadata
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import requests

from arkindex_worker import logger, prefetch
from arkindex_worker.api.shared import http_client
from arkindex_worker.local_images import open_local
from arkindex_worker.validation import check, check_element_or_cached

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

    from arkindex_worker.cache import CachedElement
    from arkindex_worker.models import Element

__all__ = [
    "DOWNLOAD_TIMEOUT",
    "IIIF_FULL",
    "IIIF_MAX",
    "IIIF_URL",
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

BoundingBox = namedtuple("BoundingBox", ["x", "y", "width", "height"])

IIIF_FULL = "full"
"""IIIF size of the image at full size (IIIF 2)."""

IIIF_MAX = "max"
"""IIIF size of the largest image the server allows (IIIF 2.1 and 3)."""

IMAGE_RATIO = [1, 0.9, 0.85, 0.80, 0.75, 0.70, 0.60, 0.50, 0.40, 0.30]
"""Ratios of the successive images of [resized_images][arkindex_worker.image.resized_images]."""

IMAGE_RATIOS = [round(1 - step * 0.05, 2) for step in range(20)]
"""0.6 ratios, from 1.0 down to 0.05 by 0.05."""

IIIF_URL = re.compile(r"\w+:\/{2}.+\/.+\/.+\/.+\/(?P<size>.+)\/!?\d+\/\w+\.\w+")
"""A IIIF image request URL; captures its size segment as ``size``."""

PILLOW_MISSING = (
    "Image helpers need the optional Pillow package: "
    "pip install arkindex-worker-sdk[image]"
)


def _pillow() -> ModuleType:
    """The ``PIL.Image`` module, or an ``ImportError`` naming the extra."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(PILLOW_MISSING) from e
    return Image


def _user_agent() -> str:
    try:
        version = metadata.version("arkindex-worker-sdk")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"Teklia/Workers {version}"


# ------------------------------------------------------------------ HTTP


def _http(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One image exchange through the shared session, with the retry policy."""
    return prepared_download(url, method, **kwargs)()


def prepared_download(
    url: str, method: str = "GET", **kwargs: Any
) -> Callable[[], requests.Response]:
    """An image exchange as the helpers send it, ready to be sent (by a thread too)."""
    return functools.partial(
        http_client().http_request,
        method,
        url,
        headers={"User-Agent": _user_agent()},
        **kwargs,
    )


def download_image(url: str) -> PillowImage:
    """Download an image, falling back to the IIIF ``max`` size when ``full`` is refused.

    A local path or a ``file://`` URL, with an optional IIIF suffix, is opened from
    disk (our addition, see the module's documentation).

    Raises:
        AssertionError: the URL is neither HTTP(S) nor an existing local image.
        requests.HTTPError: the server refused the request (5xx and 429 after
            the retries).
    """
    local = open_local(url)
    if local is not None:
        logger.info(f"Opened local image {url} - size={local.width}x{local.height}")
        return local
    check(url.startswith("http"), "Image URL must be HTTP(S)")
    Image = _pillow()
    try:
        response = prefetch.take(url)
        if response is None:
            response = _http("GET", url)
    except requests.HTTPError as e:
        match = IIIF_URL.match(url)
        status = e.response.status_code if e.response is not None else None
        if not (
            status is not None
            and 400 <= status < 500
            and match
            and match.group("size") == IIIF_FULL
        ):
            raise
        response = _http(
            "GET", url[: match.start("size")] + IIIF_MAX + url[match.end("size") :]
        )
    image = Image.open(BytesIO(response.content))
    logger.info(
        f"Downloaded image {url} - size={image.size[0]}x{image.size[1]} in {response.elapsed}"
    )
    return image


def upload_image(image: PillowImage, url: str) -> requests.Response:
    """Upload an image as JPEG with a ``PUT`` request, with the retry policy.

    The same bytes go to the same URL at each attempt, so an upload whose
    answer was lost is sent again.

    Raises:
        AssertionError: the URL is not HTTP(S).
        requests.HTTPError: the server refused the upload (after the retries).
    """
    check(url.startswith("http"), "Destination URL for the image must be HTTP(S)")
    buffer = BytesIO()
    image.save(buffer, format="jpeg")
    # Bytes, not the buffer: every attempt must send the whole image.
    response = _http("PUT", url, data=buffer.getvalue(), idempotent=True)
    logger.info(f"Uploaded image to {url} in {response.elapsed}")
    return response


def download_tiles(url: str) -> PillowImage:
    """Rebuild a whole image from the tiles of a IIIF server refusing full-size requests.

    Raises:
        AssertionError: ``info.json`` lacks the image size or tiles.
        ValueError: the server sent a tile smaller than requested.
    """
    Image = _pillow()
    if not url.endswith("/"):
        url += "/"
    logger.debug("Downloading image information")
    info = _http("GET", f"{url}info.json").json()
    width, height = info.get("width"), info.get("height")
    check(width and height, "Missing image dimensions in info.json")
    check(
        info.get("tiles"),
        "Image cannot be retrieved at full size and tiles are not supported",
    )
    tile = max(info["tiles"], key=lambda tile: tile.get("width", 0))
    tile_width = tile["width"]
    tile_height = tile.get("height", tile_width)

    full = Image.new("RGB", (width, height))
    for tx in range(math.ceil(width / tile_width)):
        for ty in range(math.ceil(height / tile_height)):
            rx, ry = tx * tile_width, ty * tile_height
            rw, rh = min(tile_width, width - rx), min(tile_height, height - ry)
            logger.debug(f"Downloading tile {tx},{ty}")
            response = _http("GET", f"{url}{rx},{ry},{rw},{rh}/full/0/default.jpg")
            part = Image.open(BytesIO(response.content))
            aw, ah = part.size
            if aw < rw or ah < rh:
                raise ValueError(
                    f"Expected size {rw}×{rh} for tile {tx},{ty}, but got {aw}×{ah}"
                )
            if aw > rw or ah > rh:
                logger.warning(f"Cropping tile {tx},{ty} from {aw}×{ah} to {rw}×{rh}")
                part = part.crop((0, 0, rw, rh))
            full.paste(part, (rx, ry, rx + rw, ry + rh))
    return full


# ------------------------------------------------------------------ opening


def update_pillow_image_size_limit(func: Callable) -> Callable:
    """Let ``func`` take a keyword-only ``max_image_pixels`` setting Pillow's size limit.

    The limit (default: the ``ARKINDEX_MAX_IMAGE_PIXELS`` environment variable, read
    at each call) applies during the call only; ``0`` disables it. ``None`` keeps
    Pillow's current limit.
    """

    @functools.wraps(func)
    def wrapper(
        *args: Any, max_image_pixels: str | int | None = ..., **kwargs: Any
    ) -> Any:
        Image = _pillow()
        if max_image_pixels is ...:
            max_image_pixels = os.environ.get("ARKINDEX_MAX_IMAGE_PIXELS")
        saved = Image.MAX_IMAGE_PIXELS
        if max_image_pixels is not None:
            limit = int(max_image_pixels)
            if limit == 0:
                logger.warning(
                    "Pillow Image size limit is completely disabled, make sure you trust the image source."
                )
            Image.MAX_IMAGE_PIXELS = limit or None
        try:
            return func(*args, **kwargs)
        finally:
            Image.MAX_IMAGE_PIXELS = saved

    return wrapper


def _is_existing_path(path: str) -> bool:
    try:
        return Path(path).exists()
    except (OSError, ValueError):  # name too long, NUL byte…
        return False


@update_pillow_image_size_limit
def open_image(
    path: str,
    mode: str | None = "RGB",
    rotation_angle: int | None = 0,
    mirrored: bool | None = False,
) -> PillowImage:
    """Open an image from a URL or a local path, converted and oriented.

    The decorator adds a keyword-only ``max_image_pixels`` argument, see
    [update_pillow_image_size_limit][arkindex_worker.image.update_pillow_image_size_limit].

    Args:
        path: HTTP(S) URL, local path or ``file://`` URL (optionally followed by a
            IIIF suffix, see the module's documentation).
        mode: Pillow mode to convert the image to (``None`` keeps it).
        rotation_angle: clockwise rotation in degrees, applied after mirroring.
        mirrored: flip the image horizontally.
    """
    Image = _pillow()
    if path.startswith(("http://", "https://")) or not _is_existing_path(path):
        image = download_image(path)
    else:
        try:
            image = Image.open(path)
        except (OSError, ValueError):
            image = download_image(path)
        else:
            image.load()  # reads the pixels and closes the file
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    return _orient(image, rotation_angle, mirrored)


def _orient(
    image: PillowImage, rotation_angle: float | None, mirrored: bool | None
) -> PillowImage:
    """Mirror (horizontally) then rotate clockwise, expanding the canvas."""
    if mirrored:
        image = image.transpose(_pillow().Transpose.FLIP_LEFT_RIGHT)
    if rotation_angle:
        image = image.rotate(-rotation_angle, expand=True)
    return image


# ------------------------------------------------------------------ polygons


def polygon_bounding_box(polygon: list[list[int | float]]) -> BoundingBox:
    """Bounding box of a polygon; coordinates keep their type.

    Raises:
        ValueError: the polygon is empty or its points have different lengths.
    """
    xs, ys = zip(*polygon, strict=True)
    return BoundingBox(
        x=min(xs), y=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys)
    )


def trim_polygon(
    polygon: list[list[int]], image_width: int, image_height: int
) -> list[list[int]]:
    """Clamp a polygon into an image, removing the repeated points.

    A closed polygon (last point equal to the first) stays closed.

    Raises:
        AssertionError: the polygon is invalid or entirely outside the image.
    """
    check(
        isinstance(polygon, list | tuple),
        "Input polygon must be a valid list or tuple of points.",
    )
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
    trimmed: list[list[int]] = []
    for x, y in polygon:
        point = [min(image_width, max(0, x)), min(image_height, max(0, y))]
        if point not in trimmed:
            trimmed.append(point)
    if list(polygon[-1]) == list(polygon[0]):
        trimmed.append(list(trimmed[0]))
    return trimmed


_Ring = list[tuple[float, float]]


def _ring(polygon: list) -> _Ring:
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
    element: Element | CachedElement, polygon: list, reverse: bool = False
) -> list[list[int]]:
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
    from arkindex_worker.models import Element

    check_element_or_cached(element)
    check(
        polygon and isinstance(polygon, list),
        "polygon shouldn't be null and should be a list",
    )
    check(isinstance(reverse, bool), "Reverse should be a bool")
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
    if modern:
        yield from _resized_images_modern(
            args, element, max_bytes=max_bytes, kwargs=kwargs, **modern
        )
        return

    Image = _pillow()
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
    """0.6 ``resized_images``: limits per side, ratios of ``IMAGE_RATIOS``."""
    box = polygon_bounding_box(element.polygon)
    width, height = box.width, box.height
    logger.info(f"This element's image dimensions are ({width} x {height}).")
    portrait = height > width
    limits = (
        (max_pixels_short, max_pixels_long)
        if portrait
        else (max_pixels_long, max_pixels_short)
    )
    # Scale factor each side needs to fit its limit; the larger decides.
    factors = [
        side / limit if limit else 1.0 for side, limit in zip((width, height), limits)
    ]
    if factors[0] >= factors[1]:
        side, param, factor = width, "max_width", factors[0]
    else:
        side, param, factor = height, "max_height", factors[1]
    if factor > 1:
        logger.warning(
            f"Maximum image input size supported is ({limits[0] or width} x {limits[1] or height})."
        )
        logger.warning("The image will be resized.")
    largest = math.floor(side / max(factor, 1.0))
    sizes = sorted(
        {max(1, round(ratio * largest)) for ratio in IMAGE_RATIOS}, reverse=True
    )
    for size in sizes:
        with element.open_image_tempfile(*args, **{**kwargs, param: size}) as f:
            content = Path(f.name).read_bytes()
            data: Any = base64.b64encode(content).decode() if use_base64 else f
            length = len(data) if use_base64 else len(content)
            if max_bytes and _too_heavy(length, max_bytes):
                continue
            yield data
