"""Image input and output: open an image from disk or HTTP, download tiles, upload.

[arkindex_worker.image][] re-exports these functions, where upstream defines
them; the element helpers (``Element.open_image``, ``CachedElement.open_image``)
call them here. A test may replace one on either module
(``monkeypatch.setattr(arkindex_worker.image, "download_image", fake)``, as
upstream's suites do, or on this one): `patchable` looks it up at call time.

HTTP(S) requests go through the session of the worker's API client (see
`arkindex_worker.api.shared.http_client`) and follow its retry policy
(`arkindex_worker.api.retry`): 5xx, 429 and connection failures are retried,
other 4xx answers are not. Under generation 0.6 they follow upstream's
``_retried_request`` instead (`arkindex_worker.api.retry.IMAGE_RETRY_0_6`):
3 attempts whatever the failure, waits of 5 then 10 s, a WARNING before each.
The API token is never sent to an image server.
Local paths and ``file://`` URLs are opened by [arkindex_worker.local_images][].
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from importlib import metadata
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from arkindex_worker import generation, iiif, logger, prefetch
from arkindex_worker.api.retry import IMAGE_RETRY_0_6, FixedRetry
from arkindex_worker.api.shared import http_client
from arkindex_worker.checks import check
from arkindex_worker.local_images import check_image_url, open_local
from arkindex_worker.pillow import (
    orient,
    require_pillow,
    update_pillow_image_size_limit,
)

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

__all__ = [
    "check_image_url",
    "download_image",
    "download_tiles",
    "open_image",
    "prepared_download",
    "upload_image",
]


def patchable(name: str) -> Callable[..., Any]:
    """The function ``name`` of this module, or its replacement in a test.

    Worker test suites patch ``arkindex_worker.image.download_image`` (and
    may patch ``open_image``) and expect the element image helpers to call the
    replacement (spec 12): a function replaced on ``arkindex_worker.image``
    wins, else this module's (replaced or not).
    """
    own = globals()[name]
    public = sys.modules.get("arkindex_worker.image")
    replaced = getattr(public, name, own) if public is not None else own
    return replaced if replaced is not _ORIGINALS[name] else own


def _user_agent() -> str:
    try:
        version = metadata.version("arkindex-worker-sdk")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"Teklia/Workers {version}"


# ------------------------------------------------------------------ HTTP


def _retry_policy() -> FixedRetry | None:
    """Upstream's image retries under generation 0.6, else the client's policy."""
    if generation.current().name == generation.GENERATION_0_6.name:
        return IMAGE_RETRY_0_6
    return None


def _retried_request(
    url: str, *args: Any, method: Callable[..., Any] | str = requests.get, **kwargs: Any
) -> requests.Response:
    """One image exchange through the shared session, with the retry policy.

    Upstream's name and signature: ``method`` is a function of `requests`
    (``requests.get``, ``requests.put``) or an HTTP method name; keywords are
    those of `ArkindexClient.http_request` (``data``, ``stream``, …).

    Raises:
        TypeError: positional arguments after ``url`` (pass them by keyword).
    """
    if args:
        raise TypeError("_retried_request takes keyword arguments only after url")
    verb = method if isinstance(method, str) else method.__name__
    return _http(verb.upper(), url, **kwargs)


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
        retry=_retry_policy(),
        **kwargs,
    )


def download_image(url: str) -> PillowImage:
    """Download an image, falling back to the IIIF ``max`` size when ``full`` is refused.

    A local path or a ``file://`` URL, with an optional IIIF suffix, is opened from
    disk (our addition, see [arkindex_worker.local_images][]).

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
    Image = require_pillow()
    try:
        response = prefetch.take(url)
        if response is None:
            response = _http("GET", url)
    except requests.HTTPError as e:
        fallback = iiif.max_size_fallback(url)
        status = e.response.status_code if e.response is not None else None
        if not (status is not None and 400 <= status < 500 and fallback):
            raise
        response = _http("GET", fallback)
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
    Image = require_pillow()
    logger.debug("Downloading image information")
    info = _http("GET", iiif.info_url(url)).json()
    width, height = info.get("width"), info.get("height")
    check(width and height, "Missing image dimensions in info.json")
    check(
        info.get("tiles"),
        "Image cannot be retrieved at full size and tiles are not supported",
    )
    # Generation 0.6 asks IIIF 3 servers (an "id" key) for the "max" size
    size = (
        iiif.IIIF_MAX
        if "id" in info and generation.current().name == generation.GENERATION_0_6.name
        else iiif.IIIF_FULL
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
            region = iiif.box_region(rx, ry, rw, rh)
            response = _http("GET", iiif.image_request_url(url, region, size))
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
            IIIF suffix, see [arkindex_worker.local_images][]).
        mode: Pillow mode to convert the image to (``None`` keeps it).
        rotation_angle: clockwise rotation in degrees, applied after mirroring.
        mirrored: flip the image horizontally.
    """
    Image = require_pillow()
    if path.startswith(("http://", "https://")) or not _is_existing_path(path):
        image = patchable("download_image")(path)
    else:
        try:
            image = Image.open(path)
        except (OSError, ValueError):
            image = patchable("download_image")(path)
        else:
            image.load()  # reads the pixels and closes the file
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    return orient(image, rotation_angle, mirrored)


_ORIGINALS = {
    name: globals()[name] for name in ("open_image", "download_image", "download_tiles")
}
