"""The two worker loops: `ElementsWorker` and `DatasetWorker`.

Subclass [ElementsWorker][arkindex_worker.worker.ElementsWorker] and override
``process_element`` to process Arkindex elements one by one, or subclass
[DatasetWorker][arkindex_worker.worker.DatasetWorker] and override
``process_set`` to process dataset sets.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from contextlib import nullcontext
from typing import Any

from arkindex_worker import logger
from arkindex_worker.api import ArkindexClient, ErrorResponse
from arkindex_worker.cache import CachedElement
from arkindex_worker.errors import NothingToProcess, RunFailed
from arkindex_worker.image import prepared_download
from arkindex_worker.interrupts import handle_interrupts
from arkindex_worker.models import Dataset, DatasetSet, Element, Set
from arkindex_worker.offline_runs import element_transaction
from arkindex_worker.prefetch import ImageReadAhead
from arkindex_worker.types import ElementLike
from arkindex_worker.utils import pluralize
from arkindex_worker.validation import check
from arkindex_worker.worker.activity import WorkerActivityIterator
from arkindex_worker.worker.base import BaseWorker
from arkindex_worker.worker.classification import ClassificationMixin
from arkindex_worker.worker.corpus import CorpusMixin
from arkindex_worker.worker.dataset import (
    DatasetMixin,
    DatasetState,
    MissingDatasetArchive,
)
from arkindex_worker.worker.dataset_worker import DatasetWorker
from arkindex_worker.worker.element import ElementMixin, valid_element_id
from arkindex_worker.worker.embedding import EmbeddingMixin
from arkindex_worker.worker.entity import EntityMixin
from arkindex_worker.worker.image import ImageMixin
from arkindex_worker.worker.loops import configure_for_run, elements_0_6, loop_mode
from arkindex_worker.worker.metadata import MetaDataMixin, MetaType
from arkindex_worker.worker.overlap import Deferred, Overlap, Retrieval
from arkindex_worker.worker.process import ActivityState, ProcessMixin, ProcessMode
from arkindex_worker.worker.progress import RunMonitor
from arkindex_worker.worker.report import Progress, report
from arkindex_worker.worker.selection import (
    invalid_uuids,
    load_elements_list,
    offline_elements,
)
from arkindex_worker.worker.task import TaskMixin
from arkindex_worker.worker.transcription import TranscriptionMixin
from arkindex_worker.worker.version import WorkerVersionMixin

__all__ = [
    "ActivityState",
    "BaseWorker",
    "CachedElement",
    "ClassificationMixin",
    "CorpusMixin",
    "Dataset",
    "DatasetMixin",
    "DatasetSet",
    "DatasetState",
    "DatasetWorker",
    "Element",
    "ElementMixin",
    "ElementsWorker",
    "EmbeddingMixin",
    "EntityMixin",
    "ErrorResponse",
    "ImageMixin",
    "MetaDataMixin",
    "MetaType",
    "MissingDatasetArchive",
    "ProcessMixin",
    "ProcessMode",
    "Set",
    "TaskMixin",
    "TranscriptionMixin",
    "WorkerActivityIterator",
    "WorkerVersionMixin",
    "logger",
    "pluralize",
]


class ElementsWorker(
    ElementMixin,
    DatasetMixin,
    BaseWorker,
    ClassificationMixin,
    CorpusMixin,
    TranscriptionMixin,
    WorkerVersionMixin,
    EntityMixin,
    MetaDataMixin,
    ImageMixin,
    ProcessMixin,
    TaskMixin,
    EmbeddingMixin,
):
    """Base class of workers that process Arkindex elements one by one.

    Args:
        description: description shown by ``--help``.
        support_cache: whether the worker can use the SQLite cache.
    """

    overlap_requests: bool = True
    """Overlap network waits across elements (our addition).

    While an element is processed, the next element is retrieved, and its final
    activity update is sent in the background while the next one starts. Each
    element's own requests keep their order. The background thread only sends
    requests prepared on the main thread: when the worker overrides
    ``retrieve_element`` or ``update_activity``, or uses another API client
    than `ArkindexClient` (a test double), that step runs in the foreground,
    in upstream's order. Set it to ``False`` (or the
    ``ARKINDEX_WORKER_OVERLAP`` environment variable to ``0``) for strictly
    sequential requests, as upstream sends them.
    """

    image_read_ahead: bool = True
    """Download the next element's image in advance (our addition).

    When the overlap is on and an element opens its image with
    ``Element.open_image`` (or ``open_image_tempfile``), the next element's
    image is downloaded with the same arguments while this one is processed
    (see `arkindex_worker.prefetch`). Set it to ``False`` (or
    ``ARKINDEX_WORKER_IMAGE_READ_AHEAD`` to ``0``) to turn it off.
    """

    _loop_items = "element"

    def __init__(
        self, description: str = "Arkindex Elements Worker", support_cache: bool = False
    ):
        super().__init__(description, support_cache)
        if os.environ.get("ARKINDEX_WORKER_OVERLAP") == "0":
            self.overlap_requests = False
        self._images: ImageReadAhead | None = None
        self._upcoming: Retrieval | None = None
        self.classes = {}
        self.entity_types = {}
        self.corpus_types = {}
        self._worker_version_cache = {}

    def get_elements(self) -> Iterable[CachedElement] | list[str] | list[Element]:
        """The elements to process, from the first source that applies.

        Sources, in order: the cache's initial elements, ``--elements-list``,
        ``--element``, the sets of a dataset process (or ``--set``), the elements
        of an export process, and last the worker activity queue of current
        Arkindex servers (a [WorkerActivityIterator][arkindex_worker.worker.WorkerActivityIterator]).
        Offline, ``--elements-list`` and ``--element`` select among the
        database's elements, else its initial ones
        (``offline_elements`` of `arkindex_worker.worker.selection`).

        Raises:
            AssertionError: both ``--elements-list`` and ``--element`` are given,
                the list is not a non-empty list, or some IDs are not UUIDs.
            json.JSONDecodeError: the elements list is not JSON.
        """
        check(
            not (self.args.elements_list and self.args.element),
            "elements-list and element CLI args shouldn't be both set",
        )
        if self.generation == "0.6":
            return elements_0_6(self)  # no cache source (spec 15 §3.2)

        if self.is_offline:
            return offline_elements(self)

        if self.use_cache:
            from arkindex_worker.cache import initial_elements

            cached = initial_elements()
            if cached:
                return cached

        if self.args.elements_list:
            out = load_elements_list(self.args.elements_list)
        elif self.args.element:
            out = list(self.args.element)
        elif self.process_mode == ProcessMode.Dataset or self.args.set:
            return [
                element
                for dataset_set in self.list_sets()
                for element in self.list_set_elements(dataset_set)
            ]
        elif self.process_mode == ProcessMode.Export:
            return {item["id"] for item in self.list_process_elements()}
        elif self.consume_worker_activities:
            return WorkerActivityIterator(self.api_client)
        else:
            out = []

        invalid_ids = invalid_uuids(out)
        check(
            not invalid_ids,
            f"These element IDs are invalid: {', '.join(invalid_ids)}",
        )
        return out

    @property
    def store_activity(self) -> bool:
        """Whether worker activities are updated for this process."""
        if getattr(self.args, "no_worker_activity", False) or self.is_read_only:
            return False
        # Checked before process_mode, which would fail on a missing payload
        check(
            self.process_information,
            "Worker must be configured to access its process activity state",
        )
        if self.process_mode in (ProcessMode.Dataset, ProcessMode.Export):
            return False
        return self.process_information.get("activity_state") == "ready"

    @property
    def unknown_nb_elements(self) -> bool:
        """Whether the number of elements is unknown (queue mode); informational."""
        return self.consume_worker_activities

    def run(self) -> None:
        """Configure the worker, then process every element.

        Elements from the activity queue are pulled one at a time, each only
        once the previous one is finished. Exits with status 1 when there is
        nothing to process (`NothingToProcess`) or when every element failed
        (`EveryItemFailed`), 130 on Ctrl-C and 143 on SIGTERM (`Interrupted`);
        these are `SystemExit`s of `arkindex_worker.errors`.
        """
        self._progress = Progress("element")
        self._monitor = RunMonitor(self, self._progress)
        monitor = self._monitor
        with (
            monitor.reporting(),
            handle_interrupts(self._progress.describe),
            monitor.refusals(),
        ):
            self._run()

    def _run(self) -> None:
        configure_for_run(self)
        self._monitor.configured()

        elements = self.get_elements()
        queue_mode, start, check_after = loop_mode(self, elements)
        if not check_after and not elements:
            logger.warning("No elements to process, stopping.")
            raise NothingToProcess()

        if not self.store_activity:
            logger.info(
                "No worker activity will be stored as it is disabled for this process"
            )

        count = None if queue_mode else len(elements)
        progress = self._progress
        progress.total = count
        # The queue is never read ahead (each pull starts an activity on the
        # server), and offline there are no network waits to overlap
        overlapping = self.overlap_requests and not (queue_mode or self.is_offline)
        with Overlap(enabled=overlapping) as overlap, self._image_read_ahead(overlap):
            for position, (item, retrieval, upcoming) in enumerate(
                overlap.read_ahead(
                    elements, functools.partial(self._retrieval, overlap)
                ),
                start=1,
            ):
                shown = f"n°{position}" if queue_mode else f"{position}/{count}"
                self._upcoming = upcoming
                try:
                    self._process_item(item, retrieval, shown, overlap, start)
                except RunFailed:
                    progress.done += 1  # the item that stopped the run
                    raise
                progress.done += 1
                self._monitor.tick()
                self._monitor.check_max_failures()

        if check_after:
            if not progress.done:
                logger.warning("No elements to process, stopping.")
                raise NothingToProcess()
            count = progress.done
        monitor = self._monitor
        report(
            count,
            progress.failed,
            "element",
            monitor.summary_line(),
            monitor.first_error,
        )

    def _image_read_ahead(self, overlap: Overlap) -> ImageReadAhead | nullcontext:
        """The run's image read-ahead (see `arkindex_worker.prefetch`), when on."""
        self._images = None
        enabled = self.image_read_ahead and (
            os.environ.get("ARKINDEX_WORKER_IMAGE_READ_AHEAD") != "0"
        )
        if not (overlap.enabled and enabled):
            return nullcontext()
        self._images = ImageReadAhead(
            functools.partial(overlap.send, lane="image"), prepared_download
        )
        return self._images

    def _plain(self, method: str) -> bool:
        """Whether ``method`` is the SDK's own and the client the real one.

        Only then may the overlap send the request that method would send,
        prepared on the main thread, from the background.
        """
        client = self.api_client
        return (
            getattr(type(self), method) is getattr(ElementsWorker, method)
            and type(client) is ArkindexClient
            and "request" not in vars(client)
        )

    def _retrieval(self, overlap: Overlap, item: Any) -> Retrieval:
        """How to get the element of ``item``: now, ahead in the background, or later."""
        if isinstance(item, CachedElement | Element):
            return Deferred(lambda: item, ready=lambda: True)
        ahead = overlap.enabled and self._plain("retrieve_element")
        if ahead and valid_element_id(item):
            answer = overlap.send(
                functools.partial(self.api_client.request, "RetrieveElement", id=item)
            )
            return Deferred(lambda: Element(**answer.result()), ready=answer.done)

        def retrieve() -> Element:
            # In upstream's order: after the previous element's final update
            overlap.collect(wait=True)
            return Element(**self.retrieve_element(element_id=item))

        return Deferred(retrieve)

    def _process_item(
        self,
        item: str | ElementLike,
        retrieval: Retrieval,
        progress: str,
        overlap: Overlap,
        start: bool,
    ) -> None:
        """Process one element with its activity updates; failures are counted.

        Args:
            item: an element, or the ID of an element to retrieve.
            retrieval: the element's retrieval, possibly started ahead.
            progress: shown in the log line, e.g. ``2/10`` or ``n°2``.
            overlap: may send the final activity update in the background.
            start: send the ``started`` activity update (the queue already did).
        """
        element = None
        try:
            element = retrieval.result()
            if self._images is not None:
                self._images.begin(element, self._upcoming)
            logger.info(f"Processing {element} ({progress})")

            if start and not self.update_activity(element.id, ActivityState.Started):
                logger.info(
                    f"Skipping element {element.id} as it was already processed"
                )
                return
            # Offline: claimed, then processed in one transaction
            with element_transaction(self, element) as claimed:
                if not claimed:
                    return
                self.process_element(element)
                if self._images is not None:
                    self._images.start()
                self._finish(element, overlap)
        except Exception as e:
            self._element_failed(item if element is None else element, e)

    def _finish(self, element: ElementLike, overlap: Overlap) -> None:
        """Mark an element processed, in the background when the overlap may.

        The request is prepared here, where upstream sends it: with the
        worker run, process and activity settings of this moment.
        """
        state = ActivityState.Processed
        if not (overlap.enabled and self._plain("update_activity")):
            self.update_activity(element.id, state)
            return
        request = self._activity_request(element.id, state)
        if request is None:
            return

        def answered(future: Future) -> None:
            try:
                self._activity_answered(element.id, state, future.exception())
            except Exception as e:
                self._element_failed(element, e)

        overlap.after(overlap.send(request, lane="write"), answered)

    def _element_failed(self, element: str | ElementLike, error: Exception) -> None:
        """Log a failed element and mark its activity in error (errors ignored)."""
        element_id = element if isinstance(element, str) else element.id
        # Logs and counts it; stops the run on a refused token or no server
        self._monitor.failed(f"element {element_id}", str(element_id), error)
        if not isinstance(element, str):
            try:
                self.update_activity(element.id, ActivityState.Error)
            except Exception:
                pass

    def process_element(self, element: ElementLike) -> None:
        """Process one element; override it. Does nothing by default."""

    def update_activity(
        self, element_id: str | uuid.UUID, state: ActivityState
    ) -> bool:
        """Update the worker activity of an element.

        Returns:
            False when starting an element another process already started (HTTP
            409), True otherwise (also when activities are disabled).

        Raises:
            AssertionError: invalid arguments.
            ErrorResponse: any other API error.
        """
        request = self._activity_request(element_id, state)
        if request is None:
            return True
        try:
            request()
        except ErrorResponse as e:
            return self._activity_answered(element_id, state, e)
        return self._activity_answered(element_id, state, None)

    def _activity_request(
        self, element_id: str | uuid.UUID, state: ActivityState
    ) -> Callable[[], Any] | None:
        """The prepared ``UpdateWorkerActivity`` request, or `None` when not stored."""
        if not self.store_activity:
            logger.debug(
                "Activity is not stored as the feature is disabled on this process"
            )
            return None

        check(
            element_id and isinstance(element_id, uuid.UUID | str),
            "element_id shouldn't be null and should be an UUID or str",
        )
        check(isinstance(state, ActivityState), "state should be an ActivityState")
        return functools.partial(
            self.api_client.request,
            "UpdateWorkerActivity",
            id=self.worker_run_id,
            body={
                "element_id": str(element_id),
                "process_id": self.process_information["id"],
                "state": state.value,
            },
        )

    def _activity_answered(
        self,
        element_id: str | uuid.UUID,
        state: ActivityState,
        error: BaseException | None,
    ) -> bool:
        """What an activity update's outcome means; see `update_activity`."""
        if isinstance(error, ErrorResponse):
            if state == ActivityState.Started and error.status_code == 409:
                logger.debug(
                    f"Cannot start processing element {element_id} due to a conflict. "
                    "Another process could have processed it with the same version already."
                )
                return False
            logger.warning(
                f"Failed to update activity of element {element_id} to {state.value} "
                f"due to an API error: {error.content}"
            )
        if error is not None:
            raise error
        logger.debug(f"Updated activity of element {element_id} to {state}")
        return True
