"""End-to-end: ``worker-demo`` run as a subprocess against the loopback API double."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    Demo,
    Run,
    build_demo,
    run_demo_worker,
    worker_env,
    write_elements_list,
)
from tests.e2e.double import ArkindexDouble, RecordedRequest

CONFIDENCE = 0.9
LINE_SIZE = "1000x300"
"""Size of every line's crop: the demo lines are 1000×300 boxes."""
FAULT_RATE = 0.2
FAULT_SEED = 2

Call = tuple[str, str, str, object]
"""``(method, path relative to /api/v1/, query string, JSON body)``."""

# Real processes: their waits must really wait, not spin.
pytestmark = pytest.mark.real_sleep


def call(request: RecordedRequest) -> Call:
    """The comparable part of a recorded request."""
    return (request.method, request.path, request.query, request.body)


def activity(double: ArkindexDouble, element_id: str, state: str) -> Call:
    """The UpdateWorkerActivity request of an element."""
    body = {"element_id": element_id, "process_id": double.process_id, "state": state}
    return ("PUT", f"workers/versions/{double.worker_run_id}/activity/", "", body)


def lines_of(double: ArkindexDouble, element_id: str) -> list[str]:
    """IDs of the text lines of an element."""
    return [
        child
        for child in double.children(element_id)
        if double.elements[child]["type"] == "text_line"
    ]


def zone_of(double: ArkindexDouble, element_id: str) -> str:
    """ID of the text zone the worker created in an element."""
    (zone,) = [
        child
        for child in double.children(element_id)
        if double.elements[child]["type"] == "text_zone"
    ]
    return zone


def element_requests(demo: Demo, index: int) -> list[Call]:
    """Requests of the element processed at ``index``; created IDs read from the double."""
    double = demo.double
    element_id = demo.elements[index]
    first = index == 0
    run = double.worker_run_id
    lines = lines_of(double, element_id)
    # An element without lines has its new zone transcribed instead
    targets = lines or [zone_of(double, element_id)]
    zone = {
        "name": "1",
        "type": "text_zone",
        "polygon": double.elements[element_id]["polygon"],
    }
    transcriptions = [
        {
            "element_id": target,
            "text": f"Text of {double.elements[target]['name']}",
            "confidence": CONFIDENCE,
            "orientation": "horizontal-lr",
        }
        for target in targets
    ]
    transcription = next(
        t for t in double.transcriptions if t["element_id"] == targets[0]
    )
    entity = double.entities[index]
    name = double.elements[targets[0]]["name"]
    requests = [
        ("GET", f"element/{element_id}/", "", None),
        activity(double, element_id, "started"),
        ("GET", f"elements/{element_id}/children/", "type=text_line", None),
        (
            "POST",
            f"element/{element_id}/children/bulk/",
            "",
            {"worker_run_id": run, "elements": [zone]},
        ),
        (
            "POST",
            "transcription/bulk/",
            "",
            {"worker_run_id": run, "transcriptions": transcriptions},
        ),
    ]
    if first:
        requests += [
            ("GET", f"corpus/{double.corpus_id}/entity-types/", "", None),
            ("POST", "entity/types/", "", {"name": "name", "corpus": double.corpus_id}),
        ]
    requests += [
        (
            "POST",
            "entity/",
            "",
            {
                "name": name,
                "type_id": double.entity_types["name"],
                "metas": {},
                "validated": None,
                "corpus": double.corpus_id,
                "worker_run_id": run,
            },
        ),
        (
            "POST",
            f"transcription/{transcription['id']}/entity/",
            "",
            {
                "entity": entity["id"],
                "length": len(name),
                "offset": len("Text of "),
                "worker_run_id": run,
            },
        ),
    ]
    if first:
        classes = f"corpus/{double.corpus_id}/classes/"
        requests += [
            ("GET", classes, "", None),
            ("POST", classes, "", {"name": "demo"}),
        ]
    classification = {
        "element": element_id,
        "ml_class": double.ml_classes["demo"],
        "worker_run_id": run,
        "confidence": CONFIDENCE,
        "high_confidence": False,
    }
    requests += [
        ("POST", "classifications/", "", classification),
        metadata(double, element_id, "numeric", "lines", str(len(lines))),
    ]
    requests += [
        metadata(double, line, "text", "image size", LINE_SIZE) for line in lines
    ]
    return [*requests, activity(double, element_id, "processed")]


def metadata(
    double: ArkindexDouble, element_id: str, kind: str, name: str, value: str
) -> Call:
    """The CreateMetaData request of one metadata."""
    body = {
        "type": kind,
        "name": name,
        "value": value,
        "entity_id": None,
        "worker_run_id": double.worker_run_id,
    }
    return ("POST", f"element/{element_id}/metadata/", "", body)


def expected_requests(demo: Demo) -> list[Call]:
    """Every request of a complete run over the demo elements, in order."""
    double = demo.double
    requests = [("GET", f"process/workers/{double.worker_run_id}/", "", None)]
    for index in range(len(demo.elements)):
        requests += element_requests(demo, index)
    return requests


ELAPSED = "INFO/arkindex_worker.run: Elapsed <time> (<rate>)"
ELAPSED_LINE = re.compile(
    r"INFO/arkindex_worker\.run: Elapsed \d+:\d\d:\d\d \(\d+\.\d\d elements/(s|min)\)"
)


API_AT = re.compile(r"(Starting on the Arkindex API at )http://127\.0\.0\.1:\d+/,")
# The double's IIIF server while it runs, and the unreachable base once stopped
IIIF_BASE = re.compile(r"http://(127\.0\.0\.1:\d+/iiif|iiif\.invalid/iiif/2)/")
DOWNLOADED = re.compile(r"(INFO/arkindex_worker: Downloaded image .*) in \S+")


def stable(lines: list[str]) -> list[str]:
    """The log lines, with the elapsed time and rate of the summary replaced by
    `ELAPSED`, the double's URL in the start line by ``<api>``, its IIIF base by
    ``<iiif>/`` and the time of image downloads by ``<time>``."""
    return [
        ELAPSED
        if ELAPSED_LINE.fullmatch(line)
        else IIIF_BASE.sub(
            "<iiif>/", DOWNLOADED.sub(r"\1 in <time>", API_AT.sub(r"\1<api>,", line))
        )
        for line in lines
    ]


def start_line(double: ArkindexDouble, mode: str = "") -> str:
    """The line naming the API and the worker run, once configured."""
    return (
        "INFO/arkindex_worker.run: Starting on the Arkindex API at <api>, "
        f"with worker run {double.worker_run_id}{mode}"
    )


def expected_log(demo: Demo, home: Path) -> list[str]:
    """Every log line of a complete run over the demo elements, in order."""
    double = demo.double
    corpus = double.corpus_id
    lines = [
        f"INFO/arkindex_worker: Worker will use {home}/data/arkindex as working directory",
        "INFO/arkindex_worker: Loaded Worker Demo worker @ e2e from API",
        start_line(double),
    ]
    count = len(demo.elements)
    for index, element_id in enumerate(demo.elements, start=1):
        element = double.elements[element_id]
        text_lines = lines_of(double, element_id)
        lines += [
            f"INFO/arkindex_worker: Processing page {element['name']} ({element_id}) ({index}/{count})",
        ]
        if index == 1:
            lines += [
                f"INFO/arkindex_worker: Loaded 0 entity types in corpus ({corpus}).",
                "INFO/arkindex_worker: Created a new entity type with name `name`.",
                f"INFO/arkindex_worker: Loaded 0 ML classes in corpus ({corpus})",
                f"INFO/arkindex_worker: Creating ML class demo on corpus {corpus}",
            ]
        lines += [
            f"INFO/arkindex_worker: Downloaded image {line_image_url(double, line)} "
            f"- size={LINE_SIZE} in <time>"
            for line in text_lines
        ]
    # A publication in one batch logs its two lines at INFO, shown with -v only
    return [
        *lines,
        ELAPSED,
        f"INFO/arkindex_worker: Ran on {count} elements: {count} completed, 0 failed",
    ]


def line_image_url(double: ArkindexDouble, line_id: str) -> str:
    """The URL of a line's crop, as the double serialises its zone (IIIF base as ``<iiif>/``)."""
    return IIIF_BASE.sub("<iiif>/", double.element_payload(line_id)["zone"]["url"])


def run_over_demo(home: Path, fault_rate: float = 0.0, **env: str) -> tuple[Demo, Run]:
    """Process every demo element through an elements list; return the finished state.

    The worker version turns the image step on; images come from the
    double's IIIF server (online, local files are never opened).
    """
    with ArkindexDouble(fault_rate=fault_rate, seed=FAULT_SEED) as double:
        demo = build_demo(double)
        double.version_configuration = {"crop_lines": True}
        elements_list = write_elements_list(
            home / "elements.json",
            [{"id": element_id, "type": "page"} for element_id in demo.elements],
        )
        run = run_demo_worker(
            ["--elements-list", str(elements_list)],
            worker_env(double, home, **env),
            home,
        )
    return demo, run


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> Iterator[tuple[Demo, Run, Path]]:
    """One fault-free run over the demo elements, shared by the tests reading it."""
    home = tmp_path_factory.mktemp("clean")
    demo, run = run_over_demo(home)
    yield demo, run, home


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory) -> Iterator[tuple[Demo, Run, Path]]:
    """One run where about a fifth of the requests are answered 502 or 429."""
    home = tmp_path_factory.mktemp("faulty")
    demo, run = run_over_demo(home, fault_rate=FAULT_RATE)
    yield demo, run, home


# ---------------------------------------------------------------- clean run


def test_clean_run_exits_zero(clean_run):
    _demo, run, _home = clean_run
    assert run.returncode == 0, run.stderr


def test_clean_run_log(clean_run):
    demo, run, home = clean_run
    assert stable(run.lines) == expected_log(demo, home)


def test_clean_run_requests(clean_run):
    demo, _run, _home = clean_run
    assert [call(r) for r in demo.double.requests] == expected_requests(demo)


def test_clean_run_first_request_is_the_worker_run(clean_run):
    """No OpenAPI schema is fetched: the bundled operation table is used."""
    demo, _run, _home = clean_run
    first = demo.double.requests[0]
    assert (first.method, first.path) == (
        "GET",
        f"process/workers/{demo.double.worker_run_id}/",
    )
    assert not any("openapi" in r.path for r in demo.double.requests)


def test_clean_run_authenticates_every_request(clean_run):
    demo, _run, _home = clean_run
    assert {r.status for r in demo.double.requests} <= {200, 201}
    assert not any("Authorization" in r.headers for r in demo.double.requests)


def test_clean_run_processed_every_element(clean_run):
    demo, _run, _home = clean_run
    assert demo.double.activities == dict.fromkeys(demo.elements, "processed")


def test_clean_run_created_one_zone_per_element(clean_run):
    demo, _run, _home = clean_run
    double = demo.double
    created = [e for e in double.elements.values() if e["worker_run_id"]]
    assert [
        (e["type"], e["name"], e["parents"], e["image"], e["polygon"]) for e in created
    ] == [
        (
            "text_zone",
            "1",
            [element_id],
            double.elements[element_id]["image"],
            double.elements[element_id]["polygon"],
        )
        for element_id in demo.elements
    ]


def test_clean_run_transcriptions(clean_run):
    demo, _run, _home = clean_run
    double = demo.double
    assert [(t["element_id"], t["text"]) for t in double.transcriptions] == [
        *(
            (line, f"Text of Line 1.{n}")
            for n, line in enumerate(lines_of(double, demo.pages[0]), 1)
        ),
        *(
            (line, f"Text of Line 2.{n}")
            for n, line in enumerate(lines_of(double, demo.pages[1]), 1)
        ),
        (zone_of(double, demo.empty_page), "Text of 1"),
    ]
    assert {(t["confidence"], t["worker_run_id"]) for t in double.transcriptions} == {
        (CONFIDENCE, double.worker_run_id)
    }


def test_clean_run_entities(clean_run):
    demo, _run, _home = clean_run
    double = demo.double
    assert double.entity_types == {"name": double.entity_types["name"]}
    assert [(e["name"], e["type_id"]) for e in double.entities] == [
        ("Line 1.1", double.entity_types["name"]),
        ("Line 2.1", double.entity_types["name"]),
        ("1", double.entity_types["name"]),
    ]


def test_clean_run_entities_point_at_their_names(clean_run):
    demo, _run, _home = clean_run
    double = demo.double
    texts = {t["id"]: t["text"] for t in double.transcriptions}
    names = {e["id"]: e["name"] for e in double.entities}
    assert [
        (
            texts[link["transcription"]],
            texts[link["transcription"]][
                link["offset"] : link["offset"] + link["length"]
            ],
            names[link["entity"]],
        )
        for link in double.transcription_entities
    ] == [
        ("Text of Line 1.1", "Line 1.1", "Line 1.1"),
        ("Text of Line 2.1", "Line 2.1", "Line 2.1"),
        ("Text of 1", "1", "1"),
    ]


def test_clean_run_classifications(clean_run):
    demo, _run, _home = clean_run
    double = demo.double
    assert set(double.ml_classes) == {"demo"}
    assert [(c["element"], c["confidence"]) for c in double.classifications] == [
        (element_id, CONFIDENCE) for element_id in demo.elements
    ]


def test_clean_run_metadata(clean_run):
    demo, _run, _home = clean_run
    double = demo.double
    assert [
        (m["element_id"], m["type"], m["name"], m["value"]) for m in double.metadata
    ] == [
        (demo.pages[0], "numeric", "lines", "3"),
        *(
            (line, "text", "image size", "1000x300")
            for line in lines_of(double, demo.pages[0])
        ),
        (demo.pages[1], "numeric", "lines", "3"),
        *(
            (line, "text", "image size", "1000x300")
            for line in lines_of(double, demo.pages[1])
        ),
        (demo.empty_page, "numeric", "lines", "0"),
    ]


# ---------------------------------------------------------------- faults


def test_faulty_run_completes_every_element(faulty_run):
    _demo, run, _home = faulty_run
    assert run.returncode == 0, run.stderr
    assert run.lines[-1] == (
        "INFO/arkindex_worker: Ran on 3 elements: 3 completed, 0 failed"
    )


def test_faulty_run_injected_both_kinds_of_faults(faulty_run):
    """The seed gives 502s and 429s on reads, writes and pages (or the test is weak)."""
    demo, _run, _home = faulty_run
    injected = [r for r in demo.double.requests if r.injected]
    assert {r.status for r in injected} == {429, 502}
    assert {r.method for r in injected} >= {"GET", "POST", "PUT"}
    assert "ListElementChildren" in {r.operation for r in injected}


def test_faulty_run_served_the_clean_sequence(faulty_run):
    demo, _run, _home = faulty_run
    assert [call(r) for r in demo.double.served()] == expected_requests(demo)


def test_faulty_run_retries_each_fault_at_once(faulty_run):
    requests = faulty_run[0].double.requests
    for index, request in enumerate(requests):
        if request.injected:
            assert call(requests[index + 1]) == call(request)


def test_faulty_run_logs_one_line_per_retry(faulty_run):
    demo, run, home = faulty_run
    retries = [
        line
        for line in run.lines
        if line.startswith(
            (
                "INFO/arkindex_worker.api: Retrying ",
                "WARNING/arkindex_worker.api: API Error ",
            )
        )
    ]
    assert len(retries) == len([r for r in demo.double.requests if r.injected])
    assert stable([line for line in run.lines if line not in retries]) == expected_log(
        demo, home
    )
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------- activities & modes


def test_already_started_element_is_skipped(demo, run_worker):
    """UpdateWorkerActivity answers 409 for an element this run already started."""
    double, page = demo.double, demo.pages[0]
    double.activities[page] = "started"

    run = run_worker(double, ["--element", page])

    assert run.returncode == 0, run.stderr
    assert stable(run.lines)[-3:] == [
        f"INFO/arkindex_worker: Skipping element {page} as it was already processed",
        ELAPSED,
        "INFO/arkindex_worker: Ran on 1 element: 1 completed, 0 failed",
    ]
    assert [(call(r), r.status) for r in double.requests] == [
        (("GET", f"process/workers/{double.worker_run_id}/", "", None), 200),
        (("GET", f"element/{page}/", "", None), 200),
        (activity(double, page, "started"), 409),
    ]


def test_dev_mode_reads_line_type_from_config(demo, run_worker, tmp_path):
    double, page = demo.double, demo.pages[0]
    double.add_element_type("word")
    double.add_element("word", "Word 1", parent=page)
    config = tmp_path / "config.yml"
    config.write_text("line_type: word\n")

    run = run_worker(double, ["--dev", "--config", str(config), "--element", page])

    assert run.returncode == 0, run.stderr
    assert [call(r) for r in double.requests] == [
        ("GET", f"element/{page}/", "", None),
        ("GET", f"elements/{page}/children/", "type=word", None),
    ]


def dev_config(folder: Path) -> Path:
    """A developer-mode configuration turning the image step on."""
    config = folder / "config.yml"
    config.write_text("line_type: text_line\ncrop_lines: true\n")
    return config


def dev_mode_head(double: ArkindexDouble, folder: Path, config: Path) -> list[str]:
    """First log lines of a developer-mode run."""
    return [
        f"INFO/arkindex_worker: Worker will use {folder}/data/arkindex as working directory",
        f"INFO/arkindex_worker: Running with local configuration from {config}",
        start_line(double, " in developer mode (read-only)"),
        "INFO/arkindex_worker: No worker activity will be stored as it is disabled for this process",
    ]


def read_only(what: str) -> str:
    return f"WARNING/arkindex_worker: Cannot create {what} as this worker is in read-only mode"


def test_dev_mode_opens_images_and_publishes_nothing(demo, run_worker, tmp_path):
    double, page = demo.double, demo.pages[0]
    config = dev_config(tmp_path)

    run = run_worker(double, ["--dev", "--config", str(config), "--element", page])

    assert run.returncode == 0, run.stderr
    assert stable(run.lines) == [
        *dev_mode_head(double, tmp_path, config),
        f"INFO/arkindex_worker: Processing page Page 1 ({page}) (1/1)",
        read_only("elements"),
        read_only("transcription"),
        read_only("classification"),
        read_only("metadata"),
        *(
            line
            for line_id in lines_of(double, page)
            for line in (
                f"INFO/arkindex_worker: Downloaded image "
                f"{line_image_url(double, line_id)} - size={LINE_SIZE} in <time>",
                read_only("metadata"),
            )
        ),
        ELAPSED,
        "INFO/arkindex_worker: Ran on 1 element: 1 completed, 0 failed",
    ]
    assert [call(r) for r in double.requests] == [
        ("GET", f"element/{page}/", "", None),
        ("GET", f"elements/{page}/children/", "type=text_line", None),
    ]


def test_dev_mode_element_without_lines(demo, run_worker, tmp_path):
    """Without lines nor a created zone, nothing is transcribed nor tagged."""
    double, page = demo.double, demo.empty_page
    config = dev_config(tmp_path)

    run = run_worker(double, ["--dev", "--config", str(config), "--element", page])

    assert run.returncode == 0, run.stderr
    assert stable(run.lines) == [
        *dev_mode_head(double, tmp_path, config),
        f"INFO/arkindex_worker: Processing page Empty page ({page}) (1/1)",
        read_only("elements"),
        read_only("classification"),
        read_only("metadata"),
        ELAPSED,
        "INFO/arkindex_worker: Ran on 1 element: 1 completed, 0 failed",
    ]
    assert [call(r) for r in double.requests] == [
        ("GET", f"element/{page}/", "", None),
        ("GET", f"elements/{page}/children/", "type=text_line", None),
    ]
