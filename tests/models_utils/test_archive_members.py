"""Our own checks of every tar member, with and without tarfile's data filter (16 §6)."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest
import zstandard

from arkindex_worker.errors import ArchiveError
from arkindex_worker.utils import (
    UnsafeArchiveError,
    extract_tar_archive,
    extract_tar_zst_archive,
)
from tests.models_utils.archive_helpers import (
    file_member,
    link_member,
    make_tar,
    read_tree,
)

# ---------------------------------------------------------------- our own member checks


@pytest.fixture(params=["with-filter", "without-filter"])
def filters(request, monkeypatch):
    """Run with `tarfile` as it is, and as Python 3.10.0–3.10.11 have it.

    Without extraction filters: no `tarfile.data_filter`, and `extractall` /
    `extract` refuse a `filter` keyword, as they did then.
    """
    if request.param == "without-filter":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
        for name in ("extractall", "extract"):
            original = getattr(tarfile.TarFile, name)

            def without_filter(self, *args, _original=original, **kwargs):
                if "filter" in kwargs:
                    raise TypeError("unexpected keyword argument 'filter'")
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(tarfile.TarFile, name, without_filter)
    return request.param


def leftovers(folder: Path) -> list[str]:
    """Names in `folder` besides the archive files of the test."""
    return sorted(
        path.name for path in folder.iterdir() if not path.name.endswith(".tar")
    )


def mode_member(name: str, mode: int, kind: bytes = tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    return info, (b"data" if kind == tarfile.REGTYPE else None)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        pytest.param(
            [
                link_member("l1", "d/../..", tarfile.SYMTYPE),
                link_member("d", ".", tarfile.SYMTYPE),
            ],
            "Refusing to extract archive member 'l1': it links to 'd/../..', "
            "up from 'd', not a folder yet",
            id="chain-through-a-later-link",
        ),
        pytest.param(
            [
                link_member("sub", ".", tarfile.SYMTYPE),
                link_member("sub/x", "../escape", tarfile.SYMTYPE),
            ],
            "Refusing to extract archive member 'sub/x': it links to '../escape', "
            "outside the destination",
            id="chain-through-an-earlier-link",
        ),
        pytest.param(
            [
                link_member("up", "..", tarfile.SYMTYPE),
            ],
            "Refusing to extract archive member 'up': it links to '..', "
            "outside the destination",
            id="link-to-parent",
        ),
        pytest.param(
            [
                link_member("a", "b", tarfile.SYMTYPE),
                link_member("b", "a", tarfile.SYMTYPE),
                file_member("a/x"),
            ],
            "Refusing to extract archive member 'a/x': its folder leads through "
            "too many links",
            id="link-loop",
        ),
        pytest.param(
            [
                link_member("out", "/tmp", tarfile.SYMTYPE),
                file_member("out/x"),
            ],
            "Refusing to extract archive member 'out': it links to '/tmp', "
            "outside the destination",
            id="write-through-absolute-link",
        ),
        pytest.param(
            [link_member("fifo", "", tarfile.FIFOTYPE)],
            "Refusing to extract archive member 'fifo': it is a FIFO",
            id="fifo",
        ),
        pytest.param(
            [link_member("disk", "", tarfile.BLKTYPE)],
            "Refusing to extract archive member 'disk': it is a device file",
            id="block-device",
        ),
        pytest.param(
            [
                link_member("hard", "later.txt", tarfile.LNKTYPE),
                file_member("later.txt"),
            ],
            "Refusing to extract archive member 'hard': it links to 'later.txt', "
            "not an earlier file of the archive",
            id="hardlink-to-a-later-file",
        ),
        pytest.param(
            [
                link_member("out", "/etc", tarfile.SYMTYPE),
            ],
            "Refusing to extract archive member 'out': it links to '/etc', "
            "outside the destination",
            id="symlink-to-absolute-folder",
        ),
        pytest.param(
            [
                link_member("link", "safe.txt", tarfile.SYMTYPE),
                file_member("link", b"replaced"),
            ],
            "Refusing to extract archive member 'link': it would replace an earlier "
            "member",
            id="file-replacing-a-link",
        ),
        pytest.param(
            [file_member("f"), file_member("f/inside")],
            "Refusing to extract archive member 'f/inside': 'f' is a file, not a folder",
            id="file-as-folder",
        ),
    ],
)
def test_extract_refuses_and_leaves_nothing(tmp_path, filters, members, message):
    archive = make_tar(tmp_path / "evil.tar", file_member("safe.txt"), *members)
    destination = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError) as e:
        extract_tar_archive(archive, destination)
    assert str(e.value) == message
    assert type(e.value) is UnsafeArchiveError
    assert leftovers(tmp_path) == []


def test_extract_never_uses_tarfile_extraction(tmp_path, monkeypatch):
    """The checks are ours: `tarfile` only reads the archive."""

    def forbidden(*args, **kwargs):
        raise AssertionError("tarfile extraction used")

    monkeypatch.setattr(tarfile.TarFile, "extractall", forbidden)
    monkeypatch.setattr(tarfile.TarFile, "extract", forbidden)
    archive = make_tar(tmp_path / "a.tar", file_member("sub/data.txt", b"content"))
    extract_tar_archive(archive, tmp_path / "out")
    assert read_tree(tmp_path / "out") == {"sub": None, "sub/data.txt": b"content"}


def test_extract_strips_setuid_setgid_and_sticky_bits(tmp_path, filters):
    archive = make_tar(
        tmp_path / "modes.tar",
        mode_member("bin", 0o3777, tarfile.DIRTYPE),
        mode_member("bin/tool", 0o6755),
        mode_member("bin/writable", 0o4777),
        mode_member("bin/private", 0o4400),
    )
    destination = tmp_path / "out"
    extract_tar_archive(archive, destination)
    modes = {
        path.relative_to(destination).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in destination.rglob("*")
    }
    assert modes == {
        "bin": 0o755,
        "bin/tool": 0o755,
        "bin/writable": 0o755,
        # The owner can always read and write what was extracted
        "bin/private": 0o600,
    }


def test_extract_writes_through_links_inside(tmp_path, filters):
    archive = make_tar(
        tmp_path / "links.tar",
        file_member("real/first.txt", b"1"),
        link_member("alias", "real", tarfile.SYMTYPE),
        file_member("alias/second.txt", b"2"),
        link_member("here", ".", tarfile.SYMTYPE),
        file_member("here/third.txt", b"3"),
        link_member("hard", "alias/second.txt", tarfile.LNKTYPE),
    )
    destination = tmp_path / "out"
    extract_tar_archive(archive, destination)
    assert (destination / "alias").is_symlink()
    assert os.readlink(destination / "alias") == "real"
    assert (destination / "real" / "second.txt").read_bytes() == b"2"
    assert (destination / "third.txt").read_bytes() == b"3"
    assert (destination / "hard").read_bytes() == b"2"
    assert not (destination / "hard").is_symlink()
    assert leftovers(tmp_path) == ["out"]


def test_extract_into_an_existing_folder(tmp_path, filters):
    destination = tmp_path / "out"
    (destination / "sub").mkdir(parents=True)
    (destination / "kept.txt").write_bytes(b"kept")
    (destination / "sub" / "old.txt").write_bytes(b"old")
    (destination / "sub" / "replaced.txt").write_bytes(b"before")
    archive = make_tar(
        tmp_path / "a.tar",
        file_member("sub/replaced.txt", b"after"),
        file_member("sub/new.txt", b"new"),
    )
    extract_tar_archive(archive, destination)
    assert read_tree(destination) == {
        "kept.txt": b"kept",
        "sub": None,
        "sub/old.txt": b"old",
        "sub/new.txt": b"new",
        "sub/replaced.txt": b"after",
    }
    assert leftovers(tmp_path) == ["out"]


def test_extract_cut_archive_leaves_nothing(tmp_path, filters):
    archive = make_tar(tmp_path / "cut.tar", file_member("big.bin", b"x" * 100_000))
    archive.write_bytes(archive.read_bytes()[:50_000])
    destination = tmp_path / "out"
    with pytest.raises(ArchiveError) as e:
        extract_tar_archive(archive, destination)
    assert str(e.value).startswith("Couldn't handle the decompressed Tar archive: ")
    assert leftovers(tmp_path) == []


def test_extract_tar_zst_without_filter_refuses_chain(tmp_path, monkeypatch, filters):
    tar_path = make_tar(
        tmp_path / "chain.tar",
        link_member("l1", "d/../..", tarfile.SYMTYPE),
        link_member("d", ".", tarfile.SYMTYPE),
        file_member("l1/escaped.txt"),
    )
    compressed = tmp_path / "chain.tar.zst"
    compressed.write_bytes(zstandard.ZstdCompressor().compress(tar_path.read_bytes()))
    tar_path.unlink()
    with pytest.raises(UnsafeArchiveError, match="'l1'"):
        extract_tar_zst_archive(compressed, tmp_path / "out")
    assert leftovers(tmp_path) == ["chain.tar.zst"]
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_extract_names_starting_with_dot_slash(tmp_path, filters):
    root = tarfile.TarInfo(".")
    root.type = tarfile.DIRTYPE
    sub = tarfile.TarInfo("./sub/")
    sub.type = tarfile.DIRTYPE
    archive = make_tar(
        tmp_path / "dots.tar",
        (root, None),
        (sub, None),
        file_member("./sub/file.txt", b"content"),
        link_member("./link", "sub/file.txt", tarfile.SYMTYPE),
    )
    destination = tmp_path / "out"
    extract_tar_archive(archive, destination)
    assert read_tree(destination) == {
        "sub": None,
        "sub/file.txt": b"content",
        "link": b"content",
    }
