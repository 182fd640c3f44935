"""What the run loops do differently under generation 0.6 (spec 15 §3).

`ElementsWorker.run` and `DatasetWorker.run` keep one loop each; these helpers
hold the points where generation 0.6 differs: a configuration failure is
logged and exits 1, the element sources have no cache, the loop's mode follows
``consume_worker_activities``, and `DatasetWorker` processes dataset exports.
"""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from arkindex_worker import logger
from arkindex_worker.errors import ConfigurationFailed, NothingToProcess
from arkindex_worker.validation import check
from arkindex_worker.worker.activity import WorkerActivityIterator
from arkindex_worker.worker.process import ProcessMode
from arkindex_worker.worker.report import Progress, report
from arkindex_worker.worker.rules06 import follows_0_6
from arkindex_worker.worker.selection import invalid_uuids, load_elements_list

__all__ = [
    "LoopMode",
    "configure_for_run",
    "elements_0_6",
    "loop_mode",
    "run_dataset_sets_0_6",
    "start_dataset_exports_0_6",
]


def configure_for_run(worker: Any) -> None:
    """``worker.configure()``; under generation 0.6 a failure ends the run.

    Raises:
        ConfigurationFailed: generation 0.6 (after the ERROR line
            ``Failed to configure this worker: {e!r}``); under 0.4, and under
            ``auto`` before the generation is decided, the error itself.
    """
    try:
        worker.configure()
    except Exception as e:
        if not follows_0_6(worker):
            raise
        logger.error(f"Failed to configure this worker: {e!r}")
        raise ConfigurationFailed() from e


def elements_0_6(worker: Any) -> Any:
    """`ElementsWorker.get_elements` under generation 0.6 (§3.2): no cache source."""
    args = worker.args
    check(
        not (args.elements_list and args.element),
        "elements-list and element CLI args shouldn't be both set",
    )
    if args.elements_list:
        out = load_elements_list(args.elements_list)
    elif args.element:
        out = list(args.element)
    elif worker.process_mode == ProcessMode.Dataset or getattr(args, "set", None):
        return [
            element
            for dataset_set in worker.list_sets()
            for element in worker.list_set_elements(dataset_set)
        ]
    elif worker.process_mode == ProcessMode.Export:
        return {item["id"] for item in worker.list_process_elements()}
    elif worker.consume_worker_activities:
        return WorkerActivityIterator(worker.api_client)
    else:
        return []

    invalid_ids = invalid_uuids(out)
    check(not invalid_ids, f"These element IDs are invalid: {', '.join(invalid_ids)}")
    return out


class LoopMode(NamedTuple):
    """How `ElementsWorker.run` goes through its elements.

    Attributes:
        unknown_count: progress as ``n°{i}``, no ``len()`` (queue mode).
        start: send the ``started`` activity update before processing.
        check_after: "no elements" is checked after the loop, not before.
    """

    unknown_count: bool
    start: bool
    check_after: bool


def loop_mode(worker: Any, elements: Any) -> LoopMode:
    """The loop's mode: by the returned object (0.4), by the worker's properties (0.6)."""
    if follows_0_6(worker):
        return LoopMode(
            unknown_count=bool(worker.unknown_nb_elements),
            start=not worker.consume_worker_activities,
            check_after=True,
        )
    queue = isinstance(elements, WorkerActivityIterator)
    return LoopMode(unknown_count=queue, start=not queue, check_after=queue)


def start_dataset_exports_0_6(worker: Any) -> None:
    """Start one export per dataset of ``worker.datasets``; errors propagate (§3.4)."""
    for dataset_id, dataset in worker.datasets.items():
        worker._corpus_id = dataset.corpus_id
        dataset.export_id = worker.start_export(dataset_id=dataset_id)


def run_dataset_sets_0_6(worker: Any, progress: Progress, monitor: Any) -> None:
    """`DatasetWorker.run` after ``configure()``, generation 0.6 (§3.4).

    Raises:
        NothingToProcess: no set to process.
        EveryItemFailed: every set failed.
    """
    dataset_sets = worker.list_sets()
    if not dataset_sets:
        logger.warning("No sets to process, stopping.")
        raise NothingToProcess()

    worker.start_dataset_exports()  # outside the per-set try: errors leave run()

    count = progress.total = len(dataset_sets)
    for i, dataset_set in enumerate(dataset_sets, start=1):
        try:
            dataset = dataset_set.dataset
            if "downloaded_export" not in dataset:
                # A dataset is shared by its sets: they share one download
                worker._corpus_id = dataset.corpus_id
                dataset.downloaded_export = worker.get_export(
                    export_id=dataset.export_id, dataset_id=uuid.UUID(str(dataset.id))
                )
            logger.info(f"Processing {dataset_set} ({i}/{count})")
            worker.process_set(dataset_set)
        except Exception as e:
            try:
                key = f"{dataset_set.dataset.get('id')}:{dataset_set.get('name')}"
                monitor.failed(str(dataset_set), key, e)
                monitor.check_max_failures()
            finally:
                progress.done += 1
            continue
        progress.done += 1
        monitor.tick()

    report(
        count,
        progress.failed,
        "dataset set",
        monitor.summary_line(),
        monitor.first_error,
    )
