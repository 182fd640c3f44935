"""Benchmark of the SQLite cache: merging parents, reading initial elements, offline writes.

Run ``python benchmarks/cache.py`` (full size: parents totalling 1,000,000
elements and 1,000,000 transcriptions) or with ``--quick`` (a small size).
The offline parts end with whole offline runs (``worker.run()``, one
transaction per element) publishing 100,000 transcriptions in all, with 1, 100
or 10 per element (`OFFLINE_RUNS`; the same sizes with ``--quick``).
Each measured part runs twice, each time in a fresh subprocess so that its peak
memory is its own: once for the time and the process's peak memory
(``resource.getrusage(...).ru_maxrss``), once under ``tracemalloc`` (which
slows Python code down) for the peak of Python allocations.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import peewee

from arkindex_worker.cache import (
    MODELS,
    SQL_VERSION,
    Version,
    init_cache_db,
    initial_elements,
    merge_parents_cache,
)

# Four parent files, the last two being chunks of the same parent task.
PARENT_FILES = ["p1/db.sqlite", "p2/db.sqlite", "p3/db_1.sqlite", "p3/db_2.sqlite"]
IMAGE_ID = "c0ffee00c0ffee00c0ffee00c0ffee00"
POLYGON = "[[0, 0], [0, 100], [100, 100], [100, 0]]"


def create_cache(path: Path) -> None:
    """Create an empty cache database of the current version at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    database = peewee.SqliteDatabase(path)
    with database, database.bind_ctx([Version, *MODELS]):
        database.create_tables([Version, *MODELS])
        Version.create(version=SQL_VERSION)


def fill_parent(path: Path, elements: int, initial: int) -> None:
    """Add `elements` elements (the first `initial` ones initial), one transcription each."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "INSERT INTO images VALUES (?, 1000, 1000, 'http://iiif/image')",
            (IMAGE_ID,),
        )
        # Random ids, as real UUIDs: the primary-key B-trees grow like in a task.
        connection.execute(
            """
            WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)
            INSERT INTO elements
            SELECT lower(hex(randomblob(16))), NULL, 'page', ?, ?, 0, 0, n <= ?,
                   NULL, NULL, NULL
            FROM seq
            """,
            (elements, IMAGE_ID, POLYGON, initial),
        )
        connection.execute(
            """
            INSERT INTO transcriptions
            SELECT lower(hex(randomblob(16))), id, 'Some transcribed text', 0.5,
                   'horizontal-lr', NULL, NULL
            FROM elements
            """
        )
    connection.close()


def build(workdir: Path, elements: int, initial: int) -> list[Path]:
    """Create the parent databases and the empty task database; return the parents."""
    parents = [workdir / name for name in PARENT_FILES]
    for parent in parents:
        create_cache(parent)
        fill_parent(parent, elements // len(parents), initial // len(parents))
    create_cache(workdir / "task" / "empty.sqlite")
    return parents


def run_merge(workdir: Path) -> int:
    """Merge the parents into a fresh task database; return the rows merged."""
    task_db = workdir / "task" / "db.sqlite"
    shutil.copyfile(workdir / "task" / "empty.sqlite", task_db)
    merge_parents_cache([workdir / name for name in PARENT_FILES], task_db)
    connection = sqlite3.connect(task_db)
    rows = sum(
        connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("elements", "transcriptions")
    )
    connection.close()
    return rows


def run_read(workdir: Path) -> int:
    """Iterate over the initial elements of the merged task database; return their number."""
    init_cache_db(workdir / "task" / "db.sqlite")
    count = 0
    for element in initial_elements():
        count += element.initial
    return count


def _offline_worker(workdir: Path):
    """An ElementsWorker configured offline on the merged task database."""
    from arkindex_worker.worker import ElementsWorker

    logging.getLogger("arkindex_worker").setLevel(logging.WARNING)
    sys.argv = ["benchmark", "--dev", "--database", str(workdir / "task" / "db.sqlite")]
    worker = ElementsWorker(support_cache=True)
    worker.configure()
    return worker


def _initial_ids(limit: int) -> list[str]:
    return [str(element.id) for element in initial_elements().limit(limit)]


def run_offline_bulk(workdir: Path) -> int:
    """Write one transcription per initial element offline, with create_transcriptions."""
    worker = _offline_worker(workdir)
    items = [
        {"element_id": element_id, "text": "benchmark text", "confidence": 0.5}
        for element_id in _initial_ids(OFFLINE_BULK_ROWS)
    ]
    return len(worker.create_transcriptions(items))


def run_offline_single(workdir: Path) -> int:
    """Write transcriptions offline one call at a time, with create_transcription."""
    from arkindex_worker.cache import CachedElement

    worker = _offline_worker(workdir)
    ids = _initial_ids(OFFLINE_SINGLE_ROWS)
    for element in CachedElement.select().where(CachedElement.id.in_(ids)):
        worker.create_transcription(element, "benchmark text", 0.5)
    return len(ids)


def build_offline_runs(workdir: Path) -> None:
    """Databases of `OFFLINE_RUNS` pages to process offline (copied afresh per run)."""
    for elements, _ in OFFLINE_RUNS.values():
        path = workdir / "offline" / f"{elements}.sqlite"
        create_cache(path)
        fill_parent(path, elements, elements)


class _BulkWorker:
    """Factory of an ElementsWorker publishing `per_element` transcriptions per element."""

    @staticmethod
    def build(per_element: int):
        from arkindex_worker.worker import ElementsWorker

        class Worker(ElementsWorker):
            def process_element(self, element) -> None:
                self.create_transcriptions(
                    [
                        {
                            "element_id": str(element.id),
                            "text": f"benchmark text {n}",
                            "confidence": 0.5,
                        }
                        for n in range(per_element)
                    ]
                )

        return Worker(support_cache=True)


def run_offline_loop(workdir: Path, part: str) -> int:
    """A whole offline run: each element publishes its transcriptions in one call."""
    elements, per_element = OFFLINE_RUNS[part]
    database = workdir / "offline" / "run.sqlite"
    shutil.copyfile(workdir / "offline" / f"{elements}.sqlite", database)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    logging.getLogger("arkindex_worker").setLevel(logging.WARNING)
    sys.argv = ["benchmark", "--dev", "--database", str(database)]
    _BulkWorker.build(per_element).run()
    connection = sqlite3.connect(database)
    rows = connection.execute("SELECT COUNT(*) FROM transcriptions").fetchone()[0]
    connection.close()
    return rows - elements


PARTS = {
    "merge": run_merge,
    "read": run_read,
    "offline-bulk": run_offline_bulk,
    "offline-single": run_offline_single,
}
OFFLINE_BULK_ROWS = 100_000
OFFLINE_SINGLE_ROWS = 10_000
# Whole offline runs: part name -> (elements, transcriptions per element)
OFFLINE_RUNS = {
    "offline-run-100000": (1, 100_000),
    "offline-run-100": (1_000, 100),
    "offline-run-10": (10_000, 10),
}
for _name in OFFLINE_RUNS:
    PARTS[_name] = functools.partial(run_offline_loop, part=_name)


def measure(part: str, workdir: Path, trace: bool) -> dict:
    """Run one part in this process; return its rows, time and peak memory."""
    if trace:
        tracemalloc.start()
    start, cpu = time.perf_counter(), time.process_time()
    rows = PARTS[part](workdir)
    seconds = time.perf_counter() - start
    result = {"rows": rows, "seconds": seconds}
    # CPU time (user + system) of the process: stable on a loaded machine
    result["cpu"] = time.process_time() - cpu
    if trace:
        result["python"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # ru_maxrss is in kilobytes on Linux.
    result["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return result


def run_in_subprocess(part: str, workdir: Path, trace: bool) -> dict:
    """Run `measure(part)` in a fresh interpreter, for an honest peak memory."""
    command = [sys.executable, __file__, "--part", part, "--workdir", str(workdir)]
    if trace:
        command.append("--trace")
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(output.stdout.splitlines()[-1])


def measure_in_subprocesses(part: str, workdir: Path) -> dict:
    """Time and RSS of an untraced run, plus the Python peak of a traced run."""
    result = run_in_subprocess(part, workdir, trace=False)
    result["python"] = run_in_subprocess(part, workdir, trace=True)["python"]
    return result


def report(label: str, result: dict) -> None:
    """Print one measured part."""
    mib = 1024 * 1024
    print(
        f"{label}: {result['rows']:,} rows in {result['seconds']:.2f} s "
        f"({result['rows'] / result['seconds']:,.0f} rows/s, "
        f"{result['cpu']:.2f} s of CPU); "
        f"peak Python memory {result['python'] / mib:.2f} MiB, "
        f"peak RSS {result['rss'] / mib:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small size")
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.part:
        print(json.dumps(measure(args.part, args.workdir, args.trace)))
        return

    elements, initial = (10_000, 1_000) if args.quick else (1_000_000, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        build(workdir, elements, initial)
        print(
            f"Built {len(PARENT_FILES)} parent databases with {elements:,} elements "
            f"and {elements:,} transcriptions in {time.perf_counter() - start:.2f} s"
        )
        report("merge_parents_cache", measure_in_subprocesses("merge", workdir))
        report(
            f"read {initial:,} initial elements",
            measure_in_subprocesses("read", workdir),
        )
        for part, label in (
            ("offline-bulk", "create_transcriptions offline"),
            ("offline-single", "create_transcription offline, one call each"),
        ):
            report(label, measure_in_subprocesses(part, workdir))
        build_offline_runs(workdir)
        for part, (count, per_element) in OFFLINE_RUNS.items():
            label = (
                f"offline run, {count:,} element{'s' if count > 1 else ''} x "
                f"{per_element:,} transcriptions (one create_transcriptions call each)"
            )
            report(label, measure_in_subprocesses(part, workdir))


if __name__ == "__main__":
    main()
