"""Type aliases shared by the package: polygons, elements and JSON values.

For annotations only: the aliases name the package's classes as strings, so
this module imports nothing from the package and any module can import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from arkindex_worker.cache import CachedElement
    from arkindex_worker.models import Element

__all__ = ["JSON", "ElementLike", "Polygon"]

Polygon: TypeAlias = list[list[int | float]]
"""A polygon: a list of ``[x, y]`` points, with integer or float coordinates."""

ElementLike: TypeAlias = "Element | CachedElement"
"""An element of the API ([Element][arkindex_worker.models.Element]) or of the
cache ([CachedElement][arkindex_worker.cache.CachedElement])."""

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
"""A value as ``json.loads`` returns it."""
