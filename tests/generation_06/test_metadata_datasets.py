"""Generation 0.6: metadata (spec 15 §8) and datasets (§9)."""

from __future__ import annotations

import uuid

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import CachedElement
from arkindex_worker.models import Dataset, DatasetSet, Element, Set
from arkindex_worker.worker import MetaType
from tests.conftest import PROCESS_ID, WORKER_RUN_ID, api_url
from tests.generation_06.helpers import page_of, sent

ELEMENT_ID = "12341234-1234-1234-1234-123412341234"
ELEMENT = Element(id=ELEMENT_ID)
ELEMENT_ONLY_TYPE = "element shouldn't be null and should be of type Element"
DATASET_ID = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
OTHER_ID = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
SETS_URL = api_url(f"process/{PROCESS_ID}/sets/")


# ---------------------------------------------------------------- metadata


@pytest.mark.parametrize("value", [None, CachedElement(id=ELEMENT_ID), "id"])
def test_metadata_element_only(worker06, value):
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY_TYPE}$"):
        worker06.create_metadata(value, MetaType.Text, "n", "v")
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY_TYPE}$"):
        worker06.create_metadata_bulk(value, [])
    with pytest.raises(AssertionError, match=f"^{ELEMENT_ONLY_TYPE}$"):
        worker06.list_element_metadata(value)


def test_create_metadata_without_entity_id(worker06, mock_api):
    url = api_url(f"element/{ELEMENT_ID}/metadata/")
    mock_api.post(url, json={"id": "m1"})

    assert worker06.create_metadata(ELEMENT, MetaType.Markdown, "n", "**v**") == "m1"

    assert sent(mock_api) == [
        (
            "POST",
            url,
            {
                "type": "markdown",
                "name": "n",
                "value": "**v**",
                "worker_run_id": WORKER_RUN_ID,
            },
        )
    ]


def test_create_metadata_refuses_entity(worker06, mock_api):
    with pytest.raises(TypeError, match="entity"):
        worker06.create_metadata(ELEMENT, MetaType.Text, "n", "v", entity="e1")
    assert sent(mock_api) == []


def test_create_metadata_bulk_items(worker06, mock_api):
    url = api_url(f"element/{ELEMENT_ID}/metadata/bulk/")
    mock_api.post(url, json={"metadata_list": [{"id": "m1"}, {"id": "m2"}]})

    created = worker06.create_metadata_bulk(
        ELEMENT,
        [
            {"type": MetaType.Text, "name": "a", "value": "x", "entity_id": 12},
            {"type": MetaType.Numeric, "name": "b", "value": 3, "other": "dropped"},
        ],
    )

    assert created == [{"id": "m1"}, {"id": "m2"}]
    assert sent(mock_api) == [
        (
            "POST",
            url,
            {
                "worker_run_id": WORKER_RUN_ID,
                "metadata_list": [
                    {"type": "text", "name": "a", "value": "x"},
                    {"type": "numeric", "name": "b", "value": 3},
                ],
            },
        )
    ]


# ---------------------------------------------------------------- datasets


def dataset_payload(dataset_id: str = DATASET_ID) -> dict:
    return {"id": dataset_id, "name": f"Dataset {dataset_id[0]}", "corpus_id": "c"}


def process_set(set_id: str, name: str, dataset_id: str = DATASET_ID) -> dict:
    return {"id": set_id, "set_name": name, "dataset": dataset_payload(dataset_id)}


def test_list_process_sets_list_and_datasets(dataset_worker06, mock_api):
    mock_api.get(
        SETS_URL,
        json={
            "count": 3,
            "next": f"{SETS_URL}?page=2",
            "results": [process_set("s1", "train"), process_set("s2", "dev")],
        },
    )
    mock_api.get(
        f"{SETS_URL}?page=2",
        json={
            "count": 3,
            "next": None,
            "results": [process_set("s3", "test", OTHER_ID)],
        },
    )

    sets = dataset_worker06.list_process_sets()

    assert isinstance(sets, list)
    assert sets == [
        DatasetSet(id="s1", name="train", dataset=dataset_payload()),
        DatasetSet(id="s2", name="dev", dataset=dataset_payload()),
        DatasetSet(id="s3", name="test", dataset=dataset_payload(OTHER_ID)),
    ]
    assert all(type(s) is DatasetSet for s in sets)
    assert dataset_worker06.datasets == {
        uuid.UUID(DATASET_ID): dataset_payload(),
        uuid.UUID(OTHER_ID): dataset_payload(OTHER_ID),
    }
    # One Dataset object per dataset, shared by its sets
    assert (
        sets[0].dataset
        is sets[1].dataset
        is dataset_worker06.datasets[uuid.UUID(DATASET_ID)]
    )
    assert type(sets[0].dataset) is Dataset


def test_list_sets_not_read_only_ignores_set_option(dataset_worker06, mock_api):
    dataset_worker06.args.set = [(uuid.UUID(OTHER_ID), "train")]
    mock_api.get(SETS_URL, json=page_of([process_set("s1", "train")]))

    assert dataset_worker06.list_sets() == [
        DatasetSet(id="s1", name="train", dataset=dataset_payload())
    ]
    assert [url for _, url, _ in sent(mock_api)] == [SETS_URL]


@pytest.fixture
def read_only_sets(worker06_read_only):
    worker06_read_only.args.set = [
        (uuid.UUID(DATASET_ID), "train"),
        (uuid.UUID(DATASET_ID), "dev"),
    ]
    worker06_read_only.datasets = {}
    return worker06_read_only


def test_list_sets_read_only(read_only_sets, mock_api):
    mock_api.get(
        api_url(f"datasets/{DATASET_ID}/sets/train/"),
        json={"id": "set_1", "name": "train"},
    )
    mock_api.get(api_url(f"datasets/{DATASET_ID}/"), json=dataset_payload())
    mock_api.get(
        api_url(f"datasets/{DATASET_ID}/sets/dev/"), json={"id": "set_2", "name": "dev"}
    )

    sets = read_only_sets.list_sets()

    assert sets == [
        DatasetSet(id="set_1", name="train", dataset=dataset_payload()),
        DatasetSet(id="set_2", name="dev", dataset=dataset_payload()),
    ]
    assert [url for _, url, _ in sent(mock_api)] == [
        api_url(f"datasets/{DATASET_ID}/sets/train/"),
        api_url(f"datasets/{DATASET_ID}/"),
        api_url(f"datasets/{DATASET_ID}/sets/dev/"),
    ]
    assert read_only_sets.datasets == {uuid.UUID(DATASET_ID): dataset_payload()}


def test_list_sets_read_only_set_error(read_only_sets, mock_api):
    mock_api.get(api_url(f"datasets/{DATASET_ID}/sets/train/"), status=418)
    with pytest.raises(ErrorResponse):
        read_only_sets.list_sets()
    assert len(mock_api.calls) == 1
    assert read_only_sets.datasets == {}


def test_list_sets_read_only_dataset_error(read_only_sets, mock_api):
    mock_api.get(
        api_url(f"datasets/{DATASET_ID}/sets/train/"),
        json={"id": "set_1", "name": "train"},
    )
    mock_api.get(api_url(f"datasets/{DATASET_ID}/"), status=418)
    with pytest.raises(ErrorResponse):
        read_only_sets.list_sets()
    assert len(mock_api.calls) == 2
    assert read_only_sets.datasets == {}


def test_list_set_elements_message(dataset_worker06, mock_api):
    with pytest.raises(
        AssertionError,
        match="^dataset_set shouldn't be null and should be a DatasetSet$",
    ):
        dataset_worker06.list_set_elements(None)
    url = api_url(f"datasets/{DATASET_ID}/elements/")
    mock_api.get(url, json=page_of([{"set": "train", "element": {"id": "e1"}}]))
    # Any Set passes
    elements = dataset_worker06.list_set_elements(
        Set(name="train", dataset=Dataset(id=DATASET_ID))
    )
    assert list(elements) == [{"id": "e1"}]
    assert [url for _, url, _ in sent(mock_api)] == [f"{url}?set=train&with_count=true"]
