"""Answers saved as files: DownloadedFile naming, content and deletion."""

from __future__ import annotations

import os
import tempfile

import pytest

from arkindex_worker.api import DownloadedFile
from tests.conftest import api_url

EXPORT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeffff"
TMP = tempfile.gettempdir()


@pytest.fixture
def isolated_tmp(tmp_path, monkeypatch):
    """Downloads land in a private temporary directory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_export_download_named_after_url(client, mock_api):
    mock_api.get(
        api_url(f"export/{EXPORT_ID}/"),
        status=302,
        headers={"Location": f"http://s3.example/exports/{EXPORT_ID}"},
    )
    mock_api.get(
        f"http://s3.example/exports/{EXPORT_ID}",
        body=b"SQLite format 3\x00",
        content_type="application/x-sqlite3",
    )
    with client.request("DownloadExport", id=EXPORT_ID) as export:
        assert isinstance(export, DownloadedFile)
        assert export.name == os.path.join(TMP, EXPORT_ID)
        assert export.basename == EXPORT_ID
        assert export.read() == b"SQLite format 3\x00"
    assert not os.path.exists(os.path.join(TMP, EXPORT_ID))
    assert mock_api.calls[0].request.req_kwargs["stream"] is True


@pytest.mark.parametrize(
    ("url", "headers", "content_type", "name"),
    [
        pytest.param(
            "http://f/a/b/archive",
            {"Content-Disposition": 'attachment; filename="../my report?.pdf"'},
            "application/pdf",
            "my report.pdf",
            id="content-disposition-sanitised",
        ),
        pytest.param(
            "http://f/a/b/archive",
            {
                "Content-Disposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
            },
            "application/octet-stream",
            "résumé.txt",
            id="content-disposition-rfc2231",
        ),
        pytest.param(
            "http://f/a/b/archive",
            {},
            "application/zip",
            "archive.zip",
            id="guessed-extension",
        ),
        pytest.param(
            "http://f/a/b/data.tar.zst",
            {},
            "application/zip",
            "data.tar.zst",
            id="name-has-dot",
        ),
        pytest.param(
            "http://f/a/b/archive", {}, "application/zstd", "archive", id="unknown-type"
        ),
        pytest.param("http://f/", {}, "application/zip", "download.zip", id="no-name"),
        pytest.param(
            "http://f/..", {}, "application/x-unknown", "download", id="dots-only"
        ),
    ],
)
def test_download_names(
    client, mock_api, isolated_tmp, url, headers, content_type, name
):
    mock_api.get(api_url("element/1/"), status=302, headers={"Location": url})
    mock_api.get(url, body=b"data", headers=headers, content_type=content_type)
    file = client.request("RetrieveElement", id=1)
    try:
        assert file.name == str(isolated_tmp / name)
        assert file.read() == b"data"
    finally:
        file.close()
    assert os.listdir(isolated_tmp) == []


def test_existing_names_get_a_counter(client, mock_api, isolated_tmp):
    url = api_url("task/t/artifact/model.tar.gz")
    mock_api.get(url, body=b"x", content_type="application/gzip")
    files = [
        client.request("DownloadArtifact", id="t", path="model.tar.gz")
        for _ in range(3)
    ]
    assert [f.basename for f in files] == [
        "model.tar.gz",
        "model.tar (1).gz",
        "model.tar (2).gz",
    ]
    for file in files:
        file.close()
    assert os.listdir(isolated_tmp) == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("text/plain", b"hello", id="text"),
        pytest.param("application/json", b'{"a": 1}', id="json"),
        pytest.param(None, b"", id="empty"),
    ],
)
def test_download_operation_always_gives_a_file(
    client, mock_api, isolated_tmp, content_type, body
):
    mock_api.get(
        api_url("task/t/artifact/out.txt"), body=body, content_type=content_type
    )
    with client.request("DownloadArtifact", id="t", path="out.txt") as file:
        assert file.basename == "out.txt"
        assert file.read() == body


def test_download_operation_error_is_decoded(client, mock_api):
    mock_api.get(
        api_url("task/t/artifact/x"), status=404, json={"detail": "Not found."}
    )
    with pytest.raises(Exception) as e:
        client.request("DownloadArtifact", id="t", path="x")
    assert e.value.content == {"detail": "Not found."}


def test_deleted_when_garbage_collected(client, mock_api, isolated_tmp):
    mock_api.get(
        api_url("task/t/artifact/x.bin"),
        body=b"x",
        content_type="application/octet-stream",
    )
    file = client.request("DownloadArtifact", id="t", path="x.bin")
    assert os.listdir(isolated_tmp) == ["x.bin"]
    del file
    assert os.listdir(isolated_tmp) == []


def test_seek_and_reread(client, mock_api, isolated_tmp):
    mock_api.get(
        api_url("task/t/artifact/x.bin"),
        body=b"abc",
        content_type="application/octet-stream",
    )
    with client.request("DownloadArtifact", id="t", path="x.bin") as file:
        assert file.read(1) == b"a"
        file.seek(0)
        assert file.read() == b"abc"
        assert repr(file) == f"<DownloadedFile {str(isolated_tmp / 'x.bin')!r}>"
