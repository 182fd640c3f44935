"""The generation of upstream's behaviour a run follows where 0.4 and 0.6 differ.

Every such decision lives in one `Generation` object. A worker decides it once,
in ``BaseWorker.configure()`` (14 §3.0 R3b: a worker configured through
``RetrieveWorkerRunConfiguration`` gets the 0.6 image defaults), keeps it as
``worker.generation`` and makes it the current one, which code that has no
worker at hand (``Element.open_image``) reads with `current()`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GENERATION_0_4", "GENERATION_0_6", "Generation", "current", "use"]


@dataclass(frozen=True)
class Generation:
    """One generation of upstream's behaviour.

    Attributes:
        name: ``"0.4"`` or ``"0.6"``.
    """

    name: str

    @property
    def modern_image_defaults(self) -> bool:
        """0.6 image defaults: resizing with both limits keeps the image ratio."""
        return self.name == "0.6"


GENERATION_0_4 = Generation("0.4")
GENERATION_0_6 = Generation("0.6")

_current = GENERATION_0_4


def current() -> Generation:
    """The generation of the last configured worker (0.4 before any)."""
    return _current


def use(generation: Generation) -> None:
    """Make ``generation`` the current one."""
    global _current
    _current = generation
