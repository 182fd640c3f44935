"""Tests of ``arkindex_worker.worker.dataset`` (05, 14 §3.7)."""

from __future__ import annotations

import argparse
import json
import logging
import uuid

import pytest
from responses import matchers

from arkindex_worker.api import ErrorResponse
from arkindex_worker.models import Dataset, DatasetSet, Element, Set
from arkindex_worker.worker.dataset import (
    DatasetState,
    MissingDatasetArchive,
    check_dataset_set,
)
from tests.conftest import CORPUS_ID, PROCESS_ID, api_url

DATASET_ID = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
OTHER_DATASET_ID = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
ELEMENT_ID = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"
SETS_URL = api_url(f"process/{PROCESS_ID}/sets/")


def dataset_payload(dataset_id: str = DATASET_ID, **fields) -> dict:
    return {
        "id": dataset_id,
        "name": f"Dataset {dataset_id[0]}",
        "description": "A dataset",
        "sets": ["train", "val", "test"],
        "state": "complete",
        "corpus_id": CORPUS_ID,
        "creator": "someone",
        "task_id": "11111111-2222-3333-4444-555555555555",
        "created": "2000-01-01T00:00:00Z",
        "updated": "2000-01-01T00:00:00Z",
        **fields,
    }


def make_set(name: str = "train", **fields) -> Set:
    return Set(name=name, dataset=Dataset(**dataset_payload(**fields)))


def element_payload(number: int) -> dict:
    return {"id": f"element_{number}", "name": f"Page {number}", "type": "page"}


def requests_sent(mock_api) -> list[tuple[str, str]]:
    return [(call.request.method, call.request.url) for call in mock_api.calls]


def test_dataset_state_values():
    assert [(state.name, state.value) for state in DatasetState] == [
        ("Open", "open"),
        ("Building", "building"),
        ("Complete", "complete"),
        ("Error", "error"),
    ]


def test_missing_dataset_archive_is_an_exception():
    assert issubclass(MissingDatasetArchive, Exception)


# ---------------------------------------------------------------- check_dataset_set


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(f"{DATASET_ID}:train", (uuid.UUID(DATASET_ID), "train"), id="ok"),
        pytest.param(f"{DATASET_ID}:", (uuid.UUID(DATASET_ID), ""), id="empty-name"),
    ],
)
def test_check_dataset_set(value, expected):
    assert check_dataset_set(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "train",
            "'train' is not in the correct format `<dataset_id>:<set_name>`",
            id="no-colon",
        ),
        pytest.param(
            f"{DATASET_ID}:train:val",
            f"'{DATASET_ID}:train:val' is not in the correct format `<dataset_id>:<set_name>`",
            id="two-colons",
        ),
        pytest.param(
            "not_uuid:train", "'not_uuid' should be a valid UUID", id="not-uuid"
        ),
    ],
)
def test_check_dataset_set_errors(value, message):
    with pytest.raises(argparse.ArgumentTypeError) as e:
        check_dataset_set(value)
    assert str(e.value) == message


def test_set_argument(mock_dataset_worker):
    args = mock_dataset_worker.parser.parse_args(
        ["--set", f"{DATASET_ID}:train", f"{DATASET_ID}:val"]
    )
    assert args.set == [
        (uuid.UUID(DATASET_ID), "train"),
        (uuid.UUID(DATASET_ID), "val"),
    ]


def test_set_argument_default(mock_dataset_worker):
    assert mock_dataset_worker.parser.parse_args([]).set == []


# ---------------------------------------------------------------- list_process_sets


def test_list_process_sets_read_only(mock_elements_worker_read_only, mock_api):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker_read_only.list_process_sets()
    assert str(e.value) == "This helper is not available in read-only mode."
    assert len(mock_api.calls) == 0


def process_set(name: str, dataset_id: str = DATASET_ID) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "set_name": name,
        "dataset": dataset_payload(dataset_id),
    }


def test_list_process_sets(mock_dataset_worker, mock_api):
    mock_api.get(
        SETS_URL,
        json={
            "count": 3,
            "next": f"{SETS_URL}?page=2",
            "results": [process_set("train"), process_set("val")],
        },
    )
    mock_api.get(
        f"{SETS_URL}?page=2",
        json={
            "count": 3,
            "next": None,
            "results": [process_set("test", OTHER_DATASET_ID)],
        },
    )

    sets = mock_dataset_worker.list_process_sets()
    assert isinstance(sets, map)
    sets = list(sets)

    assert [(type(s), s.name, s.dataset) for s in sets] == [
        (Set, "train", dataset_payload()),
        (Set, "val", dataset_payload()),
        (Set, "test", dataset_payload(OTHER_DATASET_ID)),
    ]
    assert all(type(s.dataset) is Dataset for s in sets)
    assert requests_sent(mock_api) == [("GET", SETS_URL), ("GET", f"{SETS_URL}?page=2")]


def test_list_process_sets_api_error(mock_dataset_worker, mock_api, sleeps):
    mock_api.get(SETS_URL, status=418)
    sets = mock_dataset_worker.list_process_sets()
    with pytest.raises(
        Exception, match="^Stopping pagination as data will be incomplete$"
    ):
        next(sets)
    assert requests_sent(mock_api) == [("GET", SETS_URL)]  # 4xx: not retried
    assert sleeps == []


def test_list_process_sets_server_error_retried(mock_dataset_worker, mock_api, sleeps):
    mock_api.get(SETS_URL, status=503)
    mock_api.get(
        SETS_URL, json={"count": 1, "next": None, "results": [process_set("train")]}
    )
    assert [s.name for s in mock_dataset_worker.list_process_sets()] == ["train"]
    assert requests_sent(mock_api) == [("GET", SETS_URL)] * 2
    assert sleeps == [3]


# ---------------------------------------------------------------- list_set_elements


@pytest.mark.parametrize(
    "dataset_set",
    [
        pytest.param(None, id="none"),
        pytest.param({"name": "train"}, id="dict"),
    ],
)
def test_list_set_elements_wrong_set(mock_dataset_worker, dataset_set):
    with pytest.raises(AssertionError) as e:
        mock_dataset_worker.list_set_elements(dataset_set)
    assert str(e.value) == "dataset_set shouldn't be null and should be a Set"


def test_list_set_elements(mock_dataset_worker, mock_api):
    url = api_url(f"datasets/{DATASET_ID}/elements/")
    mock_api.get(
        f"{url}?set=train&with_count=true",
        json={
            "count": 2,
            "next": f"{url}?cursor=abc&set=train",
            "results": [{"set": "train", "element": element_payload(1)}],
        },
    )
    mock_api.get(
        f"{url}?cursor=abc&set=train",
        json={
            "count": None,
            "next": None,
            "results": [{"set": "train", "element": element_payload(2)}],
        },
    )

    elements = mock_dataset_worker.list_set_elements(make_set())
    assert isinstance(elements, map)
    elements = list(elements)

    assert elements == [element_payload(1), element_payload(2)]
    assert all(type(element) is Element for element in elements)
    assert requests_sent(mock_api) == [
        ("GET", f"{url}?set=train&with_count=true"),
        ("GET", f"{url}?cursor=abc&set=train"),
    ]


def test_list_set_elements_accepts_dataset_set(mock_dataset_worker, mock_api):
    url = api_url(f"datasets/{DATASET_ID}/elements/?set=train&with_count=true")
    mock_api.get(url, json={"count": 0, "next": None, "results": []})
    dataset_set = DatasetSet(name="train", dataset=Dataset(**dataset_payload()))
    assert list(mock_dataset_worker.list_set_elements(dataset_set)) == []


# ---------------------------------------------------------------- list_sets


def retrieve_dataset(mock_api, dataset_id: str = DATASET_ID):
    mock_api.get(api_url(f"datasets/{dataset_id}/"), json=dataset_payload(dataset_id))


def test_list_sets_read_only(mock_elements_worker_read_only, mock_api):
    worker = mock_elements_worker_read_only
    worker.args.set = [(uuid.UUID(DATASET_ID), "train"), (uuid.UUID(DATASET_ID), "val")]
    retrieve_dataset(mock_api)

    sets = list(worker.list_sets())

    assert [(type(s), s.name, s.dataset) for s in sets] == [
        (Set, "train", dataset_payload()),
        (Set, "val", dataset_payload()),
    ]
    assert sets[0].dataset is sets[1].dataset
    assert type(sets[0].dataset) is Dataset
    assert requests_sent(mock_api) == [("GET", api_url(f"datasets/{DATASET_ID}/"))]


def test_list_sets_process_then_cli(mock_dataset_worker, mock_api):
    mock_dataset_worker.args.set = [
        (uuid.UUID(OTHER_DATASET_ID), "test"),
    ]
    mock_api.get(
        SETS_URL,
        json={"count": 1, "next": None, "results": [process_set("train")]},
    )
    retrieve_dataset(mock_api, OTHER_DATASET_ID)

    sets = [(s.name, s.dataset.id) for s in mock_dataset_worker.list_sets()]

    assert sets == [("train", DATASET_ID), ("test", OTHER_DATASET_ID)]
    assert requests_sent(mock_api) == [
        ("GET", SETS_URL),
        ("GET", api_url(f"datasets/{OTHER_DATASET_ID}/")),
    ]


def test_list_sets_is_a_generator(mock_dataset_worker, mock_api):
    mock_dataset_worker.list_sets()
    assert len(mock_api.calls) == 0


def test_list_sets_dataset_error(mock_elements_worker_read_only, mock_api):
    mock_elements_worker_read_only.args.set = [(uuid.UUID(DATASET_ID), "train")]
    mock_api.get(
        api_url(f"datasets/{DATASET_ID}/"), status=404, json={"detail": "Not found."}
    )

    sets = mock_elements_worker_read_only.list_sets()
    with pytest.raises(ErrorResponse) as e:
        next(sets)
    assert e.value.status_code == 404
    assert len(mock_api.calls) == 1


# ---------------------------------------------------------------- update_dataset_state


@pytest.mark.parametrize(
    ("dataset_arg", "state", "message"),
    [
        pytest.param(
            None,
            DatasetState.Building,
            "dataset shouldn't be null and should be a Dataset",
            id="no-dataset",
        ),
        pytest.param(
            dataset_payload(),
            DatasetState.Building,
            "dataset shouldn't be null and should be a Dataset",
            id="dict-dataset",
        ),
        pytest.param(
            Dataset(**dataset_payload()),
            None,
            "state shouldn't be null and should be a str from DatasetState",
            id="no-state",
        ),
        pytest.param(
            Dataset(**dataset_payload()),
            "building",
            "state shouldn't be null and should be a str from DatasetState",
            id="str-state",
        ),
    ],
)
def test_update_dataset_state_wrong_arguments(
    mock_dataset_worker, dataset_arg, state, message
):
    with pytest.raises(AssertionError) as e:
        mock_dataset_worker.update_dataset_state(dataset_arg, state)
    assert str(e.value) == message


def test_update_dataset_state_read_only(
    mock_elements_worker_read_only, mock_api, caplog
):
    result = mock_elements_worker_read_only.update_dataset_state(
        Dataset(**dataset_payload()), DatasetState.Building
    )
    assert result is None
    assert len(mock_api.calls) == 0
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.WARNING,
        "Cannot update dataset as this worker is in read-only mode",
    )


def test_update_dataset_state(mock_dataset_worker, mock_api):
    url = api_url(f"datasets/{DATASET_ID}/")
    mock_api.patch(
        url,
        match=[matchers.json_params_matcher({"state": "building"})],
        json=dataset_payload(state="building", updated="2000-01-02T00:00:00Z"),
    )
    original = Dataset(**dataset_payload())

    result = mock_dataset_worker.update_dataset_state(original, DatasetState.Building)

    assert result is original
    assert original == dataset_payload(state="building", updated="2000-01-02T00:00:00Z")
    assert requests_sent(mock_api) == [("PATCH", url)]


def test_update_dataset_state_cache_warning(
    mock_cached_elements_worker, mock_api, caplog
):
    mock_api.patch(
        api_url(f"datasets/{DATASET_ID}/"), json=dataset_payload(state="building")
    )
    mock_cached_elements_worker.update_dataset_state(
        Dataset(**dataset_payload()), DatasetState.Building
    )
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.WARNING,
        "This API helper `update_dataset_state` did not update the cache database",
    )


# ---------------------------------------------------------------- create_dataset


CREATE_ARGS = {
    "name": "My dataset",
    "description": "Some elements",
    "set_names": ["train", "val"],
}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"name": None},
            "name shouldn't be null and should be of type str",
            id="name",
        ),
        pytest.param(
            {"description": 42},
            "description shouldn't be null and should be of type str",
            id="description",
        ),
        pytest.param(
            {"set_names": []},
            "set_names shouldn't be null and should be of type list",
            id="no-sets",
        ),
        pytest.param(
            {"set_names": ("train",)},
            "set_names shouldn't be null and should be of type list",
            id="tuple-sets",
        ),
        pytest.param(
            {"set_names": ["train", 1]},
            "Set name at index 1 in set_names: Should be of type str",
            id="set-name",
        ),
        pytest.param(
            {"unique_elements": None},
            "unique_elements shouldn't be null and should be of type bool",
            id="unique",
        ),
    ],
)
def test_create_dataset_wrong_arguments(mock_elements_worker, changes, message):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_dataset(**{**CREATE_ARGS, **changes})
    assert str(e.value) == message


def test_create_dataset_read_only(mock_elements_worker_read_only, mock_api, caplog):
    assert mock_elements_worker_read_only.create_dataset(**CREATE_ARGS) is None
    assert len(mock_api.calls) == 0
    assert caplog.record_tuples[-1] == (
        "arkindex_worker",
        logging.WARNING,
        "Cannot create dataset as this worker is in read-only mode",
    )


@pytest.mark.parametrize(
    "unique", [pytest.param(True, id="unique"), pytest.param(False, id="not-unique")]
)
def test_create_dataset(mock_elements_worker, mock_api, unique):
    url = api_url(f"corpus/{CORPUS_ID}/datasets/")
    body = {**CREATE_ARGS, "unique_elements": unique}
    payload = dataset_payload(name="My dataset", state="open")
    mock_api.post(url, match=[matchers.json_params_matcher(body)], json=payload)

    created = mock_elements_worker.create_dataset(**CREATE_ARGS, unique_elements=unique)

    assert created == payload
    assert type(created) is Dataset
    assert requests_sent(mock_api) == [("POST", url)]


# ---------------------------------------------------------------- dataset elements


ELEMENT = Element(id=ELEMENT_ID, name="Page", type="page")


@pytest.mark.parametrize(
    "method", ["create_dataset_element", "destroy_dataset_element"]
)
@pytest.mark.parametrize(
    ("dataset_set", "element", "message"),
    [
        pytest.param(
            None,
            ELEMENT,
            "dataset_set shouldn't be null and should be of type DatasetSet",
            id="no-set",
        ),
        pytest.param(
            {"name": "train"},
            ELEMENT,
            "dataset_set shouldn't be null and should be of type DatasetSet",
            id="dict-set",
        ),
        pytest.param(
            make_set(),
            None,
            "element shouldn't be null and should be of type Element",
            id="no-element",
        ),
        pytest.param(
            make_set(),
            {"id": ELEMENT_ID},
            "element shouldn't be null and should be of type Element",
            id="dict-element",
        ),
    ],
)
def test_dataset_element_wrong_arguments(
    mock_elements_worker, method, dataset_set, element, message
):
    with pytest.raises(AssertionError) as e:
        getattr(mock_elements_worker, method)(dataset_set, element)
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("method", "message"),
    [
        pytest.param(
            "create_dataset_element",
            "Cannot create dataset element as this worker is in read-only mode",
            id="create",
        ),
        pytest.param(
            "destroy_dataset_element",
            "Cannot destroy dataset element as this worker is in read-only mode",
            id="destroy",
        ),
    ],
)
def test_dataset_element_read_only(
    mock_elements_worker_read_only, mock_api, caplog, method, message
):
    assert getattr(mock_elements_worker_read_only, method)(make_set(), ELEMENT) is None
    assert len(mock_api.calls) == 0
    assert caplog.record_tuples[-1] == ("arkindex_worker", logging.WARNING, message)


@pytest.mark.parametrize(
    "set_class",
    [pytest.param(Set, id="set"), pytest.param(DatasetSet, id="dataset-set")],
)
def test_create_dataset_element(mock_elements_worker, mock_api, set_class):
    url = api_url(f"datasets/{DATASET_ID}/elements/")
    answer = {"set": "train", "element_id": ELEMENT_ID}
    mock_api.post(url, json=answer)
    dataset_set = set_class(name="train", dataset=Dataset(**dataset_payload()))

    assert mock_elements_worker.create_dataset_element(dataset_set, ELEMENT) == answer

    assert requests_sent(mock_api) == [("POST", url)]
    assert json.loads(mock_api.calls[0].request.body) == answer


def test_destroy_dataset_element(mock_elements_worker, mock_api):
    url = api_url(f"datasets/{DATASET_ID}/elements/{ELEMENT_ID}/?set=train")
    mock_api.delete(url, status=204)

    assert mock_elements_worker.destroy_dataset_element(make_set(), ELEMENT) is None

    assert requests_sent(mock_api) == [("DELETE", url)]
    assert mock_api.calls[0].request.body is None
