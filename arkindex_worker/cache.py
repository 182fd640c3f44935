"""The local SQLite cache: peewee models, set-up, version checks and merging.

The cache mirrors the part of the Arkindex data a worker reads and writes. The
module-level [db][arkindex_worker.cache.db] is deferred: it points at a file
only once [init_cache_db][arkindex_worker.cache.init_cache_db] ran.

Exceptions raised for cache files that cannot be used (defined in
`arkindex_worker.errors`)::

    ArkindexWorkerError, AssertionError
     └── CacheDatabaseError   missing file, not SQLite, wrong version, bad columns
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee

from arkindex_worker import iiif, image_io, logger, prefetch
from arkindex_worker.errors import CacheDatabaseError, OfflineWriteRejected
from arkindex_worker.geometry import polygon_bounding_box

__all__ = [
    "MODELS",
    "SQL_VERSION",
    "CacheDatabaseError",
    "CachedClassification",
    "CachedDataset",
    "CachedDatasetElement",
    "CachedElement",
    "CachedEntity",
    "CachedImage",
    "CachedTranscription",
    "CachedTranscriptionEntity",
    "InitialElementsQuery",
    "JSONField",
    "Version",
    "cache_write",
    "check_version",
    "create_tables",
    "create_version_table",
    "db",
    "init_cache_db",
    "initial_elements",
    "insert_rows",
    "merge_parents_cache",
    "reject_failed_writes",
    "unsupported_cache",
]

SQL_VERSION = 3
"""Version of the cache schema; bump it whenever the DDL changes."""

db = peewee.SqliteDatabase(None)
"""The deferred cache database, initialised by `init_cache_db`."""

# The database on which a rejected write-through is an error (offline), if any
_rejecting: dict[str, Any] = {"database": None}

# Page cache of the merge connection, in KiB.
_MERGE_CACHE_KIB = 64 * 1024


class JSONField(peewee.Field):
    """A TEXT column holding any JSON-serialisable value."""

    field_type = "text"

    def db_value(self, value: Any) -> str | None:
        """Serialise `value` to JSON (`None` stays NULL)."""
        if value is None:
            return None
        return json.dumps(value)

    def python_value(self, value: str | None) -> Any:
        """Parse the stored JSON (NULL gives `None`)."""
        if value is None:
            return None
        return json.loads(value)


class Version(peewee.Model):
    """The single-row table holding the cache schema version."""

    version = peewee.IntegerField(primary_key=True)

    class Meta:
        database = db
        table_name = "version"


class CachedImage(peewee.Model):
    """An IIIF image of an element."""

    id = peewee.UUIDField(primary_key=True)
    width = peewee.IntegerField()
    height = peewee.IntegerField()
    url = peewee.TextField()

    class Meta:
        database = db
        table_name = "images"


class CachedElement(peewee.Model):
    """An Arkindex element."""

    id = peewee.UUIDField(primary_key=True)
    parent_id = peewee.UUIDField(null=True)
    type = peewee.CharField(max_length=50)
    image = peewee.ForeignKeyField(CachedImage, backref="elements", null=True)
    polygon = JSONField(null=True)
    rotation_angle = peewee.IntegerField(default=0)
    mirrored = peewee.BooleanField(default=False)
    initial = peewee.BooleanField(default=False)
    worker_version_id = peewee.UUIDField(null=True)
    worker_run_id = peewee.UUIDField(null=True)
    confidence = peewee.FloatField(null=True)

    class Meta:
        database = db
        table_name = "elements"

    def open_image(
        self,
        *args: Any,
        max_width: int | None = None,
        max_height: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Open the element's image through IIIF, cropped to its polygon's bounding box.

        Args:
            max_width: resize the full image to at most this width.
            max_height: resize the full image to at most this height.
            *args: passed to `arkindex_worker.image.open_image`.
            **kwargs: passed to `arkindex_worker.image.open_image`.

        Returns:
            The `PIL.Image.Image` returned by `arkindex_worker.image.open_image`.

        Raises:
            ValueError: when the element has no image or no polygon.
        """
        if not self.image_id or not self.polygon:
            raise ValueError(f"Element {self.id} has no image")

        url_of = functools.partial(
            CachedElement._download_url, max_width=max_width, max_height=max_height
        )
        image_io.check_image_url(url_of(self))
        opened = image_io.patchable("open_image")(
            url_of(self),
            *args,
            rotation_angle=self.rotation_angle,
            mirrored=self.mirrored,
            **kwargs,
        )
        # Once this image is served: the next element's may be read ahead
        prefetch.opening(self, url_of)
        return opened

    def _download_url(self, max_width: int | None, max_height: int | None) -> str:
        """The URL `open_image` downloads with these arguments.

        A crop to the polygon's bounding box at full size, or the whole image
        resized within the limits.
        """
        bbox = polygon_bounding_box(self.polygon)
        image = self.image
        if bbox.width != image.width or bbox.height != image.height:
            region, size = iiif.box_region(*bbox), iiif.IIIF_FULL
        else:
            region = iiif.IIIF_FULL
            size = iiif.bounded_size(image.width, image.height, max_width, max_height)
        return iiif.image_request_url(image.url, region, size)


class CachedTranscription(peewee.Model):
    """A transcription on an element."""

    id = peewee.UUIDField(primary_key=True)
    element = peewee.ForeignKeyField(CachedElement, backref="transcriptions")
    text = peewee.TextField()
    confidence = peewee.FloatField(null=True)
    orientation = peewee.CharField(max_length=50)
    worker_version_id = peewee.UUIDField(null=True)
    worker_run_id = peewee.UUIDField(null=True)

    class Meta:
        database = db
        table_name = "transcriptions"


class CachedClassification(peewee.Model):
    """An ML classification on an element."""

    id = peewee.UUIDField(primary_key=True)
    element = peewee.ForeignKeyField(CachedElement, backref="classifications")
    class_name = peewee.TextField()
    confidence = peewee.FloatField()
    state = peewee.CharField(max_length=10)
    worker_run_id = peewee.UUIDField(null=True)

    class Meta:
        database = db
        table_name = "classifications"


class CachedEntity(peewee.Model):
    """A named entity."""

    id = peewee.UUIDField(primary_key=True)
    type = peewee.CharField(max_length=50)
    name = peewee.TextField()
    validated = peewee.BooleanField(default=False)
    metas = JSONField(null=True)
    worker_run_id = peewee.UUIDField(null=True)

    class Meta:
        database = db
        table_name = "entities"


class CachedTranscriptionEntity(peewee.Model):
    """The link between a transcription and an entity found in its text."""

    transcription = peewee.ForeignKeyField(
        CachedTranscription, backref="transcription_entities"
    )
    entity = peewee.ForeignKeyField(CachedEntity, backref="transcription_entities")
    offset = peewee.IntegerField(constraints=[peewee.Check("offset >= 0")])
    length = peewee.IntegerField(constraints=[peewee.Check("length > 0")])
    worker_run_id = peewee.UUIDField(null=True)
    confidence = peewee.FloatField(null=True)

    class Meta:
        database = db
        table_name = "transcription_entities"
        primary_key = peewee.CompositeKey("transcription", "entity")


class CachedDataset(peewee.Model):
    """A dataset (only written by dataset exports)."""

    id = peewee.UUIDField(primary_key=True)
    name = peewee.CharField()
    state = peewee.CharField(constraints=[peewee.SQL("DEFAULT 'open'")])
    sets = peewee.TextField()

    class Meta:
        database = db
        table_name = "datasets"


class CachedDatasetElement(peewee.Model):
    """An element in a set of a dataset (only written by dataset exports)."""

    id = peewee.UUIDField(primary_key=True)
    element = peewee.ForeignKeyField(
        CachedElement, column_name="element_id", field="id"
    )
    dataset = peewee.ForeignKeyField(
        CachedDataset, column_name="dataset_id", field="id"
    )
    set_name = peewee.CharField()

    class Meta:
        database = db
        table_name = "dataset_elements"


MODELS = [
    CachedImage,
    CachedElement,
    CachedTranscription,
    CachedClassification,
    CachedEntity,
    CachedTranscriptionEntity,
    CachedDataset,
    CachedDatasetElement,
]
"""Models of the cache tables, in creation and merge order (`Version` excluded)."""


class InitialElementsQuery(peewee.ModelSelect):
    """A `CachedElement` query that never loads all its rows at once (our addition).

    Iterating runs the query afresh and streams the rows without keeping them
    (peewee's `iterator()`), `len()` runs a `COUNT` and the truth value an
    `EXISTS`. Chained calls (`.order_by()`, `.where()`, …) keep this class.

    !!! note "Differs from upstream"
        Upstream returns a plain peewee query, whose `len()` and truth test load
        every row, and whose iteration caches every row it yields.
    """

    def __iter__(self) -> Iterator[CachedElement]:
        return self.clone().iterator()

    def __len__(self) -> int:
        return self.count()

    def __bool__(self) -> bool:
        return self.exists()


def initial_elements() -> InitialElementsQuery:
    """Lazy query of the cached elements the task must process (our addition).

    Used by `ElementsWorker.get_elements`; rows come in insertion order.
    """
    query = InitialElementsQuery(CachedElement, CachedElement._meta.sorted_fields)
    return query.where(CachedElement.initial == True)  # noqa: E712 (peewee expression)


def init_cache_db(path: Path | str) -> None:
    """Point the module-level `db` at `path` and connect (the file is created if missing).

    Raises:
        peewee.OperationalError: `unable to open database file` when the
            directory does not exist.
    """
    db.init(path, pragmas={"foreign_keys": 1, "ignore_check_constraints": 0})
    _rejecting["database"] = None
    db.connect()
    logger.info(f"Connected to cache on {path}")


def create_tables() -> None:
    """Create the missing cache tables in `db` (existing ones are left untouched)."""
    db.create_tables(MODELS)


def create_version_table() -> None:
    """Create the `version` table of a fresh database and store `SQL_VERSION`.

    Raises:
        peewee.IntegrityError: when the version row already exists.
    """
    db.create_tables([Version])
    Version.create(version=SQL_VERSION)


def _read_version(database: peewee.SqliteDatabase) -> int | None:
    """The version stored in `database` (`None` without a version table or row)."""
    try:
        return Version.get().version
    except (peewee.OperationalError, Version.DoesNotExist):
        return None


def _schema_problems(database: peewee.SqliteDatabase) -> list[str]:
    """Describe each existing cache table whose columns differ from the models'."""
    problems = []
    for model in MODELS:
        table = model._meta.table_name
        actual = [column.name for column in database.get_columns(table)]
        expected = [field.column_name for field in model._meta.sorted_fields]
        # A missing table is fine: create_tables() adds it.
        if not actual or actual == expected:
            continue
        missing = [name for name in expected if name not in actual]
        if missing:
            problems.append(f'table "{table}" lacks columns: {", ".join(missing)}')
        else:
            problems.append(
                f'table "{table}" has columns {", ".join(actual)} '
                f"instead of {', '.join(expected)}"
            )
    return problems


def check_version(cache_path: str | Path) -> None:
    """Check that the file at `cache_path` is a cache database of version `SQL_VERSION`.

    Uses a separate connection (the global `db` is not touched) and writes
    nothing. Also checks that the existing cache tables have the expected columns.

    Raises:
        CacheDatabaseError: when the file does not exist, is not an SQLite
            database, has another cache version (upstream's message) or has
            tables lacking columns.
    """
    if not Path(cache_path).is_file():
        raise CacheDatabaseError(f"The SQLite database {cache_path} does not exist")
    with peewee.SqliteDatabase(cache_path) as database:
        try:
            database.get_tables()
        except peewee.DatabaseError as e:
            raise CacheDatabaseError(
                f"The file {cache_path} is not a valid SQLite database: {e}"
            ) from None
        with database.bind_ctx([Version]):
            version = _read_version(database)
        if version != SQL_VERSION:
            raise CacheDatabaseError(
                f"The SQLite database {cache_path} does not have the correct cache "
                f"version, it should be {SQL_VERSION}"
            )
        problems = _schema_problems(database)
    if problems:
        raise CacheDatabaseError(
            f"The SQLite database {cache_path} is not a valid cache: "
            + "; ".join(problems)
        )


def _create_missing_tables(path: Path | str) -> None:
    """Create the cache tables missing from the database at `path`."""
    with peewee.SqliteDatabase(path) as database, database.bind_ctx(MODELS):
        database.create_tables(MODELS)


def merge_parents_cache(paths: Iterable[Path | str], current_database: Path) -> None:
    """Merge the cache databases of parent tasks into `current_database`, in SQL.

    Each parent is checked with `check_version`, attached, copied table by table
    with `REPLACE INTO … SELECT *` (a row whose primary key already exists is
    replaced, so the last parent in `paths` wins), committed and detached.

    !!! note "Differs from upstream"
        Each parent is detached after its commit, so any number of parents works.

    Raises:
        AssertionError: when `current_database` does not exist.
        CacheDatabaseError: for an unusable parent (see `check_version`); the
            parents before it stay merged.
    """
    current_database = Path(current_database)
    if not current_database.exists():
        raise AssertionError(f"The SQLite database {current_database} does not exist")
    if not paths:
        logger.info("No parents cache to use")
        return

    # Autocommit mode: ATTACH and DETACH cannot run inside a transaction, so
    # each parent's copy is wrapped in an explicit BEGIN/COMMIT instead.
    connection = sqlite3.connect(current_database, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        # 64 MiB of page cache instead of 2 MiB: inserting random UUID keys
        # touches the whole primary-key B-tree; this makes large merges ~40 %
        # faster for a bounded memory cost (this connection only).
        connection.execute(f"PRAGMA cache_size=-{_MERGE_CACHE_KIB}")
        for idx, path in enumerate(paths):
            check_version(path)
            _create_missing_tables(path)
            logger.info(f"Merging parent db {path} into {current_database}")
            _merge_one(connection, str(path), f"source_{idx}")
    finally:
        connection.close()


def _merge_one(connection: sqlite3.Connection, path: str, alias: str) -> None:
    """Copy every cache table of the parent at `path` in one transaction."""
    connection.execute(f"ATTACH DATABASE ? AS {alias}", (path,))
    try:
        connection.execute("BEGIN")
        for model in MODELS:
            table = model._meta.table_name
            connection.execute(
                f'REPLACE INTO "{table}" SELECT * FROM {alias}."{table}"'
            )
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        connection.execute(f"DETACH DATABASE {alias}")


# SQLite caps the variables of one statement (999 before 3.32, 32766 since).
MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def insert_rows(model: type[peewee.Model], rows: Iterable[dict]) -> None:
    """Insert rows, all or none, in as few statements as SQLite allows (our addition).

    One ``insert_many`` statement cannot hold more than a few thousand rows;
    the statements run in one transaction, so an ``IntegrityError`` still
    rejects every row, as one statement would.
    """
    rows = list(rows)
    if not rows:
        return
    per_statement = max(1, MAX_VARIABLES // len(rows[0]))
    with model._meta.database.atomic():
        # Slices, not peewee.chunked: it pads each chunk to its full size
        # (thousands of items) before trimming it, for every call
        for start in range(0, len(rows), per_statement):
            model.insert_many(rows[start : start + per_statement]).execute()


def reject_failed_writes() -> None:
    """Make a write the database rejects an error, on the current database (our addition).

    Used offline, where the database is where results go: the helper then
    fails as a ``400`` answer would online. Until `init_cache_db` opens a
    database again.
    """
    _rejecting["database"] = db.database


@contextmanager
def cache_write(what: str) -> Iterator[None]:
    """Write-through block: an `IntegrityError` only logs a WARNING (our addition).

    The API call already succeeded, so the helper still returns its result;
    ``what`` names the rows in the message, e.g. ``transcriptions``. Offline
    (`reject_failed_writes`), the error is raised instead.

    Raises:
        OfflineWriteRejected: offline, the database rejected the rows.
    """
    try:
        yield
    except peewee.IntegrityError as e:
        if _rejecting["database"] is not None and _rejecting["database"] == db.database:
            raise OfflineWriteRejected(
                f"The database rejected the created {what}: {e}"
            ) from e
        logger.warning(f"Couldn't save created {what} in local cache: {e}")


def unsupported_cache(func: Callable) -> Callable:
    """Decorate a mixin method that does not write to the cache.

    After the method returns, logs a WARNING when `self.use_cache` is truthy,
    except offline, where the offline client stores what these helpers create.
    """

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        result = func(self, *args, **kwargs)
        if self.use_cache and not getattr(self, "is_offline", False):
            logger.warning(
                f"This API helper `{func.__name__}` did not update the cache database"
            )
        return result

    return wrapper
