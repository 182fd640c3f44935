"""Datasets and their sets: listing, state updates and edition."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from enum import Enum
from typing import Any

from arkindex_worker import logger
from arkindex_worker.errors import MissingDatasetArchive
from arkindex_worker.models import Dataset, DatasetSet, Element, Set
from arkindex_worker.validation import check, check_str
from arkindex_worker.worker.rules06 import follows_0_6, unsupported_cache

__all__ = [
    "DatasetMixin",
    "DatasetState",
    "MissingDatasetArchive",
    "check_dataset_set",
]


class DatasetState(Enum):
    """State of a dataset."""

    Open = "open"
    """Editable."""

    Building = "building"
    """Its archive is being built."""

    Complete = "complete"
    """Built: its archive artifact exists."""

    Error = "error"
    """Building failed."""


def check_dataset_set(value: str) -> tuple[uuid.UUID, str]:
    """Parse a ``<dataset_id>:<set_name>`` command-line value (type of ``--set``).

    Raises:
        argparse.ArgumentTypeError: the value is malformed or the ID is not a UUID.
    """
    values = value.split(":")
    if len(values) != 2:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not in the correct format `<dataset_id>:<set_name>`"
        )
    dataset_id, set_name = values
    try:
        return uuid.UUID(dataset_id), set_name
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"'{dataset_id}' should be a valid UUID")


def _process_set(result: dict) -> Set:
    return Set(name=result["set_name"], dataset=Dataset(**result["dataset"]))


def _set_element(result: dict) -> Element:
    return Element(**result["element"])


def _check_set_and_element(dataset_set: Any, element: Any) -> None:
    check(
        dataset_set and isinstance(dataset_set, Set),
        "dataset_set shouldn't be null and should be of type DatasetSet",
    )
    check(
        element and isinstance(element, Element),
        "element shouldn't be null and should be of type Element",
    )


class DatasetMixin:
    """Helpers about datasets and their sets."""

    def add_arguments(self) -> None:
        """Add the ``--set`` option, then the arguments of the next class."""
        self.parser.add_argument(
            "--set",
            type=check_dataset_set,
            nargs="+",
            help="""
                One or more Arkindex dataset sets, format is <dataset_uuid>:<set_name>
                (e.g.: "12341234-1234-1234-1234-123412341234:train")
            """,
            default=[],
        )
        super().add_arguments()

    def _known_datasets(self) -> dict[uuid.UUID, Dataset]:
        """``self.datasets`` (generation 0.6: datasets by UUID), created if missing."""
        if getattr(self, "datasets", None) is None:
            self.datasets = {}
        return self.datasets

    def list_process_sets(self) -> Iterator[Set] | list[DatasetSet]:
        """List the dataset sets of the worker's process, lazily.

        Under generation 0.6, a list of `DatasetSet` (with the set's ``id``),
        read at once, whose datasets are kept in ``self.datasets``.

        Raises:
            AssertionError: the worker is in read-only mode.
        """
        check(
            not self.is_read_only,
            "This helper is not available in read-only mode.",
        )
        results = self.api_client.paginate(
            "ListProcessSets", id=self.process_information["id"]
        )
        if not follows_0_6(self):
            return map(_process_set, results)
        datasets = self._known_datasets()
        sets = []
        for result in results:
            key = uuid.UUID(result["dataset"]["id"])
            if key not in datasets:
                datasets[key] = Dataset(**result["dataset"])
            sets.append(
                DatasetSet(
                    id=result["id"], name=result["set_name"], dataset=datasets[key]
                )
            )
        return sets

    def list_set_elements(self, dataset_set: Set) -> Iterator[Element]:
        """List the elements of a dataset set, lazily."""
        check(
            dataset_set and isinstance(dataset_set, Set),
            "dataset_set shouldn't be null and should be a DatasetSet"
            if follows_0_6(self)
            else "dataset_set shouldn't be null and should be a Set",
        )
        results = self.api_client.paginate(
            "ListDatasetElements", id=dataset_set.dataset.id, set=dataset_set.name
        )
        return map(_set_element, results)

    def list_sets(self) -> Iterator[Set] | list[DatasetSet]:
        """Yield the sets to process: the process's sets, then those given with ``--set``.

        The process's sets are listed only outside read-only mode. Each dataset
        given with ``--set`` is fetched once; its sets share one
        [Dataset][arkindex_worker.models.Dataset] object.

        Under generation 0.6, a list: the process's sets outside read-only
        mode, else the ``--set`` sets (each retrieved with
        ``RetrieveDatasetSet``); their datasets are kept in ``self.datasets``.
        """
        if follows_0_6(self):
            return self._list_sets_0_6()
        return self._list_sets_0_4()

    def _list_sets_0_6(self) -> list[DatasetSet]:
        if not self.is_read_only:
            return self.list_process_sets()
        datasets = self._known_datasets()
        sets = []
        for dataset_id, set_name in self.args.set:
            payload = self.api_client.request(
                "RetrieveDatasetSet", dataset=dataset_id, set=set_name
            )
            if dataset_id not in datasets:
                datasets[dataset_id] = Dataset(
                    **self.api_client.request("RetrieveDataset", id=dataset_id)
                )
            sets.append(DatasetSet(**{**payload, "dataset": datasets[dataset_id]}))
        return sets

    def _list_sets_0_4(self) -> Iterator[Set]:
        if not self.is_read_only:
            yield from self.list_process_sets()

        datasets: dict[uuid.UUID, Dataset] = {}
        for dataset_id, set_name in self.args.set:
            if dataset_id not in datasets:
                datasets[dataset_id] = Dataset(
                    **self.api_client.request("RetrieveDataset", id=dataset_id)
                )
            yield Set(name=set_name, dataset=datasets[dataset_id])

    @unsupported_cache
    def update_dataset_state(
        self, dataset: Dataset, state: DatasetState
    ) -> Dataset | None:
        """Change the state of a dataset.

        Returns:
            ``dataset`` itself, updated in place with the server's answer, or
            ``None`` in read-only mode (nothing is sent).
        """
        check(
            dataset and isinstance(dataset, Dataset),
            "dataset shouldn't be null and should be a Dataset",
        )
        check(
            state and isinstance(state, DatasetState),
            "state shouldn't be null and should be a str from DatasetState",
        )
        if self.skip_publication(
            "Cannot update dataset as this worker is in read-only mode",
            available_offline=False,
        ):
            return None

        updated = self.api_client.request(
            "PartialUpdateDataset", id=dataset.id, body={"state": state.value}
        )
        dataset.update(updated)
        return dataset

    @unsupported_cache
    def create_dataset(
        self,
        name: str,
        description: str,
        set_names: list[str],
        unique_elements: bool = True,
    ) -> Dataset | None:
        """Create a dataset in the worker's corpus.

        Args:
            name: name of the dataset.
            description: description of the dataset.
            set_names: names of its sets.
            unique_elements: whether an element may appear in one set only.

        Returns:
            The created dataset, or ``None`` in read-only mode (nothing is sent).
        """
        check_str(name, "name")
        check_str(description, "description")
        check(
            set_names and isinstance(set_names, list),
            "set_names shouldn't be null and should be of type list",
        )
        for index, set_name in enumerate(set_names):
            check(
                isinstance(set_name, str),
                f"Set name at index {index} in set_names: Should be of type str",
            )
        check(
            isinstance(unique_elements, bool),
            "unique_elements shouldn't be null and should be of type bool",
        )
        if self.skip_publication(
            "Cannot create dataset as this worker is in read-only mode",
            available_offline=False,
        ):
            return None

        dataset = self.api_client.request(
            "CreateDataset",
            id=self.corpus_id,
            body={
                "name": name,
                "description": description,
                "set_names": set_names,
                "unique_elements": unique_elements,
            },
        )
        logger.debug(f"Created dataset {dataset['id']}")
        return Dataset(**dataset)

    @unsupported_cache
    def create_dataset_element(self, dataset_set: Set, element: Element) -> dict | None:
        """Add an element to a dataset set.

        Returns:
            The server's answer, or ``None`` in read-only mode (nothing is sent).
        """
        _check_set_and_element(dataset_set, element)
        if self.skip_publication(
            "Cannot create dataset element as this worker is in read-only mode",
            available_offline=False,
        ):
            return None

        return self.api_client.request(
            "CreateDatasetElement",
            id=dataset_set.dataset.id,
            body={"set": dataset_set.name, "element_id": element.id},
        )

    @unsupported_cache
    def destroy_dataset_element(self, dataset_set: Set, element: Element) -> None:
        """Remove an element from a dataset set (nothing is sent in read-only mode)."""
        _check_set_and_element(dataset_set, element)
        if self.skip_publication(
            "Cannot destroy dataset element as this worker is in read-only mode",
            available_offline=False,
        ):
            return

        self.api_client.request(
            "DestroyDatasetElement",
            dataset=dataset_set.dataset.id,
            element=element.id,
            set=dataset_set.name,
        )
