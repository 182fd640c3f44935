"""The rules the mixins share under generation 0.6 (spec 15 §2.7, §4–§13).

Each rule is one function here; a mixin asks `follows_0_6(self)` once per
helper and branches to its 0.6 code, so the 0.4 code stays as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from arkindex_worker import cache, generation
from arkindex_worker.models import Element
from arkindex_worker.validation import check_element, check_element_or_cached

__all__ = [
    "ELEMENT_ONLY",
    "ELEMENT_ONLY_TYPE",
    "check_element_argument",
    "follows_0_6",
    "unsupported_cache",
    "uses_cache",
]

ELEMENT_ONLY = "element shouldn't be null and should be an Element"
ELEMENT_ONLY_TYPE = "element shouldn't be null and should be of type Element"


def follows_0_6(owner: object) -> bool:
    """Whether ``owner`` (a worker or mixin) follows generation 0.6."""
    return generation.of(owner).name == generation.GENERATION_0_6.name


def uses_cache(worker: Any) -> bool:
    """Whether a helper reads or writes the SQLite cache: never under 0.6 (§2.7)."""
    return bool(worker.use_cache) and not follows_0_6(worker)


def check_element_argument(
    worker: Any,
    element: Any,
    message_0_6: str = ELEMENT_ONLY,
    check_0_4: Callable[[Any], None] = check_element_or_cached,
) -> None:
    """Check an element argument: `Element` only under 0.6, else ``check_0_4``."""
    if follows_0_6(worker):
        check_element(element, Element, message_0_6)
    else:
        check_0_4(element)


def unsupported_cache(func: Callable) -> Callable:
    """`arkindex_worker.cache.unsupported_cache`, silent under generation 0.6."""
    warning = cache.unsupported_cache(func)

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        if follows_0_6(self):
            return func(self, *args, **kwargs)
        return warning(self, *args, **kwargs)

    return wrapper
