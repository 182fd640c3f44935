"""Image read-ahead (our addition): the next element's image downloaded in advance.

While [ElementsWorker.run][arkindex_worker.worker.ElementsWorker.run] processes
element N, once N has opened its image through
[Element.open_image][arkindex_worker.models.Element.open_image] (or
``open_image_tempfile``, or ``CachedElement.open_image``), the URL that the
same call would download for element N+1 is computed on the main thread, and
that download is sent in the background, through the client's session and
retry policy. When element N+1 then downloads exactly that URL, it gets the
answer already received (or waits for the one in flight) instead of a new
request; anything else is downloaded as usual, and a read-ahead that failed
is simply downloaded again, with the usual errors.

At most one image is held ahead: the read-ahead of an element that did not
ask for it is dropped when the next element starts. Nothing is read ahead in
queue mode or offline (the overlap is off there), nor for images opened from
disk or downloaded in tiles. ``image_read_ahead = False`` on the worker class,
``ARKINDEX_WORKER_IMAGE_READ_AHEAD=0`` or ``ARKINDEX_WORKER_OVERLAP=0`` turn it
off.

The background thread only sends the prepared download: URLs are computed and
images decoded on the main thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, NamedTuple

__all__ = ["ImageReadAhead", "opening", "take"]

_active: ImageReadAhead | None = None


def opening(element: Any, url_of: Callable[[Any], str | None]) -> None:
    """Note that ``element`` opens its image; ``url_of(other)`` gives other's URL.

    Called by the image helpers of the element classes, on the main thread.
    """
    if _active is not None:
        _active.opened(element, url_of)


def take(url: str) -> Any:
    """The answer read ahead for ``url``, when the current element asks for it.

    Returns:
        The `requests.Response` of the download, or `None` (download it).
    """
    return _active.take(url) if _active is not None else None


class _Slot(NamedTuple):
    element_id: Any
    url: str
    answer: Future


class ImageReadAhead:
    """The image read ahead for the next element, one at most.

    Args:
        send: Sends a prepared request in the background and returns its
            `Future` (the overlap's image lane).
        prepare: The prepared download of a URL, as the image helpers send it.

    Used as a context manager around a run's loop: while inside, the image
    helpers report to it. The loop calls `begin` before each element and
    `start` once it is processed.
    """

    def __init__(
        self,
        send: Callable[[Callable[[], Any]], Future],
        prepare: Callable[[str], Callable[[], Any]],
    ) -> None:
        self._send = send
        self._prepare = prepare
        self._current_id: Any = None
        self._upcoming: Any = None
        self._url_of: Callable[[Any], str | None] | None = None
        self.slot: _Slot | None = None

    def __enter__(self) -> ImageReadAhead:
        global _active
        _active = self
        return self

    def __exit__(self, *exc_info: Any) -> None:
        global _active
        _active = None
        self.slot = None

    def begin(self, element: Any, upcoming: Any) -> None:
        """Element ``element`` starts; ``upcoming`` is the next one's retrieval."""
        self._current_id = _element_id(element)
        self._upcoming = upcoming
        self._url_of = None
        if self.slot is not None and self.slot.element_id != self._current_id:
            self.slot = None  # read ahead for an element that never asked

    def opened(self, element: Any, url_of: Callable[[Any], str | None]) -> None:
        """The current element opens its image: read the next one's ahead."""
        if self._url_of is None and _element_id(element) == self._current_id:
            self._url_of = url_of
            self.start()

    def start(self) -> None:
        """Send the next element's download if it is known and not sent yet."""
        upcoming = self._upcoming
        if self._url_of is None or upcoming is None or not upcoming.done():
            return
        try:
            element = upcoming.result()
            url = self._url_of(element)
        except Exception:
            return  # its own retrieval reports the error
        self._upcoming = None
        if not url or not url.startswith(("http://", "https://")):
            return
        self.slot = _Slot(_element_id(element), url, self._send(self._prepare(url)))

    def take(self, url: str) -> Any:
        """The answer read ahead for ``url``, or `None`."""
        slot = self.slot
        if slot is None or slot.url != url or slot.element_id != self._current_id:
            return None
        self.slot = None
        try:
            return slot.answer.result()
        except Exception:
            return None  # downloaded again, with the usual errors


def _element_id(element: Any) -> str:
    return str(element.id)
