"""The explicit assertion that every argument check of the package raises.

Upstream checks arguments with bare ``assert`` statements; [check][arkindex_worker.checks.check]
raises the same ``AssertionError`` explicitly, so that it still fires under
``python -O``. It lives below every other module (it imports nothing from the
package): the image downloads use it, and so do the argument checks of
[arkindex_worker.validation][], which re-exports it. That module imports the
element models to check elements, so the modules the models import could not
take `check` from it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check"]


def check(condition: Any, message: str | None = None) -> None:
    """Raise ``AssertionError(message)`` when ``condition`` is falsy.

    The explicit equivalent of ``assert condition, message``, kept under ``-O``.
    """
    if not condition:
        if message is None:
            raise AssertionError
        raise AssertionError(message)
