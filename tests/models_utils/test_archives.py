"""Tests of the archive helpers of ``arkindex_worker.utils`` (04, 14 §3.7)."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

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
from tests.models_utils.archive_helpers import (
    content_hash,
    file_member,
    link_member,
    make_tar,
    read_tree,
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
