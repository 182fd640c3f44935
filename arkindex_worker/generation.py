"""The generation of upstream's behaviour a run follows where 0.4 and 0.6 differ.

Every such decision lives in one `Generation` object (spec 15 §1). A worker
resolves the request once (`resolve_request`: ``ARKINDEX_WORKER_COMPAT``, else
its class's ``compat`` attribute), keeps the effective generation as
``worker.generation`` (decided by ``configure()`` when the request is ``auto``)
and publishes it with `use`; code that has no worker at hand
(``Element.open_image``, the API client's pagination lines) reads `current()`.

`arkindex_worker.compat` offers the same state with plain strings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = [
    "AUTO",
    "COMPAT_CHOICES",
    "COMPAT_VARIABLE",
    "GENERATION_0_4",
    "GENERATION_0_6",
    "Generation",
    "by_name",
    "current",
    "of",
    "published",
    "reset",
    "resolve_request",
    "use",
]

COMPAT_VARIABLE = "ARKINDEX_WORKER_COMPAT"
"""Environment variable requesting a generation."""

AUTO = "auto"
"""The request that lets ``configure()`` decide from the worker's configuration."""

COMPAT_CHOICES = (AUTO, "0.4", "0.6")
"""Valid requests, from the variable or a worker class's ``compat`` attribute."""


@dataclass(frozen=True, eq=False)
class Generation:
    """One generation of upstream's behaviour.

    Equal to its name, so that ``worker.generation == "0.6"`` reads naturally.

    Attributes:
        name: ``"0.4"`` or ``"0.6"``.
    """

    name: str

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Generation):
            return other.name == self.name
        if isinstance(other, str):
            return other == self.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.name

    @property
    def modern_image_defaults(self) -> bool:
        """0.6 image defaults: resizing with both limits keeps the image ratio."""
        return self.name == "0.6"


GENERATION_0_4 = Generation("0.4")
GENERATION_0_6 = Generation("0.6")

_published: Generation | None = None


def by_name(name: str | Generation) -> Generation:
    """The generation named ``name`` (``"0.4"`` or ``"0.6"``).

    Raises:
        ValueError: any other name.
    """
    if isinstance(name, Generation):
        name = name.name
    if name == GENERATION_0_4.name:
        return GENERATION_0_4
    if name == GENERATION_0_6.name:
        return GENERATION_0_6
    raise ValueError(f"Unknown SDK generation {name!r}")


def _choices_message(source: str, value: object) -> str:
    return f"{source} must be one of {', '.join(COMPAT_CHOICES)}, not {value!r}"


def _variable_request() -> str | None:
    """The request of ``ARKINDEX_WORKER_COMPAT``; `None` when unset or empty.

    Raises:
        ValueError: a value other than ``auto``, ``0.4`` or ``0.6``.
    """
    raw = os.environ.get(COMPAT_VARIABLE)
    value = (raw or "").strip().lower()
    if not value:
        return None
    if value not in COMPAT_CHOICES:
        raise ValueError(_choices_message(COMPAT_VARIABLE, raw))
    return value


def resolve_request(
    class_value: object = AUTO, class_name: str = "BaseWorker"
) -> tuple[str, str]:
    """The requested generation and who requested it (spec 15 §1.2).

    The variable wins when set; otherwise ``class_value`` (a worker class's
    ``compat`` attribute, named ``{class_name}.compat`` in messages).

    Returns:
        ``(request, source)``: a member of `COMPAT_CHOICES`, and
        ``"ARKINDEX_WORKER_COMPAT"`` or ``"{class_name}.compat"``.

    Raises:
        ValueError: the deciding value is not one of `COMPAT_CHOICES`.
    """
    from_variable = _variable_request()
    if from_variable is not None:
        return from_variable, COMPAT_VARIABLE
    source = f"{class_name}.compat"
    if class_value not in COMPAT_CHOICES:
        raise ValueError(_choices_message(source, class_value))
    return class_value, source


def current() -> Generation:
    """The process-wide generation (spec 15 §1.3).

    The one last published by a worker; else an explicit ``0.4``/``0.6`` of
    ``ARKINDEX_WORKER_COMPAT`` (read now); else 0.4.

    Raises:
        ValueError: nothing published and an invalid variable.
    """
    if _published is not None:
        return _published
    request = _variable_request()
    if request in (GENERATION_0_4.name, GENERATION_0_6.name):
        return by_name(request)
    return GENERATION_0_4


def published() -> Generation | None:
    """The generation last published with `use`, `None` since `reset`."""
    return _published


def use(generation: Generation | str) -> None:
    """Publish ``generation`` process-wide (the last writer wins).

    Raises:
        ValueError: not a generation nor the name of one.
    """
    global _published
    _published = by_name(generation)


def reset() -> None:
    """Forget the published generation (tests: spec 15 §1.5)."""
    global _published
    _published = None


def of(owner: object) -> Generation:
    """The generation ``owner`` (a worker or a mixin) follows.

    Its ``generation`` attribute (a `Generation` or its name), else `current()`
    for a mixin used outside a worker.
    """
    value = getattr(owner, "generation", None)
    if isinstance(value, Generation):
        return value
    if value == GENERATION_0_6.name:
        return GENERATION_0_6
    if value == GENERATION_0_4.name:
        return GENERATION_0_4
    return current()
