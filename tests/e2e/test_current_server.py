"""End to end against a double shaped like a current Arkindex server (1.12+).

No elements list, no embedded configuration: the worker pulls its elements
from the activity queue and reads its configuration from
``RetrieveWorkerRunConfiguration``.
"""

from __future__ import annotations

from collections import Counter

from tests.e2e.conftest import build_demo, finish, start_demo_worker, worker_env
from tests.e2e.double import ArkindexDouble

ML_CLASS = "from-configuration"
# The demo worker is written against the 0.4 API (entities by ID, the cache):
# on a current server, `auto` would make it a generation 0.6 worker (spec 15 §1.2)
COMPAT_04 = {"ARKINDEX_WORKER_COMPAT": "0.4"}


def current_server(double: ArkindexDouble, extra_pages: int = 0):
    """Turn the double into a current server, every page of the demo queued."""
    demo = build_demo(double)
    pages = list(demo.elements)
    for index in range(extra_pages):
        pages.append(
            double.add_element("page", f"Extra {index}", image=double.add_image())
        )
    double.current_server = True
    double.queue = list(pages)
    double.configuration_items = [
        {"key": "ml_class", "value": ML_CLASS, "secret": False},
        {"key": "confidence", "value": 0.5, "secret": False},
    ]
    return pages


def task_env(double: ArkindexDouble, home, chunk: str | None = None) -> dict:
    """Environment of an Arkindex task: task token, no elements list."""
    env = worker_env(double, home, PONOS_TASK="task-1", **COMPAT_04)
    env.pop("ARKINDEX_API_TOKEN")
    env["ARKINDEX_TASK_TOKEN"] = double.token
    if chunk:
        env["ARKINDEX_TASK_CHUNK"] = chunk
    return env


def test_queue_run_completes_every_element(tmp_path):
    with ArkindexDouble() as double:
        pages = current_server(double)
        run = finish(start_demo_worker([], task_env(double, tmp_path), tmp_path))

    assert run.returncode == 0, run.stderr
    assert run.lines[-1].endswith(
        f"Ran on {len(pages)} elements: {len(pages)} completed, 0 failed"
    )
    assert double.activities == dict.fromkeys(pages, "processed")
    assert double.queue == []
    operations = double.operations()
    assert operations[:4] == [
        "RetrieveWorkerRun",
        "RetrieveWorkerRunConfiguration",
        "RetrieveTask",  # the demo worker supports the cache: parents are looked up
        "StartWorkerActivity",
    ]
    assert operations.count("StartWorkerActivity") == len(pages) + 1
    # The configuration came from the endpoint
    assert set(double.ml_classes) == {ML_CLASS}
    assert {c["confidence"] for c in double.classifications} == {0.5}
    # Every kind of publication once per element (entity type and class once)
    assert Counter(op for op in operations if op.startswith("Create")) == Counter(
        CreateElements=len(pages),
        CreateTranscriptions=len(pages),
        CreateEntityType=1,
        CreateEntity=len(pages),
        CreateTranscriptionEntity=len(pages),
        CreateMLClass=1,
        CreateClassification=len(pages),
        CreateMetaData=len(pages),
    )
    # Each pull happens only once the previous element is finished
    pulls = [i for i, op in enumerate(operations) if op == "StartWorkerActivity"]
    updates = [i for i, op in enumerate(operations) if op == "UpdateWorkerActivity"]
    assert all(update < pull for update, pull in zip(updates, pulls[1:], strict=True))


def test_two_processes_share_one_queue(tmp_path):
    with ArkindexDouble() as double:
        pages = current_server(double, extra_pages=20)
        homes = [tmp_path / "chunk-1", tmp_path / "chunk-2"]
        processes = []
        for index, home in enumerate(homes, start=1):
            home.mkdir()
            env = task_env(double, home, chunk=str(index))
            processes.append(start_demo_worker([], env, home))
        runs = [finish(process) for process in processes]

    retrieved = Counter(
        r.path.split("/")[1]
        for r in double.served()
        if r.operation == "RetrieveElement"
    )
    # Every element processed exactly once, none lost
    assert double.activities == dict.fromkeys(pages, "processed")
    assert retrieved == Counter(dict.fromkeys(pages, 1))
    for run in runs:
        # A chunk that found the queue empty at once exits 1, as upstream
        assert run.returncode in (0, 1), run.stderr
        if run.returncode == 1:
            assert run.lines[-1].endswith("No elements to process, stopping.")


def test_queue_refuses_user_tokens(tmp_path):
    with ArkindexDouble() as double:
        current_server(double)
        env = worker_env(double, tmp_path, PONOS_TASK="task-1", **COMPAT_04)
        run = finish(start_demo_worker([], env, tmp_path))

    assert run.returncode == 1
    assert "403 Forbidden" in run.lines[-1]
    assert "Traceback" not in run.stderr
