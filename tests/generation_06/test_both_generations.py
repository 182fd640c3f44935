"""Both generations in one process: each worker follows its own (spec 15 §1.3)."""

from __future__ import annotations

import pytest

from arkindex_worker import generation
from arkindex_worker.models import Element
from arkindex_worker.worker import ElementsWorker
from tests.conftest import CORPUS_ID, api_url
from tests.generation_06.helpers import page_of, sent

ELEMENT = Element(id="12341234-1234-1234-1234-123412341234")
ZONE_URL = "http://zoneurl/0,0,400,400/full/0/default.png"


@pytest.fixture
def worker04(worker06):
    """A second worker of the same process, following generation 0.4."""
    other = ElementsWorker()
    other.args = other.parser.parse_args([])
    other.process_information = worker06.process_information
    other._corpus_id = CORPUS_ID
    try:
        other.generation = generation.GENERATION_0_4
    except AttributeError:
        other._generation = generation.GENERATION_0_4
    return other


def test_each_worker_follows_its_generation(worker06, worker04, mock_api):
    for worker in (worker06, worker04):
        worker.classes = {"cat": "c1"}
    answer = {"id": "cl1", "ml_class": "c1", "confidence": 0.5, "state": "pending"}
    mock_api.post(api_url("classification/bulk/"), json={"classifications": [answer]})
    mock_api.post(api_url("classification/bulk/"), json={"classifications": [answer]})
    items = [{"ml_class": "cat", "confidence": 0.5}]

    assert worker06.create_classifications(ELEMENT, items) == [answer]
    assert worker04.create_classifications(ELEMENT, items) == [
        {**answer, "class_name": "cat"}
    ]
    # The 0.4 form stays available to the 0.4 worker only
    worker04.corpus_types = {"page": {}}
    assert worker04.check_required_types("page") is True
    with pytest.raises(AssertionError, match="type_names"):
        worker06.check_required_types("page")
    assert len(sent(mock_api)) == 2


def test_process_wide_generation_switches_back_and_forth(gen06):
    el = Element(id="e", zone={"url": ZONE_URL, "polygon": [], "image": {}})
    assert el.resize_zone_url(",10") == "http://zoneurl/0,0,400,400/,10/0/default.jpg"
    generation.use(generation.GENERATION_0_4)
    assert el.resize_zone_url(",10") == "http://zoneurl/0,0,400,400/,10/0/default.png"
    generation.use(generation.GENERATION_0_6)
    assert el.resize_zone_url(",10") == "http://zoneurl/0,0,400,400/,10/0/default.jpg"


def test_listing_page_of_a_04_worker(worker04, mock_api):
    url = api_url(f"process/{worker04.process_information['id']}/elements/")
    mock_api.get(url, json=page_of([{"id": "e1"}]))
    assert list(worker04.list_process_elements()) == [{"id": "e1"}]
    assert (
        sent(mock_api)[0][1] == url + "?page_size=500&with_count=true&with_image=False"
    )
