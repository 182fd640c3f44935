"""Pillow, an optional extra: its import, its size limit and image orientation.

Pillow is installed with ``pip install arkindex-worker-sdk[image]``. No module
of the package imports it when it is imported: the functions that handle
pixels call [require_pillow][arkindex_worker.pillow.require_pillow], which
imports it then, or raises an ``ImportError`` naming the extra. Tests may patch
``PIL.Image`` attributes (``Image.open``…): they are read at each call.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from arkindex_worker import logger

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

__all__ = [
    "PILLOW_MISSING",
    "orient",
    "require_pillow",
    "update_pillow_image_size_limit",
]

PILLOW_MISSING = (
    "Image helpers need the optional Pillow package: "
    "pip install arkindex-worker-sdk[image]"
)
"""Message of the ``ImportError`` raised by the image helpers without Pillow."""


def require_pillow() -> ModuleType:
    """The ``PIL.Image`` module, or an ``ImportError`` naming the extra."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(PILLOW_MISSING) from e
    return Image


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
        Image = require_pillow()
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


def orient(
    image: PillowImage, rotation_angle: float | None, mirrored: bool | None
) -> PillowImage:
    """Mirror (horizontally) then rotate clockwise, expanding the canvas."""
    if mirrored:
        image = image.transpose(require_pillow().Transpose.FLIP_LEFT_RIGHT)
    if rotation_angle:
        image = image.rotate(-rotation_angle, expand=True)
    return image
