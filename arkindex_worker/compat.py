"""Process-wide SDK generation, as plain strings (spec 15 §1.1).

For code that has no worker at hand. The state is the one of
`arkindex_worker.generation`: workers publish their decision there, and
`current_generation` reads it.

```python
from arkindex_worker import compat

compat.current_generation()  # "0.4" until a worker decides otherwise
```
"""

from __future__ import annotations

from arkindex_worker import generation as _generation

__all__ = [
    "COMPAT_CHOICES",
    "COMPAT_VARIABLE",
    "GENERATION_04",
    "GENERATION_06",
    "current_generation",
    "requested_compat",
    "reset_current_generation",
    "set_current_generation",
]

COMPAT_VARIABLE = _generation.COMPAT_VARIABLE
"""``"ARKINDEX_WORKER_COMPAT"``, the environment variable requesting a generation."""

COMPAT_CHOICES = _generation.COMPAT_CHOICES
"""``("auto", "0.4", "0.6")``."""

GENERATION_04 = _generation.GENERATION_0_4.name
"""``"0.4"``."""

GENERATION_06 = _generation.GENERATION_0_6.name
"""``"0.6"``."""


def requested_compat(class_value: str = "auto") -> str:
    """The requested generation: ``ARKINDEX_WORKER_COMPAT`` when set, else ``class_value``.

    Raises:
        ValueError: the deciding value is not one of `COMPAT_CHOICES`.
    """
    return _generation.resolve_request(class_value)[0]


def current_generation() -> str:
    """The process-wide generation, ``"0.4"`` or ``"0.6"``.

    The value last published by a worker; else an explicit ``0.4``/``0.6`` of
    ``ARKINDEX_WORKER_COMPAT``; else ``"0.4"``.

    Raises:
        ValueError: nothing published and an invalid variable.
    """
    return _generation.current().name


def set_current_generation(generation: str) -> None:
    """Publish a generation process-wide (what workers do when they decide).

    Raises:
        ValueError: anything but ``"0.4"`` or ``"0.6"``.
    """
    _generation.use(generation)


def reset_current_generation() -> None:
    """Forget what workers published (tests)."""
    _generation.reset()
