"""The fault scenarios of `tests/e2e/test_faults.py` and the helpers reading their outcomes."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.e2e.conftest import (
    Demo,
    Run,
)
from tests.e2e.double import (
    ArkindexDouble,
    Fault,
)
from tests.e2e.test_worker_demo import (
    lines_of,
)

SHORT_WAITS = {
    "ARKINDEX_API_RETRY_WAIT_MIN": "0.01",
    "ARKINDEX_API_RETRY_WAIT_MAX": "0.05",
}
WAIT = "0.05"
"""Every retry wait of the scenarios with `SHORT_WAITS` (exponential waits, capped)."""
READ_TIMEOUT = "1.0"
SLOW = 3.0
"""Seconds a ``slow`` answer takes: well beyond `READ_TIMEOUT`."""
OUTAGE = 0.3
OUTAGE_WAITS = {
    "ARKINDEX_API_RETRY_WAIT_MIN": "0.2",
    "ARKINDEX_API_RETRY_WAIT_MAX": "0.2",
}
"""Four waits of 0.2 s outlast an outage of `OUTAGE` seconds."""
DROPPED = (
    "('Connection aborted.', "
    "RemoteDisconnected('Remote end closed connection without response'))"
)
TRACEBACK_HINT = " (run with -v to see the traceback)"
SUMMARY = re.compile(r"Ran on 3 elements: (\d) completed, (\d) failed$")


@dataclass(frozen=True)
class Scenario:
    """Faults aimed at the demo elements, the worker's environment, the double's seed."""

    faults: Callable[[Demo], list[Fault]]
    env: dict[str, str] = field(default_factory=lambda: dict(SHORT_WAITS))
    seed: int = 0
    prepare: Callable[[Demo], None] | None = None
    """Changes to the corpus before the run."""


def _identical_entity(demo: Demo, name: str) -> None:
    """An entity the run will create again (same name, type and worker run)."""
    double = demo.double
    double.entity_types["name"] = type_id = double.new_id()
    double.entities.append(
        {
            "id": double.new_id(),
            "name": name,
            "type_id": type_id,
            "metas": None,
            "validated": None,
            "corpus": double.corpus_id,
            "worker_run_id": double.worker_run_id,
        }
    )


def _line(demo: Demo, page: int) -> str:
    """ID of the first text line of a page (transcriptions mention lines, not pages)."""
    return lines_of(demo.double, demo.pages[page])[0]


SCENARIOS = {
    # A share of every request answered 500/502/503; one write always 503
    "server-errors": Scenario(
        lambda demo: [
            Fault(
                "503",
                operation="CreateClassification",
                element=demo.pages[1],
                times=None,
            ),
            Fault(("500", "502", "503"), times=None, rate=0.25),
        ],
        # Draws every status, on reads, writes and activity updates
        seed=4,
    ),
    # 429 on a read, an activity update and a write; Retry-After under and over
    # the longest wait
    "throttled": Scenario(
        lambda demo: [
            Fault(
                "429",
                operation="RetrieveElement",
                element=demo.pages[0],
                retry_after="0.02",
            ),
            Fault(
                "429",
                operation="UpdateWorkerActivity",
                element=demo.pages[1],
                times=2,
                retry_after="120",
            ),
            Fault(
                "429",
                operation="CreateClassification",
                element=demo.empty_page,
                retry_after="120",
            ),
        ]
    ),
    # Connections closed without an answer, before or after applying the request
    "dropped": Scenario(
        lambda demo: [
            Fault(
                "drop-before", operation="ListElementChildren", element=demo.pages[1]
            ),
            Fault("drop-after", operation="RetrieveElement", element=demo.pages[1]),
            Fault(
                "drop-before", operation="CreateClassification", element=demo.pages[0]
            ),
            Fault("drop-after", operation="CreateMetaData", element=demo.empty_page),
            Fault(
                "drop-after", operation="UpdateWorkerActivity", element=demo.pages[1]
            ),
        ]
    ),
    # A lost answer the read cannot settle: an identical entity of the same run
    "undecided": Scenario(
        lambda demo: [
            Fault("drop-after", operation="CreateEntity", element="Line 1.1"),
        ],
        prepare=lambda demo: _identical_entity(demo, "Line 1.1"),
    ),
    # Answers later than the client's read time-out
    "read-timeouts": Scenario(
        lambda demo: [
            Fault(
                "slow", operation="RetrieveElement", element=demo.pages[0], delay=SLOW
            ),
            Fault(
                "slow",
                operation="ListElementChildren",
                element=demo.empty_page,
                delay=SLOW,
            ),
            Fault(
                "slow",
                operation="CreateTranscriptions",
                element=_line(demo, 1),
                delay=SLOW,
            ),
        ],
        env={**SHORT_WAITS, "ARKINDEX_API_TIMEOUT": READ_TIMEOUT},
    ),
    # Content-Length larger than the JSON sent, then the connection closed
    "cut": Scenario(
        lambda demo: [
            Fault("cut", operation="ListElementChildren", element=demo.pages[0]),
            Fault("cut", operation="RetrieveElement", element=demo.pages[1]),
            Fault("cut", operation="CreateClassification", element=demo.empty_page),
        ]
    ),
    # Nobody listens for a while after a read: the next write is refused
    "outage": Scenario(
        lambda demo: [
            Fault(
                "outage",
                operation="ListElementChildren",
                element=demo.pages[0],
                delay=OUTAGE,
            )
        ],
        env=dict(OUTAGE_WAITS),
    ),
    # One write fails on every element
    "all-fail": Scenario(
        lambda demo: [Fault("500", operation="CreateClassification", times=None)]
    ),
}


@dataclass
class Outcome:
    """A finished scenario: the double's state, the run, and the double's port."""

    demo: Demo
    run: Run
    port: int


# ---------------------------------------------------------------- helpers


def publications(double: ArkindexDouble, element_id: str) -> Counter:
    """What the worker published for an element, counted."""
    lines = lines_of(double, element_id)
    zones = [
        child
        for child in double.children(element_id)
        if double.elements[child]["worker_run_id"]
    ]
    names = {e: double.elements[e]["name"] for e in [*lines, *zones]}
    transcriptions = {
        t["id"]: names[t["element_id"]]
        for t in double.transcriptions
        if t["element_id"] in names
    }
    published = Counter(("zone", double.elements[z]["name"]) for z in zones)
    published.update(("transcription", name) for name in transcriptions.values())
    published.update(
        ("entity link", transcriptions[link["transcription"]])
        for link in double.transcription_entities
        if link["transcription"] in transcriptions
    )
    published.update(
        ("classification", c["element"])
        for c in double.classifications
        if c["element"] == element_id
    )
    published.update(
        ("metadata", names.get(m["element_id"], "element"), m["name"])
        for m in double.metadata
        if m["element_id"] in (element_id, *lines)
    )
    return published


def complete_publications(double: ArkindexDouble, element_id: str) -> Counter:
    """Everything the demo worker publishes for an element, once."""
    lines = [double.elements[line]["name"] for line in lines_of(double, element_id)]
    targets = lines or ["1"]
    return Counter(
        [
            ("zone", "1"),
            *(("transcription", name) for name in targets),
            ("entity link", targets[0]),
            ("classification", element_id),
            ("metadata", "element", "lines"),
            *(("metadata", name, "image size") for name in lines),
        ]
    )


def summary_line(run: Run) -> str:
    """The run's summary line (``Ran on … elements: …``), the last one if several."""
    return next(
        (line for line in reversed(run.lines) if " Ran on " in line), run.lines[-1]
    )


def failure_lines(run: Run, element_id: str) -> list[str]:
    """The log lines reporting that an element failed."""
    return [
        line.removesuffix(TRACEBACK_HINT)
        for line in run.lines
        if line.startswith(
            (
                f"WARNING/arkindex_worker: Failed running worker on element {element_id}: ",
                "WARNING/arkindex_worker: An API error occurred while processing "
                f"element {element_id}: ",
            )
        )
    ]


def processed(outcome: Outcome) -> list[str]:
    double = outcome.demo.double
    return [e for e in outcome.demo.elements if double.activities.get(e) == "processed"]


def failed(outcome: Outcome) -> list[str]:
    return [e for e in outcome.demo.elements if e not in processed(outcome)]


def unconfirmed_message(method: str, operation: str, why: str) -> str:
    """The message of the error of a write whose answer was lost, undecided."""
    return (
        f"{method} {operation}: the request may or may not have been applied by "
        f"the server (no answer received: {why}); it was not sent again"
    )


def retry_lines(run: Run) -> list[str]:
    """The client's retry lines, without their logger prefix."""
    prefix = "INFO/arkindex_worker.api: Retrying "
    return [line[len(prefix) :] for line in run.lines if line.startswith(prefix)]


def requests_of(double: ArkindexDouble, operation: str, element_id: str) -> list:
    """Requests of an operation mentioning an element, in order."""
    return [
        r
        for r in double.requests
        if r.operation == operation
        and (element_id in r.path or element_id in json.dumps(r.body))
    ]
