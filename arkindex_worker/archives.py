"""Safe extraction of tar archives: every member is checked by us.

[extract_tar_archive][arkindex_worker.utils.extract_tar_archive] (and so
`extract_tar_zst_archive`) extract through [safe_extract][arkindex_worker.archives.safe_extract],
which does not rely on `tarfile`'s extraction filters (Python 3.10.0 to 3.10.11
have none). Every member is checked before anything is written; the archive
is refused with an `UnsafeArchiveError` naming the member when one:

- has an absolute name, an empty name or a ``..`` component;
- is a device file, a FIFO or any other kind than a file, a directory or a link;
- is a symbolic link whose target, resolved through the links of the members
  before it, lies outside the destination, or goes up (``..``) from a folder
  that does not exist yet (a later link could make it lead elsewhere);
- is a hard link to anything but an earlier regular file of the archive;
- would replace an earlier link, or turn a file into a folder or back.

Members are written where they resolve to, never through a link of the
filesystem. Modes are kept without the setuid, setgid and sticky bits nor
write permission for group and others (stripped, not refused: archives made
as root commonly hold them); owners are never changed.

The members are extracted into a new folder next to the destination, which
then takes its place (inside an existing destination, into which its entries
are then moved): a refused archive, or one that fails half-way, leaves
nothing behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tarfile
from pathlib import Path

from arkindex_worker.errors import ArchiveError, UnsafeArchiveError

__all__ = ["MAX_LINK_HOPS", "safe_extract"]

MAX_LINK_HOPS = 40
"""Most links followed to resolve one path (as Linux's ``ELOOP`` limit)."""
_KEPT_MODE = 0o755
"""Mode bits kept: no setuid, setgid, sticky, group or other write."""

_FILE, _DIRECTORY, _LINK = "file", "directory", "link"


class _Plan:
    """The tree an archive makes, member after member, checked as it grows.

    Paths are tuples of parts, with no link in them but maybe the last part.
    """

    def __init__(self) -> None:
        self.kinds: dict[tuple[str, ...], str] = {}
        self.links: dict[tuple[str, ...], str] = {}
        self.steps: list[tuple[tarfile.TarInfo, tuple[str, ...], str]] = []

    def resolve(self, start: tuple[str, ...], path: str, follow_last: bool):
        """Where `path`, relative to folder `start`, leads through earlier links."""
        parts = list(start)
        pending = list(reversed(path.split("/")))
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise UnsafeArchiveError("outside the destination")
                if self.kinds.get(tuple(parts)) != _DIRECTORY:
                    raise UnsafeArchiveError(
                        f"up from {'/'.join(parts)!r}, not a folder yet"
                    )
                parts.pop()
                continue
            candidate = (*parts, part)
            target = self.links.get(candidate)
            if target is not None and (pending or follow_last):
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise UnsafeArchiveError("through too many links")
                if target.startswith("/"):
                    raise UnsafeArchiveError("outside the destination")
                pending.extend(reversed(target.split("/")))
                continue
            parts.append(part)
        return tuple(parts)

    def add(self, member: tarfile.TarInfo) -> None:
        """Check one member and plan where it goes.

        Raises:
            UnsafeArchiveError: The member is refused.
        """
        try:
            self._add(member)
        except UnsafeArchiveError as reason:
            raise UnsafeArchiveError(
                f"Refusing to extract archive member {member.name!r}: {reason}"
            ) from None

    def _add(self, member: tarfile.TarInfo) -> None:
        # Raises UnsafeArchiveError with the reason alone; `add` names the member
        name = member.name
        if name.startswith("/") or os.path.isabs(name):
            raise UnsafeArchiveError("its path is absolute")
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise UnsafeArchiveError("its path contains '..'")
        if member.ischr() or member.isblk():
            raise UnsafeArchiveError("it is a device file")
        if member.isfifo():
            raise UnsafeArchiveError("it is a FIFO")
        if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
            raise UnsafeArchiveError("it is not a file, a folder or a link")
        if not parts:
            if member.isdir():
                return  # the destination itself
            raise UnsafeArchiveError("its path is empty")
        try:
            parent = self.resolve((), "/".join(parts[:-1]), follow_last=True)
        except UnsafeArchiveError as reason:
            raise UnsafeArchiveError(f"its folder leads {reason}") from None
        self._make_folders(parent)
        path = (*parent, parts[-1])
        self._place(member, path)

    def _make_folders(self, parent: tuple[str, ...]) -> None:
        for end in range(1, len(parent) + 1):
            folder = parent[:end]
            kind = self.kinds.setdefault(folder, _DIRECTORY)
            if kind != _DIRECTORY:
                raise UnsafeArchiveError(
                    f"{'/'.join(folder)!r} is a {kind}, not a folder"
                )

    def _place(self, member: tarfile.TarInfo, path: tuple[str, ...]) -> None:
        existing = self.kinds.get(path)
        kind = _DIRECTORY if member.isdir() else _LINK if member.issym() else _FILE
        if existing == _LINK or (existing is not None and kind == _LINK):
            raise UnsafeArchiveError("it would replace an earlier member")
        if existing is not None and existing != kind:
            raise UnsafeArchiveError(f"it would turn a {existing} into a {kind}")
        source = ""
        if member.issym():
            target = member.linkname
            try:
                if not target or target.startswith("/") or os.path.isabs(target):
                    raise UnsafeArchiveError("outside the destination")
                self.resolve(path[:-1], target, follow_last=True)
            except UnsafeArchiveError as reason:
                raise UnsafeArchiveError(f"it links to {target!r}, {reason}") from None
            self.links[path] = target
        elif member.islnk():
            try:
                resolved = self.resolve((), member.linkname, follow_last=True)
            except UnsafeArchiveError as reason:
                raise UnsafeArchiveError(
                    f"it links to {member.linkname!r}, {reason}"
                ) from None
            if self.kinds.get(resolved) != _FILE or not resolved:
                raise UnsafeArchiveError(
                    f"it links to {member.linkname!r}, not an earlier file of the archive"
                )
            source = "/".join(resolved)
        self.kinds[path] = kind
        self.steps.append((member, path, source))


def _fresh_folder_for(destination: Path) -> Path:
    """A new folder inside an existing destination, else next to it."""
    if destination.is_dir():
        base = destination
    else:
        base = destination.parent
        base.mkdir(parents=True, exist_ok=True)
    while True:
        folder = base / f".{destination.name}.{secrets.token_hex(6)}.part"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def _write(tar: tarfile.TarFile, plan: _Plan, root: Path) -> None:
    folders = []
    for member, path, source in plan.steps:
        target = root.joinpath(*path)
        for end in range(1, len(path)):
            root.joinpath(*path[:end]).mkdir(exist_ok=True)
        if member.isdir():
            target.mkdir(exist_ok=True)
            folders.append((target, member))
            continue
        if target.is_symlink() or target.is_file():
            target.unlink()
        if member.issym():
            os.symlink(member.linkname, target)
            continue
        if member.islnk():
            os.link(root / source, target)
            continue
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(target, flags, 0o600), "wb") as out:
            data = tar.extractfile(member)
            if data is not None:
                shutil.copyfileobj(data, out)
        os.chmod(target, (member.mode & _KEPT_MODE) | stat.S_IRUSR | stat.S_IWUSR)
        _set_time(target, member)
    # Folders last, deepest first: a read-only folder does not stop its content
    for folder, member in reversed(folders):
        os.chmod(folder, (member.mode & _KEPT_MODE) | stat.S_IRWXU)
        _set_time(folder, member)


def _set_time(path: Path, member: tarfile.TarInfo) -> None:
    try:
        os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)
    except (OSError, OverflowError, ValueError):
        pass  # a time the filesystem cannot hold is not worth refusing the archive


def _move_into(source: Path, destination: Path) -> None:
    """Move the entries of `source` into the existing folder `destination`."""
    for entry in source.iterdir():
        target = destination / entry.name
        into_folder = target.is_dir() and not target.is_symlink()
        if into_folder and entry.is_dir() and not entry.is_symlink():
            _move_into(entry, target)
            continue
        if into_folder:
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(entry, target)


def safe_extract(archive_path: Path, destination: Path) -> None:
    """Extract a tar archive under `destination`, checking every member first.

    Raises:
        UnsafeArchiveError: A member is refused (nothing was written).
        ArchiveError: The archive cannot be read.
    """
    destination = Path(destination)
    try:
        with tarfile.open(archive_path) as tar:
            plan = _Plan()
            for member in tar.getmembers():
                plan.add(member)
            folder = _fresh_folder_for(destination)
            try:
                _write(tar, plan, folder)
                if destination.is_dir():
                    _move_into(folder, destination)
                    shutil.rmtree(folder)  # the folders merged, now empty
                else:
                    os.replace(folder, destination)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
    except tarfile.TarError as e:
        raise ArchiveError(f"Couldn't handle the decompressed Tar archive: {e}") from e
