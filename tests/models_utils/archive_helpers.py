"""Archives built for the archive tests: tar members of every kind."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path


def content_hash(root: Path) -> str:
    """MD5 over the files' bytes in sorted path order, as the spec defines it."""
    hasher = hashlib.md5()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def read_tree(root: Path) -> dict[str, bytes | None]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes() if path.is_file() else None
        for path in root.rglob("*")
    }


def make_tar(path: Path, *members: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def file_member(name: str, data: bytes = b"data") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def link_member(name: str, target: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None
