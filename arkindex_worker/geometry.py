"""Polygon bounding boxes; any module of the package can import this one.

It imports only [arkindex_worker.types][]. [arkindex_worker.image][] re-exports
both names, where upstream defines them.
"""

from __future__ import annotations

from collections import namedtuple

from arkindex_worker.types import Polygon

__all__ = ["BoundingBox", "polygon_bounding_box"]

BoundingBox = namedtuple("BoundingBox", ["x", "y", "width", "height"])


def polygon_bounding_box(polygon: Polygon) -> BoundingBox:
    """Bounding box of a polygon; coordinates keep their type.

    Raises:
        ValueError: the polygon is empty or its points have different lengths.
    """
    xs, ys = zip(*polygon, strict=True)
    return BoundingBox(
        x=min(xs), y=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys)
    )
