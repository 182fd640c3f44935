"""ElementsWorker.run: network waits of consecutive elements overlap."""

from __future__ import annotations

import json
import logging
import sys
import threading

import pytest

from arkindex_worker.worker import ElementsWorker
from tests.conftest import WORKER_RUN_ID, api_url
from tests.worker.factories import element_payload, worker_run_payload

FIRST = "11111111-1111-1111-1111-000000000001"
SECOND = "11111111-1111-1111-1111-000000000002"
THIRD = "11111111-1111-1111-1111-000000000003"
ACTIVITY_URL = api_url(f"workers/versions/{WORKER_RUN_ID}/activity/")


def activity_callback(refused: set[tuple[str, str]]):
    """Answer activity updates, refusing the given (element, state) pairs."""

    def callback(request):
        body = json.loads(request.body)
        if (body["element_id"], body["state"]) in refused:
            return 400, {}, json.dumps({"detail": "refused"})
        return 200, {}, json.dumps(body)

    return callback


@pytest.fixture
def build(api_env, mock_api, monkeypatch):
    def build(element_ids, refused=(), overlap=True):
        monkeypatch.setattr(sys, "argv", ["worker", "--element", *element_ids])
        if not overlap:
            monkeypatch.setenv("ARKINDEX_WORKER_OVERLAP", "0")
        mock_api.get(
            api_url(f"process/workers/{WORKER_RUN_ID}/"), json=worker_run_payload()
        )
        for element_id in element_ids:
            mock_api.get(
                api_url(f"element/{element_id}/"), json=element_payload(element_id)
            )
        mock_api.add_callback(
            "PUT",
            ACTIVITY_URL,
            callback=activity_callback(set(refused)),
            content_type="application/json",
        )
        return ElementsWorker()

    return build


def sent(mock_api) -> list[tuple[str, str]]:
    """(element, what) of each request after the worker run retrieval."""
    result = []
    for c in mock_api.calls[1:]:
        if c.request.method == "GET":
            result.append((c.request.url.split("/")[-2], "get"))
        else:
            body = json.loads(c.request.body)
            result.append((body["element_id"], body["state"]))
    return result


UPSTREAM_ORDER = [
    (FIRST, "get"),
    (FIRST, "started"),
    (FIRST, "processed"),
    (SECOND, "get"),
    (SECOND, "started"),
    (SECOND, "processed"),
    (THIRD, "get"),
    (THIRD, "started"),
    (THIRD, "processed"),
]


def test_each_element_keeps_its_order(build, mock_api):
    worker = build([FIRST, SECOND, THIRD])
    worker.run()
    requests = sent(mock_api)
    assert len(requests) == 9
    for element_id in (FIRST, SECOND, THIRD):
        assert [what for who, what in requests if who == element_id] == [
            "get",
            "started",
            "processed",
        ]


def test_next_element_is_retrieved_ahead(build, mock_api):
    worker = build([FIRST, SECOND])
    retrieved = threading.Event()

    def process(element):
        # Processing the first element: the second one is being retrieved
        if element.id == FIRST:
            for _ in range(2000):
                if sum(c.request.method == "GET" for c in mock_api.calls[1:]) == 2:
                    retrieved.set()
                    break
                threading.Event().wait(0.001)

    worker.process_element = process
    worker.run()
    assert retrieved.is_set()


def test_failed_final_update_counts_the_element_failed(build, mock_api, caplog):
    worker = build([FIRST, SECOND], refused={(FIRST, "processed")})
    worker.run()
    assert (FIRST, "error") in sent(mock_api)
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert (
        f"An API error occurred while processing element {FIRST}: "
        "400 Bad Request - {'detail': 'refused'}"
    ) in messages
    assert messages[-1] == "Ran on 2 elements: 1 completed, 1 failed"


def test_every_final_update_failing_exits_1(build, mock_api):
    worker = build([FIRST], refused={(FIRST, "processed")})
    with pytest.raises(SystemExit) as e:
        worker.run()
    assert e.value.code == 1


def test_overlap_off_keeps_upstream_order(build, mock_api):
    worker = build([FIRST, SECOND], overlap=False)
    assert worker.overlap_requests is False
    worker.run()
    assert sent(mock_api) == UPSTREAM_ORDER[:6]


def test_class_attribute_turns_overlap_off(build, mock_api):
    class Sequential(ElementsWorker):
        overlap_requests = False

    build([FIRST, SECOND])
    worker = Sequential()
    worker.run()
    assert [who for who, _ in sent(mock_api)] == [FIRST] * 3 + [SECOND] * 3


PARENT_RUN_ID = "99999999-9999-9999-9999-999999999999"


def activity_run_ids(mock_api) -> list[str]:
    return [
        c.request.url.split("/")[-3]
        for c in mock_api.calls
        if c.request.method == "PUT"
    ]


def test_final_update_prepared_when_the_element_ends(build, mock_api):
    """A worker changing `worker_run_id` while it works does not leak it."""
    build([FIRST, SECOND, THIRD])

    class Replaying(ElementsWorker):
        def process_element(self, element):
            original, self.worker_run_id = self.worker_run_id, PARENT_RUN_ID
            # The previous element's final update may be in flight meanwhile
            threading.Event().wait(0.01)
            self.worker_run_id = original

    Replaying().run()
    assert activity_run_ids(mock_api) == [WORKER_RUN_ID] * 6
    assert sorted(sent(mock_api)) == sorted(UPSTREAM_ORDER)


def test_overridden_update_activity_runs_in_the_foreground(build, mock_api):
    build([FIRST, SECOND, THIRD])
    threads = []

    class Overriding(ElementsWorker):
        def update_activity(self, element_id, state):
            threads.append(threading.current_thread())
            return super().update_activity(element_id, state)

    Overriding().run()
    assert threads == [threading.main_thread()] * 6
    # The next element is still read ahead: only reads run early
    requests = sent(mock_api)
    assert sorted(requests) == sorted(UPSTREAM_ORDER)
    assert [r for r in requests if r[1] != "get"] == [
        r for r in UPSTREAM_ORDER if r[1] != "get"
    ]


def test_overridden_retrieve_element_is_not_read_ahead(build, mock_api):
    build([FIRST, SECOND, THIRD])
    threads = []

    class Overriding(ElementsWorker):
        def retrieve_element(self, element_id):
            threads.append(threading.current_thread())
            return super().retrieve_element(element_id)

    Overriding().run()
    assert threads == [threading.main_thread()] * 3
    gets = [i for i, r in enumerate(sent(mock_api)) if r[1] == "get"]
    # Each element is retrieved after the previous one's started update
    assert gets[1] > sent(mock_api).index((FIRST, "started"))
    assert gets[2] > sent(mock_api).index((SECOND, "started"))


def test_test_double_client_keeps_upstream_order(build, mock_api):
    """Another client than ArkindexClient (a test double): nothing in the background."""
    worker = build([FIRST, SECOND, THIRD])
    calls = []
    request = worker.api_client.request

    def recording(operation_id, **kwargs):
        calls.append(threading.current_thread())
        return request(operation_id, **kwargs)

    worker.api_client.request = recording
    worker.run()
    assert set(calls) == {threading.main_thread()}
    assert sent(mock_api) == UPSTREAM_ORDER


def test_invalid_item_fails_its_element_only(build, mock_api, caplog):
    """An item retrieve_element refuses fails that element, as without overlap."""
    worker = build([FIRST, SECOND])
    worker.get_elements = lambda: [FIRST, "", SECOND]
    worker.run()
    assert sorted(sent(mock_api)) == sorted(UPSTREAM_ORDER[:6])
    assert (
        "Failed running worker on element : AssertionError(\"element_id shouldn't "
        'be null and should be of type str")'
    ) in caplog.messages
    assert caplog.messages[-1] == "Ran on 3 elements: 2 completed, 1 failed"
    # The elapsed time and rate go to stderr only (run_logger does not propagate)
    assert all(record.name != "arkindex_worker.run" for record in caplog.records)


def test_error_stopping_the_loop_loses_no_final_update(build, mock_api):
    """Elements already processed are marked so before the error propagates."""
    worker = build([FIRST, SECOND])

    def elements():
        yield FIRST
        yield SECOND
        raise RuntimeError("listing broke")

    worker.get_elements = lambda: ListLike(elements())
    worker.process_element = lambda element: threading.Event().wait(0.005)
    with pytest.raises(RuntimeError, match="listing broke"):
        worker.run()
    assert sorted(sent(mock_api)) == sorted(UPSTREAM_ORDER[:6])


class ListLike:
    """An iterable with a length, failing while it is iterated."""

    def __init__(self, iterator) -> None:
        self.iterator = iterator

    def __iter__(self):
        return self.iterator

    def __len__(self) -> int:
        return 3
