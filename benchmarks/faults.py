"""Benchmark of whole worker runs under faults: 5 % of requests dropped, 5 % throttled.

Runs two console scripts as subprocesses against the Arkindex API double of
``tests/e2e``, which drops the connection of a seeded 5 % of the API requests
(half before applying them, half after: the answer of an applied write is
lost) and answers another 5 % with ``429`` (``Retry-After: 0``), through
`tests.e2e.double.fault_mix`:

- ``worker-realistic`` (100 pages: a 1000 × 1500 JPEG from the double's IIIF
  server 150 ms after each request, a 200 ms model, one classification and one
  bulk transcription of three lines; API answers 40 ms after each request),
  with the SDK's default overlap and image read-ahead;
- ``worker-demo`` (30 pages of three lines: listing, zone, bulk
  transcriptions, entity type, entity and link, classification, metadata,
  line images), every kind of publication it makes.

Each runs with the faults, with the same faults but the old rule (no
confirmation: every lost answer of a write raises `UnconfirmedWriteError`),
then without faults (the same corpus and seed), and prints: elements completed, writes lost (publications missing), writes
duplicated (publications made more than once), API requests (and how many
were dropped, throttled, and how many lost answers were settled by a read:
applied, sent again, undecided), then wall time. Retry waits are shortened to
0.5–2 s (``ARKINDEX_API_RETRY_WAIT_MIN``/``MAX``; the defaults are 3–60 s).

Usage: ``python benchmarks/faults.py [--quick] [--seed N]`` (``--quick``: 20
realistic pages, 10 demo pages).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.conftest import build_demo, worker_env
from tests.e2e.double import ArkindexDouble, fault_mix
from tests.e2e.fault_scenarios import complete_publications, publications
from tests.e2e.routes import page_jpeg

BIN = Path(sys.executable).parent
DROPPED = 0.05
THROTTLED = 0.05
WAITS = {"ARKINDEX_API_RETRY_WAIT_MIN": "0.5", "ARKINDEX_API_RETRY_WAIT_MAX": "2"}
API_LATENCY = 0.040
IIIF_LATENCY = 0.150
PAGE_SIZE = (1000, 1500)
REALISTIC = {"elements": 100, "quick": 20}
DEMO = {"elements": 30, "quick": 10}
LINES = 3
SETTLED = {
    "applied": " was applied: its answer is rebuilt",
    "resent": " was not applied: sending it again",
    "undecided": "Cannot tell whether ",
    "activities": "No answer to UpdateWorkerActivity: sending it again",
}


def realistic_corpus(double: ArkindexDouble, elements: int) -> list[str]:
    folder = double.add_element("folder", "Benchmark")
    return [
        double.add_element(
            "page", f"Page {n}", parent=folder, image=double.add_image(*PAGE_SIZE)
        )
        for n in range(elements)
    ]


def realistic_counts(double: ArkindexDouble, page: str) -> tuple[Counter, Counter]:
    """(published, expected) publications of the realistic worker on a page."""
    got = Counter(
        ("classification", c["ml_class"])
        for c in double.classifications
        if c["element"] == page
    )
    got.update(
        ("transcription", t["text"])
        for t in double.transcriptions
        if t["element_id"] == page
    )
    width, height = PAGE_SIZE
    want = Counter([("classification", double.ml_classes.get("handwritten"))])
    want.update(
        ("transcription", f"Line {n} of a {width}x{height} page")
        for n in range(1, LINES + 1)
    )
    return got, want


def demo_corpus(double: ArkindexDouble, elements: int) -> list[str]:
    demo = build_demo(double)
    pages = list(demo.pages)
    while len(pages) < elements:
        image = double.add_image(1000, 300 * LINES)
        page = double.add_element("page", f"Page {len(pages) + 1}", image=image)
        for n in range(LINES):
            polygon = [
                [0, 300 * n],
                [0, 300 * n + 300],
                [1000, 300 * n + 300],
                [1000, 300 * n],
            ]
            double.add_element(
                "text_line", f"Line {len(pages) + 1}.{n + 1}", page, image, polygon
            )
        pages.append(page)
    double.version_configuration = {"crop_lines": True}
    return pages


def demo_counts(double: ArkindexDouble, page: str) -> tuple[Counter, Counter]:
    return publications(double, page), complete_publications(double, page)


# Runs a console script with the registry of confirmations emptied: lost
# answers of writes then raise UnconfirmedWriteError, the rule before it
WITHOUT_CONFIRMATIONS = """
import runpy, sys
import arkindex_worker.api.confirm as confirm
confirm.CONFIRMATIONS.clear()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

WORKERS = {
    "worker-realistic": (
        realistic_corpus,
        realistic_counts,
        {"REALISTIC_MODEL_SECONDS": "0.2"},
        REALISTIC,
    ),
    "worker-demo": (demo_corpus, demo_counts, {}, DEMO),
}


def run(
    script: str, elements: int, faults: bool, seed: int, confirm: bool = True
) -> dict:
    """One run of a worker script over a fresh corpus; its figures."""
    build, counts, extra_env, _sizes = WORKERS[script]
    double = ArkindexDouble(seed=seed, latency=API_LATENCY, iiif_latency=IIIF_LATENCY)
    with tempfile.TemporaryDirectory() as tmp, double:
        home = Path(tmp)
        ids = build(double, elements)
        if faults:
            double.inject(*fault_mix(DROPPED, THROTTLED))
        env = worker_env(double, home, **WAITS, **extra_env)
        env.pop("ARKINDEX_WORKER_OVERLAP", None)  # the SDK's default
        listing = home / "elements.json"
        listing.write_text(json.dumps([{"id": i} for i in ids]))
        log = home / "worker.log"
        start = time.perf_counter()
        command = [str(BIN / script), "--elements-list", str(listing)]
        if not confirm:
            command = [sys.executable, "-c", WITHOUT_CONFIRMATIONS, *command]
        with log.open("w") as output:
            process = subprocess.run(
                command,
                env=env,
                cwd=home,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
            )
        wall = time.perf_counter() - start
        lines = log.read_text().splitlines()
        lost = duplicated = 0
        for page in ids:
            got, want = counts(double, page)
            lost += sum((want - got).values())
            duplicated += sum((got - want).values())
        kinds = Counter(r.fault for r in double.faulted())
        return {
            "script": script,
            "faults": faults,
            "confirm": confirm,
            "elements": len(ids),
            "completed": sum(double.activities.get(i) == "processed" for i in ids),
            "returncode": process.returncode,
            "lost": lost,
            "duplicated": duplicated,
            "writes": sum(r.method in ("POST", "PUT") for r in double.requests),
            "requests": len(double.requests),
            "dropped": kinds["drop-before"] + kinds["drop-after"],
            "dropped_after": kinds["drop-after"],
            "throttled": kinds["429"],
            **{k: sum(text in line for line in lines) for k, text in SETTLED.items()},
            "wall_s": wall,
        }


def report(m: dict) -> None:
    label = "no faults"
    if m["faults"]:
        label = "faults" if m["confirm"] else "faults, no verify-then-retry"
    print(
        f"  {label:<28}: {m['completed']}/{m['elements']} elements completed "
        f"(exit {m['returncode']}), {m['lost']} writes lost, {m['duplicated']} "
        f"duplicated; {m['requests']} API requests ({m['writes']} writes), "
        f"{m['dropped']} dropped ({m['dropped_after']} after applying), "
        f"{m['throttled']} throttled; lost answers settled: {m['applied']} applied, "
        f"{m['resent']} sent again, {m['undecided']} undecided, "
        f"{m['activities']} activity updates sent again; "
        f"wall {m['wall_s']:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer elements")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    args = parser.parse_args()
    page_jpeg(*PAGE_SIZE)  # encoded once, before the clocks start
    print(
        f"Faults: {DROPPED:.0%} of API requests dropped (half after applying), "
        f"{THROTTLED:.0%} answered 429; seed {args.seed}; retry waits "
        f"{WAITS['ARKINDEX_API_RETRY_WAIT_MIN']}–{WAITS['ARKINDEX_API_RETRY_WAIT_MAX']} s; "
        f"API latency {API_LATENCY * 1000:.0f} ms, IIIF {IIIF_LATENCY * 1000:.0f} ms"
    )
    for script, (*_rest, sizes) in WORKERS.items():
        elements = sizes["quick" if args.quick else "elements"]
        print(f"{script}, {elements} elements:")
        report(run(script, elements, True, args.seed))
        report(run(script, elements, True, args.seed, confirm=False))
        report(run(script, elements, False, args.seed))


if __name__ == "__main__":
    main()
