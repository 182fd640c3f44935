"""Offline runs: a run id, element claims and one transaction per element (our addition).

An offline run (``--dev --database PATH``) records in the database itself what
it did, in two tables of its own next to the 0.4 cache tables (which stay
untouched; `check_version` ignores extra tables):

- ``offline_runs`` ([RunRecord][arkindex_worker.offline_runs.RunRecord]): one
  row per run, with its start, end, worker and counts;
- ``offline_element_states``
  ([ElementState][arkindex_worker.offline_runs.ElementState]): the state of
  each element a run took: ``claimed``, ``processed`` or ``failed``.

Each element is first **claimed**, in a short write transaction
(``BEGIN IMMEDIATE``, waiting up to `BUSY_TIMEOUT` for other processes), so
that several processes sharing one database never take the same element. Its
writes then go into **one transaction**, begun at its first publication and
committed when the element ends, together with its ``processed`` state and the
run id stamped on the rows it inserted: a failed or killed element leaves none
of its writes. Between elements no transaction stays open, so other processes
claim and commit in turn.

The database runs in WAL mode during the run, checkpointed every
`CHECKPOINT_EVERY` commits and truncated at exit, where it goes back to a
single file.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import peewee

from arkindex_worker import logger, run_logger
from arkindex_worker.cache import db
from arkindex_worker.errors import DatabaseFull

__all__ = [
    "BUSY_TIMEOUT",
    "CHECKPOINT_EVERY",
    "ElementState",
    "OfflineRun",
    "RunRecord",
    "element_transaction",
    "is_disk_full",
    "prepare_database",
]

BUSY_TIMEOUT = 60.0
"""Seconds a process waits for another one's write transaction before failing."""

CHECKPOINT_EVERY = 100
"""Commits between two passive WAL checkpoints."""

# Once checkpointed, a WAL larger than this is truncated back to it (bytes)
_WAL_SIZE_LIMIT = 4 * 1024 * 1024

# Tables whose rows get the run id: those with a worker_run_id column
_RUN_ID_TABLES = (
    "elements",
    "transcriptions",
    "classifications",
    "entities",
    "transcription_entities",
    "offline_metadata",
)

_DISK_FULL = "database or disk is full"
_ROLLED_BACK = "The element's transaction was rolled back by the database"

# Free bytes under which each commit is checkpointed
_LOW_SPACE = 64 * 1024 * 1024


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RunRecord(peewee.Model):
    """A row of ``offline_runs``: one offline run on the database."""

    id = peewee.UUIDField(primary_key=True)
    worker = peewee.TextField()
    hostname = peewee.TextField()
    pid = peewee.IntegerField()
    started_at = peewee.TextField()
    ended_at = peewee.TextField(null=True)
    rerun = peewee.BooleanField(default=False)
    processed = peewee.IntegerField(default=0)
    failed = peewee.IntegerField(default=0)
    skipped = peewee.IntegerField(default=0)

    class Meta:
        database = db
        table_name = "offline_runs"


class ElementState(peewee.Model):
    """A row of ``offline_element_states``: what the last run that took an element did."""

    element_id = peewee.UUIDField(primary_key=True)
    state = peewee.CharField(max_length=10)
    run_id = peewee.UUIDField(index=True)
    updated_at = peewee.TextField()
    error = peewee.TextField(null=True)

    class Meta:
        database = db
        table_name = "offline_element_states"


def prepare_database() -> None:
    """Settings of the offline connection: busy timeout, WAL, checkpoints.

    Every element commits: WAL with ``synchronous=NORMAL`` keeps a commit
    cheap and stays safe on crashes (a commit is lost on a power cut at worst,
    never half applied).
    """
    db.execute_sql(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    db.pragma("journal_mode", "wal")
    db.pragma("synchronous", "normal")
    db.pragma("journal_size_limit", _WAL_SIZE_LIMIT)


def is_disk_full(error: BaseException | None) -> bool:
    """Whether SQLite's ``database or disk is full`` caused ``error`` (or its context)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        operational = peewee.OperationalError | sqlite3.OperationalError
        if isinstance(error, operational) and _DISK_FULL in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _dashed(value: Any) -> str:
    """A stored ID as the log prints it (unchanged when it is not a UUID)."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _run_alive(run: RunRecord, dead: set) -> bool:
    """Whether a run may still be going on (its claims then hold)."""
    if run.ended_at is not None or str(run.id) in dead:
        return False
    if run.hostname != platform.node():
        # Cannot be checked from here: its claims are respected
        return True
    # A value from the database: only a plausible process ID is looked up
    if not isinstance(run.pid, int) or run.pid <= 0 or run.pid == os.getpid():
        return False
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OfflineRun:
    """One offline run on the bound database: its id, claims and element transactions.

    Args:
        worker: name of the worker, recorded in ``offline_runs``.
        rerun: process again the elements earlier runs processed (``--rerun``).
    """

    def __init__(self, worker: str, rerun: bool = False) -> None:
        self.id = str(uuid.uuid4())
        self._hex = uuid.UUID(self.id).hex
        self.worker = worker
        self.rerun = rerun
        self.path = db.database
        self.processed = 0
        self.failed = 0
        self.skipped = 0
        self._started = False
        self._dead_runs: set = set()
        self._element: Any = None
        self._open = False
        self._began = False
        self._marks: dict[str, int] = {}
        self._tables: list[str] = []
        self._commits = 0

    def __repr__(self) -> str:
        return f"<OfflineRun {self.id} on {self.path!r}>"

    # --- the run ---------------------------------------------------------------

    def processed_ids(self, element_ids: Iterable[str]) -> set[str]:
        """Those of ``element_ids`` (hex, as stored) that an earlier run processed."""
        if not db.table_exists(ElementState._meta.table_name):
            return set()
        done = set()
        for chunk in peewee.chunked(list(element_ids), 500):
            query = ElementState.select(ElementState.element_id).where(
                ElementState.element_id.in_(chunk),
                ElementState.state == "processed",
            )
            done.update(row.element_id.hex for row in query)
        return done

    def start(self) -> None:
        """Create the run's tables when missing and record the run; logs its id."""
        if self._started:
            return
        self._guard(self._record_start)
        self._started = True
        run_logger.info(
            f"Offline run {self.id} on {self.path} "
            "(results carry this id in their worker_run_id columns)"
        )

    def _record_start(self) -> None:
        with db.atomic("IMMEDIATE"):
            db.create_tables([RunRecord, ElementState])
            RunRecord.create(
                id=self.id,
                worker=self.worker,
                hostname=platform.node(),
                pid=os.getpid(),
                started_at=_now(),
                rerun=self.rerun,
            )
        self._tables = [t for t in _RUN_ID_TABLES if db.table_exists(t)]
        self._committed()

    def finish(self) -> None:
        """Record the end of the run and its counts (errors are ignored: at exit)."""
        if not self._started or db.is_closed() or db.database != self.path:
            return
        self._started = False
        try:
            self._end_transaction(commit=False)
            with db.atomic("IMMEDIATE"):
                self._save_counts(ended_at=_now())
        except Exception as e:
            logger.debug(f"Could not record the end of offline run {self.id}: {e}")
            return
        # DEBUG: the run's summary stays its last line; the counts are in offline_runs
        logger.debug(
            f"Offline run {self.id}: {self.processed} processed, "
            f"{self.failed} failed, {self.skipped} skipped"
        )

    def _save_counts(self, ended_at: str | None = None) -> None:
        db.execute_sql(
            "UPDATE offline_runs SET processed = ?, failed = ?, skipped = ?, "
            "ended_at = coalesce(?, ended_at) WHERE id = ?",
            (self.processed, self.failed, self.skipped, ended_at, self._hex),
        )

    # --- claims ------------------------------------------------------------------

    def claim(self, element_id: Any) -> bool:
        """Take an element for this run; False when it is not to be processed.

        Not to be processed: processed by an earlier run (unless ``rerun``), or
        taken by a run that is still going on (this one included).
        """
        self.start()
        return self._guard(self._claim, str(element_id))

    # The statements run for every element are plain SQL: building peewee
    # queries would cost more than running them

    def _claim(self, element_id: str) -> bool:
        stored = uuid.UUID(element_id).hex
        with db.atomic("IMMEDIATE"):
            row = db.execute_sql(
                "SELECT state, run_id FROM offline_element_states WHERE element_id = ?",
                (stored,),
            ).fetchone()
            reason = self._taken(*row) if row else None
            if reason:
                self.skipped += 1
                self._save_counts()
            else:
                self._set_state(stored, "claimed")
        self._committed()
        if reason:
            logger.info(f"Skipping element {element_id}: {reason}")
        return not reason

    def _taken(self, state: str, run_id: str) -> str | None:
        """Why an element in ``state`` by run ``run_id`` is not for this run (`None`: it is)."""
        if run_id == self._hex:
            return "already taken by this run"
        run = RunRecord.get_or_none(RunRecord.id == run_id)
        if run is not None and _run_alive(run, self._dead_runs):
            verb = "processed" if state == "processed" else "taken"
            return f"{verb} by run {run.id}, still running"
        self._dead_runs.add(_dashed(run_id))
        if state == "processed" and not self.rerun:
            return (
                f"already processed by run {_dashed(run_id)} "
                "(--rerun processes it again)"
            )
        return None

    # --- the element's transaction -------------------------------------------------

    @contextmanager
    def element(self, element: Any) -> Iterator[bool]:
        """Claim an element, then run its processing in one transaction.

        Yields whether the element was claimed (when not, skip it). The
        transaction begins at the element's first write
        ([writing][arkindex_worker.offline_runs.OfflineRun.writing]) and is
        committed with its ``processed`` state when the block ends; an error
        rolls everything back and records ``failed``.

        Raises:
            DatabaseFull: the database or its disk is full (the run stops).
        """
        if not self.claim(element.id):
            yield False
            return
        self._element = element
        try:
            yield True
            self._guard(self._commit_element, element)
        except Exception as error:
            self._guard(self._end_transaction, commit=False)
            if is_disk_full(error):
                self._stop(error)
            self._guard(self._mark_failed, element, error)
            raise
        except BaseException:
            # Interrupted: the claim stays, a rerun takes the element again
            self._end_transaction(commit=False)
            raise
        finally:
            self._element = None

    def writing(self) -> None:
        """Begin the element's write transaction before its first write (else nothing).

        Raises:
            peewee.OperationalError: the database rolled the transaction back
                (after some errors, SQLite does): the next writes would be
                committed on their own.
        """
        if self._element is None:
            return
        if not self._open:
            self._guard(self._begin)
        elif self._began and not db.connection().in_transaction:
            raise peewee.OperationalError(_ROLLED_BACK)

    def _begin(self) -> None:
        self._began = db.transaction_depth() == 0
        if self._began:
            db.begin("IMMEDIATE")
        # Nested atomic blocks become savepoints of this transaction
        db.push_transaction(db.transaction())
        self._open = True
        self._marks = self._last_rowids()

    def _last_rowids(self) -> dict[str, int]:
        """The last rowid of each table with a worker_run_id column, in one query."""
        if not self._tables:
            return {}
        columns = ", ".join(
            f'(SELECT max(rowid) FROM "{table}")' for table in self._tables
        )
        values = db.execute_sql(f"SELECT {columns}").fetchone()
        return {table: value or 0 for table, value in zip(self._tables, values)}

    def _end_transaction(self, commit: bool) -> None:
        if not self._open:
            return
        self._open = False
        db.pop_transaction()
        if not self._began:
            return
        if not db.connection().in_transaction:
            if commit:
                raise peewee.OperationalError(_ROLLED_BACK)
            return
        if not commit:
            db.rollback()
            return
        try:
            db.commit()
        except Exception:
            if db.connection().in_transaction:
                db.rollback()
            raise

    def _commit_element(self, element: Any) -> None:
        self.writing()
        for table, last in self._last_rowids().items():
            mark = self._marks[table]
            if last > mark:
                # Rows inserted since the element's first write: this run's
                db.execute_sql(
                    f'UPDATE "{table}" SET worker_run_id = ? WHERE rowid > ?',
                    (self._hex, mark),
                )
        self._set_state(uuid.UUID(str(element.id)).hex, "processed")
        self.processed += 1
        self._save_counts()
        try:
            self._end_transaction(commit=True)
        except Exception:
            self.processed -= 1
            raise
        self._committed()

    def _mark_failed(self, element: Any, error: Exception) -> None:
        self.failed += 1
        with db.atomic("IMMEDIATE"):
            self._set_state(
                uuid.UUID(str(element.id)).hex,
                "failed",
                f"{type(error).__name__}: {error}",
            )
            self._save_counts()
        self._committed()

    def _set_state(self, element_id: str, state: str, error: str | None = None) -> None:
        db.execute_sql(
            "REPLACE INTO offline_element_states "
            "(element_id, state, run_id, updated_at, error) VALUES (?, ?, ?, ?, ?)",
            (element_id, state, self._hex, _now(), error),
        )

    # --- checkpoints and the disk -----------------------------------------------------

    def _committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 or self._low_space():
            db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def _low_space(self) -> bool:
        """Whether the disk is nearly full: then every commit is checkpointed.

        So that the database file alone holds every finished element when the
        disk fills up in the middle of the next one.
        """
        try:
            stat = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        except OSError:
            return False
        return stat.f_bavail * stat.f_frsize < _LOW_SPACE

    def _guard(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``function``; a full disk stops the run."""
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if is_disk_full(error):
                self._stop(error)
            raise

    def _stop(self, error: BaseException) -> None:
        try:
            self._end_transaction(commit=False)
        except Exception:
            pass
        logger.error(f"Stopping: {_DISK_FULL} ({self.path})")
        raise DatabaseFull() from error

    def close(self) -> None:
        """End the run, checkpoint the WAL into the database file and leave WAL mode.

        Another process still using the database keeps WAL mode; the last one
        out switches back to a single file.
        """
        self.finish()
        if db.is_closed() or db.database != self.path:
            return
        try:
            self._end_transaction(commit=False)
            db.execute_sql("PRAGMA busy_timeout = 0")
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.pragma("journal_mode", "delete")
        except Exception as e:
            logger.debug(f"The database stays in WAL mode: {e}")


@contextmanager
def element_transaction(worker: Any, element: Any) -> Iterator[bool]:
    """The element's claim and transaction when ``worker`` runs offline.

    Yields whether to process the element: always True online, where nothing
    changes.
    """
    run = getattr(worker, "offline_run", None)
    if run is None or not getattr(worker, "is_offline", False):
        yield True
        return
    with run.element(element) as claimed:
        yield claimed
