"""Interrupts: SIGINT and SIGTERM stop a run at once, with one line and a status.

While a worker runs (see [handle_interrupts][arkindex_worker.interrupts.handle_interrupts]),
SIGINT raises `KeyboardInterrupt` as Python does, and SIGTERM raises
[Terminated][arkindex_worker.interrupts.Terminated], a `KeyboardInterrupt`
too, so that both stop the run wherever the main thread is: in a request, a
retry wait, the model or a wait for a background request. The run then logs
one line saying how far it got and raises [Interrupted][arkindex_worker.interrupts.Interrupted]:
the process exits with status 130 (SIGINT) or 143 (SIGTERM), as a shell
reports a process killed by these signals, without a traceback. The
interrupted element's activity stays ``started``, as upstream leaves it.

The exceptions, the statuses and `exit_status` are defined in
`arkindex_worker.errors`, with the rest of the exception tree, and re-exported
here.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from arkindex_worker import logger
from arkindex_worker.errors import (
    SIGINT_STATUS,
    SIGTERM_STATUS,
    Interrupted,
    Terminated,
    exit_status,
)

__all__ = [
    "SIGINT_STATUS",
    "SIGTERM_STATUS",
    "Interrupted",
    "Terminated",
    "exit_status",
    "handle_interrupts",
]


def _signal_name(interrupt: KeyboardInterrupt) -> str:
    return "SIGTERM" if isinstance(interrupt, Terminated) else "SIGINT"


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


@contextmanager
def handle_interrupts(progress: Callable[[], str]) -> Iterator[None]:
    """Turn SIGTERM into `Terminated`, and an interrupt into one line and an exit.

    Args:
        progress: How far the run got, e.g. ``3 of 10 elements done``.

    Raises:
        Interrupted: with status 130 (SIGINT) or 143 (SIGTERM).
    """
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt as interrupt:
        logger.error(f"Interrupted by {_signal_name(interrupt)}: {progress()}")
        raise Interrupted(exit_status(interrupt)) from None
    finally:
        if in_main_thread:
            signal.signal(
                signal.SIGTERM, signal.SIG_DFL if previous is None else previous
            )
