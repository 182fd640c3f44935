"""The INFO lines of the paginator under generation 0.6 (spec 15 §17).

Generation 0.6 workers expect the lines of upstream's client 1.3.0: one before
each try of a page, and the number of pages once the first count is known.
Under generation 0.4 nothing is logged here. The generation is the
process-wide one (`arkindex_worker.generation.current`): the client knows
nothing of workers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from arkindex_worker import generation

if TYPE_CHECKING:
    from arkindex_worker.api.pagination import ResponsePaginator

__all__ = ["log_loading", "log_total"]

logger = logging.getLogger("arkindex_worker.api")


def _enabled() -> bool:
    return generation.current().name == generation.GENERATION_0_6.name


def _s(number: int) -> str:
    return "s" if number > 1 else ""


def _initial(paginator: ResponsePaginator) -> int:
    return paginator.initial_page or 1


def _initial_cursor(paginator: ResponsePaginator) -> bool:
    return paginator.initial_page is None and paginator._explicit_first


def log_loading(paginator: ResponsePaginator, key: Any, attempt: int) -> None:
    """Before try ``attempt`` (from 1) of the page ``key``."""
    if not _enabled():
        return
    tries = f"on try {attempt}/{paginator.retries}"
    if paginator._requested == 0:
        if _initial(paginator) > 1 or _initial_cursor(paginator):
            logger.info(f"Loading page {key} {tries}")
        else:
            logger.info(f"Loading first page {tries}")
        return
    line = f"Loading {paginator.mode.value} {key} {tries}"
    if paginator.pages_count is not None:
        if _initial_cursor(paginator):
            left = paginator.pages_count - paginator.pages_loaded
            line += f" - remains a maximum of {left} page{_s(left)} to load."
        else:
            left = (
                paginator.pages_count
                - paginator.pages_loaded
                - (_initial(paginator) - 1)
            )
            line += f" - remains {left} page{_s(left)} to load."
    logger.info(line)


def log_total(paginator: ResponsePaginator) -> None:
    """Once the first non-zero count gave the number of pages."""
    if not _enabled() or not paginator.pages_count:
        return
    if paginator.mode.value == "page":
        total = paginator.pages_count - _initial(paginator) + 1
        logger.info(f"Pagination will load a total of {total} page{_s(total)}.")
        return
    extent = "maximum" if _initial_cursor(paginator) else "total"
    total = paginator.pages_count
    logger.info(f"Pagination will load a {extent} of {total} page{_s(total)}")
