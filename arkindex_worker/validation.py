"""Shared argument checks of the publication and listing helpers.

Upstream validates with bare ``assert`` statements, so users catch
``AssertionError`` and tests compare its message. Every check here raises
``AssertionError(message)`` explicitly instead, so it still fires under
``python -O``. Each check is written once and parameterised by the argument's
name and an optional prefix for items of bulk lists, such as
``"Element at index 0 in elements: "`` (see [item_prefix][arkindex_worker.validation.item_prefix]).
"""

from __future__ import annotations

import math
import uuid
import warnings
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from arkindex_worker.api.validation import text_problem
from arkindex_worker.cache import CachedElement
from arkindex_worker.checks import check
from arkindex_worker.errors import UnsafePathError
from arkindex_worker.models import Element, Transcription
from arkindex_worker.offline_records import OfflineElement, OfflineTranscription

__all__ = [
    "ELEMENT_OR_CACHED",
    "ELEMENT_OR_CACHED_TYPE",
    "check",
    "check_confidence",
    "check_element",
    "check_element_or_cached",
    "check_int",
    "check_optional_str",
    "check_polygon",
    "check_source_filter",
    "check_str",
    "check_uuid",
    "is_coordinate",
    "is_element",
    "item_prefix",
    "plain_name",
    "text_problem",
]


def item_prefix(kind: str, index: int, list_name: str) -> str:
    """Prefix of the messages about item ``index`` of a bulk list.

    ``item_prefix("Element", 0, "elements") == "Element at index 0 in elements: "``.
    """
    return f"{kind} at index {index} in {list_name}: "


def _is_unit_float(value: Any) -> bool:
    return isinstance(value, float) and not math.isnan(value) and 0 <= value <= 1


def check_confidence(
    value: Any,
    *,
    required: bool,
    name: str = "confidence",
    message: str | None = None,
    prefix: str = "",
) -> None:
    """Check a confidence: a ``float`` in ``[0, 1]`` (ints are rejected).

    Args:
        value: the confidence to check.
        required: when false, ``None`` is accepted too.
        name: the argument's name, used in the default messages.
        message: replaces the default message (some helpers word it differently).
        prefix: prepended to the message (bulk items).
    """
    if message is None:
        message = (
            f"{name} shouldn't be null and should be a float in [0..1] range"
            if required
            else f"{name} should be None or a float in [0..1] range"
        )
    if value is None and not required:
        return
    check(_is_unit_float(value), prefix + message)


POLYGON_NOT_LIST = "polygon shouldn't be null and should be of type list"


def check_polygon(
    polygon: Any, *, container_message: str = POLYGON_NOT_LIST, prefix: str = ""
) -> None:
    """Check a polygon: a list of at least three ``[x, y]`` lists of numbers.

    Args:
        polygon: the polygon to check.
        container_message: message when ``polygon`` is not a (non-empty) list; it
            depends on the helper (``polygon should be a list``, …).
        prefix: prepended to every message (bulk items).
    """
    if container_message == POLYGON_NOT_LIST:
        check(polygon and isinstance(polygon, list), prefix + container_message)
    else:
        check(isinstance(polygon, list), prefix + container_message)
    check(len(polygon) >= 3, prefix + "polygon should have at least three points")
    check(
        all(isinstance(point, list) and len(point) == 2 for point in polygon),
        prefix + "polygon points should be lists of two items",
    )
    check(
        all(is_coordinate(coord) for point in polygon for coord in point),
        prefix + "polygon points should be lists of two numbers",
    )


def is_coordinate(value: Any) -> bool:
    """Whether ``value`` is a polygon coordinate: a finite ``int`` or ``float``.

    !!! note "Differs from upstream"
        Upstream accepts any ``int | float``: booleans (``int`` subclasses), NaN
        and infinities, which the server then refuses online while the cache
        stored them offline. They are refused here, online and offline alike.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


# Offline rows read as API payloads: accepted wherever the API's model is
_OFFLINE_ROWS = {Element: OfflineElement, Transcription: OfflineTranscription}


def _element_types(types: type | tuple[type, ...]) -> tuple[type, ...]:
    types = types if isinstance(types, tuple) else (types,)
    return types + tuple(_OFFLINE_ROWS[t] for t in types if t in _OFFLINE_ROWS)


def is_element(value: Any) -> bool:
    """Whether ``value`` is an API `Element` (or an offline row, which reads as one)."""
    return isinstance(value, _element_types(Element))


def check_element(
    value: Any,
    types: type | tuple[type, ...],
    message: str,
) -> None:
    """Check a truthy instance of ``types`` (e.g. ``Element`` or ``CachedElement``).

    Where ``types`` names `Element` (or `Transcription`), an offline row
    ([OfflineElement][arkindex_worker.offline_records.OfflineElement], or
    [OfflineTranscription][arkindex_worker.offline_records.OfflineTranscription])
    is accepted too: offline listings yield them instead of API payloads.
    """
    check(value and isinstance(value, _element_types(types)), message)


ELEMENT_OR_CACHED = (
    "element shouldn't be null and should be an Element or CachedElement"
)
ELEMENT_OR_CACHED_TYPE = (
    "element shouldn't be null and should be of type Element or CachedElement"
)


def check_element_or_cached(value: Any, message: str = ELEMENT_OR_CACHED) -> None:
    """Check an API `Element` or a cache `CachedElement` (the usual element argument).

    ``message`` is ``ELEMENT_OR_CACHED``, or ``ELEMENT_OR_CACHED_TYPE`` for the
    helpers whose upstream message says "of type".
    """
    check_element(value, (Element, CachedElement), message)


def check_str(value: Any, name: str, *, prefix: str = "") -> None:
    """Check a non-empty string: ``{name} shouldn't be null and should be of type str``."""
    check(
        value and isinstance(value, str),
        f"{prefix}{name} shouldn't be null and should be of type str",
    )


def check_optional_str(value: Any, name: str) -> None:
    """Check an optional string filter: ``None`` or a ``str``."""
    if value is not None:
        check(isinstance(value, str), f"{name} should be of type str")


def check_int(value: Any, message: str, *, minimum: int = 0) -> None:
    """Check an ``int`` (not ``None``) greater than or equal to ``minimum``."""
    check(
        value is not None and isinstance(value, int) and value >= minimum,
        message,
    )


def check_source_filter(
    value: Any, name: str, *, deprecated_for: str | None = None
) -> None:
    """Check a source filter (``worker_run``, ``worker_version``, …).

    Accepted: ``None`` (no filter), a ``str`` (an ID) or ``False`` (manual
    objects only). A deprecated filter (``deprecated_for`` names its
    replacement) first emits a ``DeprecationWarning``.
    """
    if value is None:
        return
    if deprecated_for is not None:
        warnings.warn(
            f"`{name}` usage is deprecated. Consider using `{deprecated_for}` instead.",
            DeprecationWarning,
            stacklevel=1,
        )
    check(isinstance(value, str | bool), f"{name} should be of type str or bool")
    if isinstance(value, bool):
        check(value is False, f"if of type bool, {name} can only be set to False")


def check_uuid(value: Any, message: str) -> None:
    """Check a value that ``uuid.UUID`` accepts; otherwise ``ValueError(message)``."""
    try:
        uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise ValueError(message) from None


def plain_name(name: Any, what: str) -> str:
    """``name`` when it can be one component of a local path, else `UnsafePathError`.

    For names that come from the server or a database (dataset archives, task
    IDs, artifacts): a non-empty ``str`` without ``/`` or ``\\``, NUL, ``.`` or
    ``..``, not absolute (nor a Windows drive).

    Args:
        name: the name to use as a path component.
        what: what the name is, for the message (``dataset archive``…).

    Raises:
        UnsafePathError: ``{what} name {name!r} is not a plain file name``.
    """
    plain = (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(char in name for char in "/\\\x00")
        and not PureWindowsPath(name).drive
        and PurePosixPath(name).name == name
    )
    if not plain:
        raise UnsafePathError(f"{what} name {name!r} is not a plain file name")
    return name
