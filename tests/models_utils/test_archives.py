"""Tests of the archive helpers of ``arkindex_worker.utils`` (04, 14 §3.7)."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from arkindex_worker.errors import ArchiveError
from arkindex_worker.utils import (
    UnsafeArchiveError,
    close_delete_file,
    create_tar_archive,
    create_tar_zst_archive,
    create_zip_archive,
    decompress_zst_archive,
    extract_tar_archive,
    extract_tar_zst_archive,
    zstd_compress,
)

FILES = {
    "model.bin": b"\x00\x01" * 2000,
    "config/settings.yml": b"key: value\n",
    "config/nested/charset.txt": b"abc",
}


@pytest.fixture
def model_dir(tmp_path) -> Path:
    """A directory holding ``FILES`` and an empty sub-directory."""
    root = tmp_path / "model"
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    (root / "empty").mkdir()
    return root


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


# ---------------------------------------------------------------- tar + zstd


def test_create_tar_archive_to_temp_file(model_dir):
    fd, path, hash_ = create_tar_archive(model_dir)
    try:
        assert isinstance(fd, int)
        assert path.name.startswith("teklia-")
        assert path.suffix == ".tar"
        assert hash_ == content_hash(model_dir)
        with tarfile.open(path) as tar:
            assert sorted(tar.getnames()) == [
                "config",
                "config/nested",
                "config/nested/charset.txt",
                "config/settings.yml",
                "empty",
                "model.bin",
            ]
    finally:
        close_delete_file(fd, path)
    assert not path.exists()


def test_create_tar_archive_to_destination(model_dir, tmp_path):
    destination = tmp_path / "out.tar"
    assert create_tar_archive(model_dir, destination) == (
        None,
        destination,
        content_hash(model_dir),
    )
    assert tarfile.is_tarfile(destination)


def test_create_tar_archive_hash_ignores_metadata(model_dir, tmp_path):
    first = create_tar_archive(model_dir, tmp_path / "a.tar")[2]
    os.utime(model_dir / "model.bin", (0, 0))
    assert create_tar_archive(model_dir, tmp_path / "b.tar")[2] == first


def test_zstd_compress(model_dir, tmp_path):
    fd, path, hash_ = zstd_compress(model_dir / "model.bin")
    try:
        assert path.name.startswith("teklia-")
        assert path.name.endswith(".tar.zst")
        assert hash_ == hashlib.md5(path.read_bytes()).hexdigest()
        assert (
            zstandard.ZstdDecompressor().decompress(path.read_bytes())
            == FILES["model.bin"]
        )
    finally:
        close_delete_file(fd, path)


def test_zstd_compress_to_destination(model_dir, tmp_path):
    destination = tmp_path / "model.zst"
    fd, path, _ = zstd_compress(model_dir / "model.bin", destination)
    assert (fd, path) == (None, destination)


def test_create_tar_zst_archive_round_trip(model_dir, tmp_path):
    destination = tmp_path / "model.tar.zst"
    zst_fd, zst_path, zst_hash, tar_hash = create_tar_zst_archive(
        model_dir, destination
    )
    assert (zst_fd, zst_path) == (None, destination)
    assert zst_hash == hashlib.md5(destination.read_bytes()).hexdigest()
    assert tar_hash == content_hash(model_dir)

    tar_fd, tar_path = extract_tar_zst_archive(destination, tmp_path / "extracted")
    try:
        assert tar_path.suffix == ".tar"
        assert read_tree(tmp_path / "extracted") == read_tree(model_dir)
    finally:
        close_delete_file(tar_fd, tar_path)


def test_create_tar_zst_archive_removes_intermediate_tar(
    model_dir, tmp_path, monkeypatch
):
    created = []
    original = create_tar_archive

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        created.append(result[1])
        return result

    monkeypatch.setattr("arkindex_worker.utils.create_tar_archive", recording)
    create_tar_zst_archive(model_dir, tmp_path / "model.tar.zst")
    assert len(created) == 1
    assert not created[0].exists()


def test_decompress_multi_frame(tmp_path):
    """Upstream writes one zstd frame per 1 KiB chunk: all frames are read."""
    compressor = zstandard.ZstdCompressor(level=3)
    source = tmp_path / "multi.zst"
    source.write_bytes(
        compressor.compress(b"a" * 1024) + compressor.compress(b"b" * 10)
    )
    fd, path = decompress_zst_archive(source)
    try:
        assert path.read_bytes() == b"a" * 1024 + b"b" * 10
    finally:
        close_delete_file(fd, path)


def test_decompress_error(tmp_path):
    source = tmp_path / "broken.zst"
    source.write_bytes(b"not zstd at all")
    with pytest.raises(Exception, match=r"^Couldn't uncompressed archive: ") as e:
        decompress_zst_archive(source)
    assert isinstance(e.value.__cause__, zstandard.ZstdError)


def test_extract_tar_read_error(tmp_path):
    archive = tmp_path / "broken.tar"
    archive.write_bytes(b"not a tar archive" * 100)
    with pytest.raises(
        Exception, match=r"^Couldn't handle the decompressed Tar archive: "
    ) as e:
        extract_tar_archive(archive, tmp_path / "out")
    assert isinstance(e.value.__cause__, tarfile.ReadError)


@pytest.mark.parametrize(
    "function",
    [
        pytest.param(decompress_zst_archive, id="decompress"),
        pytest.param(zstd_compress, id="compress"),
    ],
)
def test_zstandard_missing(monkeypatch, tmp_path, function):
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(ImportError, match=r"pip install arkindex-worker-sdk\[zstd\]"):
        function(tmp_path / "whatever")


# ---------------------------------------------------------------- unsafe tar members


@pytest.mark.parametrize(
    ("member", "message"),
    [
        pytest.param(
            file_member("/etc/evil"),
            "Refusing to extract archive member '/etc/evil': its path is absolute",
            id="absolute",
        ),
        pytest.param(
            file_member("sub/../../evil"),
            "Refusing to extract archive member 'sub/../../evil': its path contains '..'",
            id="dot-dot",
        ),
        pytest.param(
            link_member("link", "../outside", tarfile.SYMTYPE),
            "Refusing to extract archive member 'link': it links to '../outside', outside the destination",
            id="symlink-relative",
        ),
        pytest.param(
            link_member("sub/link", "../../outside", tarfile.SYMTYPE),
            "Refusing to extract archive member 'sub/link': it links to '../../outside', outside the destination",
            id="symlink-nested",
        ),
        pytest.param(
            link_member("link", "/etc/passwd", tarfile.SYMTYPE),
            "Refusing to extract archive member 'link': it links to '/etc/passwd', outside the destination",
            id="symlink-absolute",
        ),
        pytest.param(
            link_member("hard", "../outside", tarfile.LNKTYPE),
            "Refusing to extract archive member 'hard': it links to '../outside', outside the destination",
            id="hardlink",
        ),
        pytest.param(
            link_member("device", "", tarfile.CHRTYPE),
            "Refusing to extract archive member 'device': it is a device file",
            id="device",
        ),
    ],
)
def test_extract_refuses_unsafe_member(tmp_path, member, message):
    archive = make_tar(tmp_path / "evil.tar", file_member("safe.txt"), member)
    destination = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError) as e:
        extract_tar_archive(archive, destination)
    assert str(e.value) == message
    # Checked before anything is written.
    assert not destination.exists()


def test_extract_accepts_links_inside(tmp_path):
    archive = make_tar(
        tmp_path / "links.tar",
        file_member("sub/data.txt", b"content"),
        link_member("sub/link", "data.txt", tarfile.SYMTYPE),
        link_member("top", "sub/../sub/data.txt", tarfile.SYMTYPE),
        link_member("hard", "sub/data.txt", tarfile.LNKTYPE),
    )
    destination = tmp_path / "out"
    extract_tar_archive(archive, destination)
    assert (destination / "sub" / "link").read_bytes() == b"content"
    assert (destination / "top").read_bytes() == b"content"
    assert (destination / "hard").read_bytes() == b"content"


def test_extract_tar_zst_refuses_unsafe_member_and_cleans_up(tmp_path, monkeypatch):
    tar_path = make_tar(tmp_path / "evil.tar", file_member("../evil"))
    compressed = tmp_path / "evil.tar.zst"
    compressed.write_bytes(zstandard.ZstdCompressor().compress(tar_path.read_bytes()))
    created = []
    original = decompress_zst_archive

    def recording(path):
        result = original(path)
        created.append(result[1])
        return result

    monkeypatch.setattr("arkindex_worker.utils.decompress_zst_archive", recording)
    with pytest.raises(UnsafeArchiveError, match="'../evil'"):
        extract_tar_zst_archive(compressed, tmp_path / "out")
    assert not created[0].exists()


# ---------------------------------------------------------------- close_delete_file


def test_close_delete_file_without_descriptor(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    close_delete_file(None, path)
    assert not path.exists()


def test_close_delete_file_error_is_logged(tmp_path, caplog):
    fd = os.open(tmp_path, os.O_RDONLY)
    missing = tmp_path / "missing"
    close_delete_file(fd, missing)
    (record,) = caplog.record_tuples
    assert record[:2] == ("arkindex_worker.utils", logging.WARNING)
    assert record[2].startswith(f"Unable to delete file {missing}: ")
    with pytest.raises(OSError):
        os.close(fd)  # it was closed before the failed deletion


# ---------------------------------------------------------------- zip


def test_create_zip_archive(model_dir):
    zip_file, path = create_zip_archive(model_dir)
    try:
        assert isinstance(zip_file, zipfile.ZipFile)
        assert zip_file.fp is None  # closed
        assert path.name.startswith("teklia-")
        assert path.suffix == ".zip"
        with zipfile.ZipFile(path) as archive:
            assert sorted(archive.namelist()) == [
                "config/",
                "config/nested/",
                "config/nested/charset.txt",
                "config/settings.yml",
                "empty/",
                "model.bin",
            ]
            info = archive.getinfo("model.bin")
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert archive.read("model.bin") == FILES["model.bin"]
    finally:
        path.unlink()


def test_create_zip_archive_to_destination(model_dir, tmp_path):
    destination = tmp_path / "model.zip"
    _, path = create_zip_archive(model_dir, destination)
    assert path == destination
    assert zipfile.is_zipfile(destination)


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
