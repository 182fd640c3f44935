"""A small offline database for tests: the cache schema, a folder, pages and lines.

```python
database = build_offline_database(tmp_path)
worker = arkindex_worker_factory(MyWorker, database.argv)  # --dev --database PATH
```

Every page has an image (a real PNG file next to the database, referenced by
its path relative to the database's folder, so `open_image` works offline) and
every element a polygon. IDs are stable: building twice gives the same rows.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from arkindex_worker.types import Polygon

__all__ = [
    "IMAGE_SIZE",
    "LINES_PER_PAGE",
    "PAGES",
    "OfflineDatabase",
    "build_offline_database",
    "write_png",
]

PAGES = 2
"""Pages in the database, all marked `initial` (processed by default)."""
LINES_PER_PAGE = 2
"""`text_line` children of each page."""
IMAGE_SIZE = (120, 80)
"""Width and height of each page image."""

_NAMESPACE = uuid.UUID("0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")


def _stable_id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(map(str, parts))))


def _rectangle(x: int, y: int, width: int, height: int) -> Polygon:
    right, bottom = x + width, y + height
    return [[x, y], [right, y], [right, bottom], [x, bottom], [x, y]]


def write_png(path: Path, width: int, height: int, gray: int = 255) -> Path:
    """Write a plain grayscale PNG image (no Pillow needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes([gray]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


@dataclass(frozen=True)
class OfflineDatabase:
    """What `build_offline_database` created.

    Attributes:
        path: The SQLite file.
        folder_id: The folder holding the pages (not initial).
        page_ids: The pages, in order; they are the `initial` elements.
        line_ids: The `text_line` children of each page, by page ID.
        image_paths: The PNG file of each page, by page ID.
    """

    path: Path
    folder_id: str
    page_ids: list[str] = field(default_factory=list)
    line_ids: dict[str, list[str]] = field(default_factory=dict)
    image_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def argv(self) -> list[str]:
        """Command line running a worker offline on this database."""
        return ["--dev", "--database", str(self.path)]


def build_offline_database(
    directory: Path | str, name: str = "offline.sqlite"
) -> OfflineDatabase:
    """Create a cache database holding a folder, its pages and their lines.

    The global cache database of `arkindex_worker.cache` is left untouched: the
    models are bound to the new file only while it is built. Image URLs are
    stored relative to the database's folder (``page-1.png``), as offline runs
    resolve them: the folder can be moved or copied as a whole.

    Args:
        directory: Existing directory receiving the database and the images;
            a relative path (``"."``) is relative to the working directory.
        name: File name of the database.

    Raises:
        FileNotFoundError: ``directory`` is not an existing directory.
        FileExistsError: the database file already exists (it is left as is).
        UnsafePathError: ``name`` is not a plain file name.

    When building fails, the files it created are removed.
    """
    from arkindex_worker.validation import plain_name

    directory = Path(directory).resolve()
    if not directory.is_dir():
        raise FileNotFoundError(f"No directory {directory} to build a database in")
    path = directory / plain_name(name, "Database")
    if path.exists():
        raise FileExistsError(f"The database {path} already exists")
    created: list[Path] = [path]
    try:
        return _build(path, created)
    except BaseException:
        for file in created:
            file.unlink(missing_ok=True)
        raise


def _build(path: Path, created: list[Path]) -> OfflineDatabase:
    """Write the database at ``path``; every file written is appended to ``created``."""
    import peewee

    from arkindex_worker.cache import (
        MODELS,
        SQL_VERSION,
        CachedElement,
        CachedImage,
        Version,
    )

    directory = path.parent
    database = peewee.SqliteDatabase(path, pragmas={"foreign_keys": 1})
    width, height = IMAGE_SIZE
    result = OfflineDatabase(path=path, folder_id=_stable_id("folder"))
    with database.bind_ctx([Version, *MODELS]), database:
        database.create_tables([Version, *MODELS])
        Version.create(version=SQL_VERSION)
        CachedElement.create(id=result.folder_id, type="folder")
        for page in range(1, PAGES + 1):
            page_id = _stable_id("page", page)
            image_path = directory / f"page-{page}.png"
            if not image_path.exists():
                created.append(image_path)
            write_png(image_path, width, height)
            image = CachedImage.create(
                id=_stable_id("image", page),
                width=width,
                height=height,
                url=image_path.name,
            )
            CachedElement.create(
                id=page_id,
                parent_id=result.folder_id,
                type="page",
                image=image.id,
                polygon=_rectangle(0, 0, width, height),
                initial=True,
            )
            result.page_ids.append(page_id)
            result.image_paths[page_id] = image_path
            result.line_ids[page_id] = []
            line_height = height // (LINES_PER_PAGE + 1)
            for line in range(LINES_PER_PAGE):
                line_id = _stable_id("line", page, line)
                CachedElement.create(
                    id=line_id,
                    parent_id=page_id,
                    type="text_line",
                    image=image.id,
                    polygon=_rectangle(
                        10, 10 + line * line_height, width - 20, line_height - 5
                    ),
                )
                result.line_ids[page_id].append(line_id)
    return result
