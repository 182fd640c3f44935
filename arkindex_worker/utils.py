"""Small helpers: plurals, source filters, archives and batching.

The ``.zst`` helpers need the optional ``zstandard`` package (extra ``zstd``),
imported only when one of them is called.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from arkindex_worker import generation
from arkindex_worker.archives import safe_extract
from arkindex_worker.errors import ArchiveError, UnsafeArchiveError
from arkindex_worker.validation import check_int

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_BATCH_SIZE",
    "MANUAL_SOURCE",
    "UnsafeArchiveError",
    "batch_publication",
    "close_delete_file",
    "create_tar_archive",
    "create_tar_zst_archive",
    "create_zip_archive",
    "decompress_zst_archive",
    "extract_tar_archive",
    "extract_tar_zst_archive",
    "make_batches",
    "parse_source_id",
    "pluralize",
    "tar_zst_archive",
    "zstd_compress",
]

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024
"""Bytes read at a time when hashing files."""

DEFAULT_BATCH_SIZE = 50
"""Default number of objects per bulk API call."""

MANUAL_SOURCE = "manual"
"""Source filter value meaning "created by hand, not by a worker"."""

_IRREGULAR_PLURALS = {
    "child": "children",
    "class": "classes",
    "entity": "entities",
    "metadata": "metadata",
}

_Function = TypeVar("_Function", bound=Callable[..., Any])


def pluralize(singular: str, count: int) -> str:
    """Plural of ``singular`` unless ``count`` is 1 (``pluralize("child", 2) == "children"``)."""
    if count == 1:
        return singular
    return _IRREGULAR_PLURALS.get(singular, f"{singular}s")


def parse_source_id(value: str | None) -> bool | str | None:
    """Turn a source filter into its API value.

    ``"manual"`` gives ``False`` (manual objects only), an empty value ``None``
    (no filter), anything else is returned unchanged.
    """
    if value == MANUAL_SOURCE:
        return False
    return value or None


# ---------------------------------------------------------------- archives


def _zstandard() -> ModuleType:
    try:
        import zstandard
    except ImportError as e:
        raise ImportError(
            "Zstandard archives need the optional zstandard package: "
            "pip install arkindex-worker-sdk[zstd]"
        ) from e
    return zstandard


def _new_temp_file(suffix: str) -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(prefix="teklia-", suffix=suffix)
    return fd, Path(name)


def _md5_of_files(paths: Sequence[Path]) -> str:
    """MD5 of the bytes of ``paths``, read in order, ``CHUNK_SIZE`` at a time."""
    hasher = hashlib.md5()
    for path in paths:
        with path.open("rb") as f:
            for chunk in iter(lambda f=f: f.read(CHUNK_SIZE), b""):
                hasher.update(chunk)
    return hasher.hexdigest()


def close_delete_file(file_descriptor: int | None, file_path: Path) -> None:
    """Close ``file_descriptor`` (unless ``None``) and delete ``file_path``.

    An ``OSError`` is logged as a warning, never raised.
    """
    try:
        if file_descriptor is not None:
            os.close(file_descriptor)
        file_path.unlink()
    except OSError as e:
        logger.warning(f"Unable to delete file {file_path}: {e}")


def decompress_zst_archive(compressed_archive: Path) -> tuple[int, Path]:
    """Decompress a ``.zst`` file into a new temporary ``.tar`` file.

    Returns:
        The descriptor and path of the temporary file; delete it with
        [close_delete_file][arkindex_worker.utils.close_delete_file].
    """
    zstandard = _zstandard()
    fd, name = tempfile.mkstemp(suffix=".tar")
    archive_path = Path(name)
    logger.debug(f"Uncompressing file to {archive_path}")
    try:
        with (
            open(compressed_archive, "rb") as source,
            archive_path.open("wb") as destination,
            zstandard.ZstdDecompressor().stream_reader(
                source, read_across_frames=True
            ) as reader,
        ):
            shutil.copyfileobj(reader, destination)
    except zstandard.ZstdError as e:
        close_delete_file(fd, archive_path)
        raise ArchiveError(f"Couldn't uncompressed archive: {e}") from e
    logger.debug(f"Successfully uncompressed archive {compressed_archive}")
    return fd, archive_path


def extract_tar_archive(archive_path: Path, destination: Path) -> None:
    """Extract every member of a tar archive under ``destination``.

    !!! note "Differs from upstream"
        Every member is checked first, by us on every Python version (see
        `arkindex_worker.archives`): absolute names, ``..`` components, links
        leading outside, device files and FIFOs are refused; setuid, setgid
        and sticky bits are stripped. The members are extracted next to
        ``destination``, then moved into place: a refused archive leaves
        nothing behind.

    Raises:
        UnsafeArchiveError: a member is refused (nothing was written).
        ArchiveError: the archive cannot be read.
    """
    safe_extract(archive_path, destination)


def extract_tar_zst_archive(
    compressed_archive: Path, destination: Path
) -> tuple[int, Path]:
    """Decompress a ``.tar.zst`` archive and extract it under ``destination``.

    Returns:
        The descriptor and path of the intermediate tar file, still on disk.
    """
    fd, archive_path = decompress_zst_archive(compressed_archive)
    try:
        extract_tar_archive(archive_path, destination)
    except BaseException:
        close_delete_file(fd, archive_path)
        raise
    return fd, archive_path


def zstd_compress(
    source: Path, destination: Path | None = None
) -> tuple[int | None, Path, str]:
    """Compress the file ``source`` with zstd (level 3).

    Args:
        source: file to compress.
        destination: output path; a new ``teklia-*.tar.zst`` temporary file
            when omitted.

    Returns:
        The descriptor of the temporary file (``None`` when ``destination`` was
        given), the output path and the MD5 of the compressed bytes.
    """
    zstandard = _zstandard()
    fd = None
    if destination is None:
        fd, destination = _new_temp_file(".tar.zst")
    try:
        with open(source, "rb") as src, destination.open("wb") as dst:
            # Recording the size in the frame lets simple readers decompress it.
            zstandard.ZstdCompressor(level=3).copy_stream(
                src, dst, size=os.fstat(src.fileno()).st_size
            )
    except zstandard.ZstdError as e:
        raise ArchiveError(f"Couldn't compress archive: {e}") from e
    return fd, destination, _md5_of_files([destination])


def _archive_tuples_0_6() -> bool:
    """Generation 0.6 archive helpers return no content hash (spec 15 §16)."""
    return generation.current().name == generation.GENERATION_0_6.name


def create_tar_archive(
    path: Path, destination: Path | None = None
) -> tuple[int | None, Path, str] | tuple[int | None, Path]:
    """Create an uncompressed tar archive of the directory ``path``.

    Returns:
        The descriptor of the temporary file (``None`` when ``destination`` was
        given), the archive path and the content hash: the MD5 of the bytes of
        every regular file, in sorted path order (independent of tar metadata).
        Under generation 0.6, the descriptor and the path only.
    """
    result = _tar_archive(path, destination)
    return result[:2] if _archive_tuples_0_6() else result


def _tar_archive(
    path: Path, destination: Path | None = None
) -> tuple[int | None, Path, str]:
    fd = None
    if destination is None:
        fd, destination = _new_temp_file(".tar")
    files = []
    try:
        with tarfile.open(destination, "w") as tar:
            for entry in sorted(path.rglob("*")):
                tar.add(entry, arcname=entry.relative_to(path), recursive=False)
                if entry.is_file():
                    files.append(entry)
    except tarfile.TarError as e:
        raise ArchiveError(f"Couldn't create Tar archive: {e}") from e
    return fd, destination, _md5_of_files(sorted(files))


def create_tar_zst_archive(
    source: Path, destination: Path | None = None
) -> tuple[int | None, Path, str, str] | tuple[int | None, Path, str]:
    """Create a zstd-compressed tar archive of the directory ``source``.

    Returns:
        The descriptor of the temporary file (``None`` when ``destination`` was
        given), the archive path, the MD5 of the archive and the content hash of
        [create_tar_archive][arkindex_worker.utils.create_tar_archive]. Under
        generation 0.6, without the content hash.
    """
    result = tar_zst_archive(source, destination)
    return result[:3] if _archive_tuples_0_6() else result


def tar_zst_archive(
    source: Path, destination: Path | None = None
) -> tuple[int | None, Path, str, str | None]:
    """`create_tar_zst_archive`'s 4-tuple, whatever the generation.

    The content hash is ``None`` under generation 0.6, whose `create_tar_archive`
    computes none.
    """
    tar_fd, tar_path, *content_hash = create_tar_archive(source)
    tar_hash = content_hash[0] if content_hash else None
    try:
        zst_fd, zst_path, zst_hash = zstd_compress(tar_path, destination)
    finally:
        close_delete_file(tar_fd, tar_path)
    return zst_fd, zst_path, zst_hash, tar_hash


def create_zip_archive(
    source: Path, destination: Path | None = None
) -> tuple[zipfile.ZipFile, Path]:
    """Create a deflated zip archive of the directory ``source``.

    Args:
        source: directory to archive; names are relative to it.
        destination: output path; a new ``teklia-*.zip`` temporary file when omitted.

    Returns:
        The (closed) ``ZipFile`` object and the archive path.
    """
    if destination is None:
        fd, destination = _new_temp_file(".zip")
        os.close(fd)
    with zipfile.ZipFile(
        destination, "w", compression=zipfile.ZIP_DEFLATED
    ) as zip_file:
        for entry in sorted(source.rglob("*")):
            zip_file.write(entry, arcname=entry.relative_to(source))
    return zip_file, destination


# ---------------------------------------------------------------- batching


def batch_publication(func: _Function) -> _Function:
    """Check the ``batch_size`` argument of a publication method before calling it.

    Raises:
        AssertionError: ``batch_size`` (default applied) is not a strictly
            positive integer.
    """
    parameters = list(inspect.signature(func).parameters.values())
    names = [parameter.name for parameter in parameters]
    position = names.index("batch_size")
    parameter = parameters[position]
    positional = parameter.kind is not inspect.Parameter.KEYWORD_ONLY

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "batch_size" in kwargs:
            batch_size = kwargs["batch_size"]
        elif positional and len(args) > position:
            batch_size = args[position]
        else:
            batch_size = parameter.default
        check_int(
            batch_size,
            "batch_size shouldn't be null and should be a strictly positive integer",
            minimum=1,
        )
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def make_batches(
    objects: Sequence, singular_name: str, batch_size: int
) -> Generator[Sequence, None, None]:
    """Yield consecutive slices of at most ``batch_size`` objects, logging each.

    The lines stay INFO records (spec 13); with a single batch they are marked
    as detail, which `run_worker`'s console shows only with debug output.
    """
    count = len(objects)
    detail = {"arkindex_detail": count <= batch_size}
    logger.info(
        f"Creating batches of size {batch_size} to process {count} {pluralize(singular_name, count)}",
        extra=detail,
    )
    for index, start in enumerate(range(0, count, batch_size), start=1):
        batch = objects[start : start + batch_size]
        logger.info(
            f"Processing batch {index} containing {len(batch)} {pluralize(singular_name, len(batch))}...",
            extra=detail,
        )
        yield batch
