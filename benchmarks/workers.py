"""Benchmark of whole worker runs: the scenario and realistic workers against the double.

Runs the ``worker-scenario`` console script (two sub-elements, one
transcription, one classification and one metadata per element) as a
subprocess against the Arkindex API double of ``tests/e2e``, which answers
every request a fixed latency after it arrived (0, 5 and 40 ms), and prints:
wall time, time per element, requests per element against the scenario's
minimum, start-up time (process start to first request), worker CPU time per
request, peak memory, and the import time of ``arkindex_worker.worker``. Each
latency runs with the overlap of network waits on and off
(``ARKINDEX_WORKER_OVERLAP=1`` / ``0``, the latter upstream's strictly
sequential order), followed by the ratio of their wall times. Every request
goes through ``requests``. The double serves through ``http.server``, in the
benchmark's own process: its cost per request (about a millisecond of CPU) is
counted in the wall times, not in the worker's CPU time.

Then a "realistic worker" section runs ``worker-realistic``, shaped like a real
recognizer: on each of 100 pages it opens the page's image (a 1000 × 1500 JPEG
of about 250 KB, from the double's IIIF server, 150 ms after each request),
runs a 200 ms model (a sleep) and publishes one classification and one bulk
transcription request, the API answering 40 ms after each request. Three rows:
upstream's strictly sequential order (``ARKINDEX_WORKER_OVERLAP=0``), the
overlap of network waits without the image read-ahead
(``ARKINDEX_WORKER_IMAGE_READ_AHEAD=0``), and the defaults (overlap and image
read-ahead). Each prints the wall time per element and its ratio to the floor:
the model plus the API requests that must stay in sequence (the ``started``
activity, then each publication), 0.200 + 3 × 0.040 = 0.320 s per element;
then API and IIIF requests per element (one image download per element: more
is a wasted read-ahead), the worker's CPU time per element and its peak memory.

Usage: ``python benchmarks/workers.py [--quick]`` (``--quick``: 30 elements
for every scenario row, 20 for the realistic ones).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.conftest import worker_env
from tests.e2e.double import ArkindexDouble
from tests.e2e.routes import page_jpeg

SCRIPT = Path(sys.executable).with_name("worker-scenario")
# GET element, PUT started, CreateElements, CreateTranscription,
# CreateClassification, CreateMetaData, PUT processed
MINIMUM_PER_ELEMENT = 7
# RetrieveWorkerRun, ListCorpusMLClasses, CreateMLClass
MINIMUM_PER_RUN = 3
# Latency of every answer (seconds), elements per run: 40 ms × 7 requests is
# about 0.3 s per element when sequential
ROWS = ((0.0, 300), (0.005, 300), (0.040, 100))
QUICK_ELEMENTS = 30

REALISTIC_SCRIPT = Path(sys.executable).with_name("worker-realistic")
REALISTIC_ELEMENTS = 100
REALISTIC_QUICK_ELEMENTS = 20
API_LATENCY = 0.040
IIIF_LATENCY = 0.150
MODEL_SECONDS = 0.200
PAGE_SIZE = (1000, 1500)
# The classification and the bulk transcription request
PUBLICATIONS = 2
# The model, then the requests that must stay in sequence: the started
# activity, then each publication
FLOOR_S = MODEL_SECONDS + (1 + PUBLICATIONS) * API_LATENCY
# RetrieveWorkerRun, ListCorpusMLClasses, CreateMLClass
REALISTIC_PER_RUN = 3
# GET element, PUT started, CreateClassification, CreateTranscriptions,
# PUT processed
REALISTIC_PER_ELEMENT = 5
READ_AHEAD = "ARKINDEX_WORKER_IMAGE_READ_AHEAD"
REALISTIC_MODES = (
    ("sequential (overlap off)", {"ARKINDEX_WORKER_OVERLAP": "0"}),
    ("overlap, no image read-ahead", {"ARKINDEX_WORKER_OVERLAP": "1", READ_AHEAD: "0"}),
    ("overlap + image read-ahead", {}),
)
"""Label and environment of each realistic row; ``{}``: the SDK's defaults."""


# Runs the console script as itself (``runpy``), then writes the process's
# peak resident memory (VmHWM) to the file named by BENCHMARK_PEAK_FILE. The
# kernel's ru_maxrss would count the benchmark's own memory: the child is
# forked from it before it runs the script.
PEAK_REPORTER = """
import atexit, os, runpy, sys
def report():
    with open("/proc/self/status") as status, open(os.environ["BENCHMARK_PEAK_FILE"], "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_script(
    script: Path,
    double: ArkindexDouble,
    ids: list[str],
    home: Path,
    env: dict[str, str],
) -> dict:
    """Run a worker console script over ``ids`` (an elements list); its measures.

    Raises:
        RuntimeError: the worker failed, or did not process every element.
    """
    elements_list = home / "elements.json"
    elements_list.write_text(json.dumps([{"id": i} for i in ids]))
    arguments = ["--elements-list", str(elements_list)]
    peak_file = home / "peak"
    env = {**env, "BENCHMARK_PEAK_FILE": str(peak_file)}
    cpu_before = children_cpu()
    start = time.perf_counter()
    # Logs go to a file: the benchmark does not keep them in memory
    log = home / "worker.log"
    with log.open("w") as output:
        result = subprocess.run(
            [sys.executable, "-c", PEAK_REPORTER, str(script), *arguments],
            env=env,
            cwd=home,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    wall = time.perf_counter() - start
    cpu_after = children_cpu()
    if result.returncode != 0:
        tail = log.read_text()[-2000:]
        raise RuntimeError(f"{script.name} failed:\n{tail}")
    processed = sum(state == "processed" for state in double.activities.values())
    if processed != len(ids):
        raise RuntimeError(f"only {processed} of {len(ids)} elements processed")
    return {
        "elements": len(ids),
        "wall_s": wall,
        "per_element_ms": wall / len(ids) * 1000,
        "startup_s": double.first_request_at - start,
        "cpu_s": cpu_after - cpu_before,
        "peak_rss_mib": int(peak_file.read_text()) / 1024,
    }


def run_scenario(elements: int, latency: float, overlap: bool) -> dict:
    """One run of the scenario worker; its measures."""
    double = ArkindexDouble(latency=latency)
    with tempfile.TemporaryDirectory() as tmp, double:
        home = Path(tmp)
        image = double.add_image(1000, 1000)
        folder = double.add_element("folder", "Benchmark")
        ids = [
            double.add_element("page", f"Page {n}", parent=folder, image=image)
            for n in range(elements)
        ]
        env = worker_env(
            double,
            home,
            ARKINDEX_WORKER_OVERLAP="1" if overlap else "0",
        )
        measure = run_script(SCRIPT, double, ids, home, env)
        requests = len(double.requests)
        return {
            **measure,
            "latency_ms": latency * 1000,
            "overlap": overlap,
            "requests": requests,
            "requests_per_element": (requests - MINIMUM_PER_RUN) / elements,
            "cpu_per_request_ms": measure["cpu_s"] / requests * 1000,
        }


def run_realistic(elements: int, label: str, mode: dict[str, str]) -> dict:
    """One run of the realistic worker (one page image per element); its measures."""
    page_jpeg(*PAGE_SIZE)  # encoded once, before the clock starts
    double = ArkindexDouble(latency=API_LATENCY, iiif_latency=IIIF_LATENCY)
    with tempfile.TemporaryDirectory() as tmp, double:
        home = Path(tmp)
        folder = double.add_element("folder", "Benchmark")
        ids = [
            double.add_element(
                "page", f"Page {n}", parent=folder, image=double.add_image(*PAGE_SIZE)
            )
            for n in range(elements)
        ]
        env = worker_env(
            double, home, REALISTIC_MODEL_SECONDS=str(MODEL_SECONDS), **mode
        )
        for name in ("ARKINDEX_WORKER_OVERLAP", READ_AHEAD):
            if name not in mode:  # the SDK's default
                env.pop(name, None)
        measure = run_script(REALISTIC_SCRIPT, double, ids, home, env)
        return {
            **measure,
            "label": label,
            "floor_ratio": measure["wall_s"] / elements / FLOOR_S,
            "api_per_element": (len(double.requests) - REALISTIC_PER_RUN) / elements,
            "iiif_per_element": len(double.iiif_requests) / elements,
            "iiif_token": any(r.authorization for r in double.iiif_requests),
            "cpu_per_element_ms": measure["cpu_s"] / elements * 1000,
        }


def compile_sources() -> None:
    """Compile the SDK and the scenario worker to bytecode, as installing them does.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on the development machine) and
    editable installations, every run would otherwise compile them again at
    import time.
    """
    root = Path(__file__).resolve().parent.parent
    for directory in ("arkindex_worker", "worker-demo/worker_demo"):
        compileall.compile_dir(root / directory, quiet=1)


def import_time(runs: int = 7) -> float:
    """Median import time of ``arkindex_worker.worker`` in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); import arkindex_worker.worker; "
        "print(time.perf_counter() - t)"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


def report(measure: dict) -> None:
    print(
        f"{measure['elements']:>5} elements, {measure['latency_ms']:2.0f} ms latency, "
        f"overlap {'on ' if measure['overlap'] else 'off'}: "
        f"{measure['wall_s']:6.2f} s, {measure['per_element_ms']:5.1f} ms/element, "
        f"{measure['requests_per_element']:.2f} requests/element "
        f"(minimum {MINIMUM_PER_ELEMENT}), start-up {measure['startup_s']:.3f} s, "
        f"CPU {measure['cpu_per_request_ms']:.2f} ms/request, "
        f"peak RSS {measure['peak_rss_mib']:.0f} MiB"
    )


def report_realistic(measure: dict) -> None:
    print(
        f"  {measure['label']:<29}: {measure['wall_s']:6.2f} s, "
        f"{measure['per_element_ms']:5.1f} ms/element = "
        f"{measure['floor_ratio']:.2f} × floor, "
        f"{measure['api_per_element']:.2f} API requests/element "
        f"(minimum {REALISTIC_PER_ELEMENT}), "
        f"{measure['iiif_per_element']:.2f} IIIF requests/element, "
        f"CPU {measure['cpu_per_element_ms']:.1f} ms/element, "
        f"peak RSS {measure['peak_rss_mib']:.0f} MiB"
        + (" — TOKEN SENT TO THE IIIF SERVER" if measure["iiif_token"] else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ELEMENTS} elements per scenario run, "
        f"{REALISTIC_QUICK_ELEMENTS} per realistic run",
    )
    args = parser.parse_args()

    compile_sources()
    print(f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"import arkindex_worker.worker: {import_time() * 1000:.0f} ms (median of 7)")
    for latency, elements in ROWS:
        if args.quick:
            elements = QUICK_ELEMENTS
        on = run_scenario(elements, latency, overlap=True)
        report(on)
        off = run_scenario(elements, latency, overlap=False)
        report(off)
        print(
            f"{'':>5} {latency * 1000:2.0f} ms latency: overlap on / off wall time "
            f"{on['wall_s'] / off['wall_s']:.2f}"
        )

    elements = REALISTIC_QUICK_ELEMENTS if args.quick else REALISTIC_ELEMENTS
    kilobytes = len(page_jpeg(*PAGE_SIZE)) / 1024
    print(
        f"Realistic worker, {elements} elements: "
        f"{PAGE_SIZE[0]}x{PAGE_SIZE[1]} JPEG page ({kilobytes:.0f} KB) after "
        f"{IIIF_LATENCY * 1000:.0f} ms, model {MODEL_SECONDS * 1000:.0f} ms, "
        f"API {API_LATENCY * 1000:.0f} ms; floor {FLOOR_S * 1000:.0f} ms/element "
        f"(model + (started + {PUBLICATIONS} publications) × API latency)"
    )
    for label, mode in REALISTIC_MODES:
        report_realistic(run_realistic(elements, label, mode))


if __name__ == "__main__":
    main()
