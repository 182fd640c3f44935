"""Generation 0.6: upstream's retries of image requests (spec 15 §15) and of an
export's file (§10 step 6), and the client's policy kept under generation 0.4."""

from __future__ import annotations

import logging
import tempfile
from io import BytesIO

import pytest
import requests

from arkindex_worker import generation, image, image_io
from arkindex_worker.api.retry import EXPORT_RETRY_0_6, IMAGE_RETRY_0_6, FixedRetry
from tests.conftest import CORPUS_ID, api_url
from tests.generation_06.helpers import page_of

IIIF_FULL_URL = "http://iiif.test/iiif/page/full/full/0/default.jpg"
IIIF_MAX_URL = "http://iiif.test/iiif/page/full/max/0/default.jpg"
PLAIN_URL = "http://images.test/page.png"
EXPORT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeffff"
EXPORTS_URL = api_url(f"corpus/{CORPUS_ID}/export/")
DOWNLOAD_URL = api_url(f"export/{EXPORT_ID}/")
STORAGE_URL = f"http://s3.localhost.com/exports/{EXPORT_ID}"


@pytest.fixture
def png() -> bytes:
    pytest.importorskip("PIL")
    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (3, 2), "red").save(buffer, format="png")
    return buffer.getvalue()


@pytest.fixture
def export_dir(monkeypatch, tmp_path):
    """The temporary directory of the ``teklia-export-*`` files."""
    directory = tmp_path / "exports"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def records(caplog) -> list[tuple[str, int, str]]:
    return [(r.name, r.levelno, r.getMessage()) for r in caplog.records]


def warning(url: str, error: str, idle_for: float) -> tuple[str, int, str]:
    unit = "second" if idle_for == 1 else "seconds"
    return (
        "arkindex_worker",
        logging.WARNING,
        f"Request to {url} failed ({error}), retrying in {idle_for} {unit}",
    )


def http_error(status: str, url: str, method: str = "GET") -> str:
    return repr(requests.HTTPError(f"{status} for {method} {url}"))


def urls(mock_api) -> list[tuple[str, str]]:
    return [(call.request.method, call.request.url) for call in mock_api.calls]


# ---------------------------------------------------------------- the policies


def test_policies():
    assert (IMAGE_RETRY_0_6.attempts, IMAGE_RETRY_0_6.waits) == (3, (5.0, 10.0))
    assert IMAGE_RETRY_0_6.warn is True
    assert (EXPORT_RETRY_0_6.attempts, EXPORT_RETRY_0_6.waits) == (3, (10.0,))
    assert EXPORT_RETRY_0_6.warn is False
    assert [EXPORT_RETRY_0_6.wait(n) for n in (1, 2, 5)] == [10.0, 10.0, 10.0]
    assert repr(IMAGE_RETRY_0_6) == "FixedRetry(attempts=3, waits=(5, 10,), warn=True)"


@pytest.mark.parametrize(
    ("attempts", "waits", "message"),
    [
        (0, (1,), "attempts must be a positive integer"),
        (2, (), "waits must be given and not be negative"),
        (2, (1, -1), "waits must be given and not be negative"),
    ],
)
def test_fixed_retry_invalid(attempts, waits, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        FixedRetry(attempts, waits)


# ---------------------------------------------------------------- images, 0.6


def test_download_image_retried_then_succeeds(mock_api, png, sleeps, caplog):
    caplog.set_level(logging.INFO)
    mock_api.get(PLAIN_URL, status=500)
    mock_api.get(PLAIN_URL, body=png)

    result = image.download_image(PLAIN_URL)

    assert result.size == (3, 2)
    assert urls(mock_api) == [("GET", PLAIN_URL)] * 2
    assert all(
        call.request.headers["User-Agent"] == image.IIIF_USER_AGENT
        for call in mock_api.calls
    )
    assert sleeps == [5]
    assert records(caplog)[:-1] == [
        warning(PLAIN_URL, http_error("500 Internal Server Error", PLAIN_URL), 5.0)
    ]
    assert records(caplog)[-1][2].startswith(f"Downloaded image {PLAIN_URL} - size=3x2")
    assert len(caplog.records) == 2


def test_download_image_gives_up_with_the_last_error(mock_api, sleeps, caplog):
    mock_api.get(PLAIN_URL, body=requests.ConnectionError("refused"))
    mock_api.get(PLAIN_URL, status=404)  # 4xx answers are retried too
    mock_api.get(PLAIN_URL, status=403)

    with pytest.raises(requests.HTTPError) as e:
        image.download_image(PLAIN_URL)

    assert e.value.response.status_code == 403
    assert str(e.value) == f"403 Forbidden for GET {PLAIN_URL}"
    assert urls(mock_api) == [("GET", PLAIN_URL)] * 3
    assert sleeps == [5, 10]
    assert records(caplog) == [
        warning(PLAIN_URL, "ConnectionError('refused')", 5.0),
        warning(PLAIN_URL, http_error("404 Not Found", PLAIN_URL), 15.0),
    ]


def test_download_image_falls_back_to_max_after_the_retries(mock_api, png, sleeps):
    for _ in range(3):
        mock_api.get(IIIF_FULL_URL, status=400)
    mock_api.get(IIIF_MAX_URL, body=png)

    assert image.download_image(IIIF_FULL_URL).size == (3, 2)

    assert urls(mock_api) == [("GET", IIIF_FULL_URL)] * 3 + [("GET", IIIF_MAX_URL)]
    assert sleeps == [5, 10]


def test_download_image_warning_hides_queries(mock_api, png, sleeps, caplog):
    url = f"{PLAIN_URL}?X-Amz-Signature=s3cr3t"
    mock_api.get(url, body=requests.ConnectionError(f"Max retries exceeded: {url}"))
    mock_api.get(url, body=png)

    image.download_image(url)

    assert sleeps == [5]
    assert records(caplog)[0] == warning(
        PLAIN_URL, f"ConnectionError('Max retries exceeded: {PLAIN_URL}')", 5.0
    )
    assert "s3cr3t" not in caplog.records[0].getMessage()


def test_upload_image_retried(mock_api, png, sleeps, caplog):
    from PIL import Image

    for _ in range(3):
        mock_api.put(PLAIN_URL, status=400)

    with pytest.raises(requests.HTTPError) as e:
        image.upload_image(Image.open(BytesIO(png)), PLAIN_URL)

    assert str(e.value) == f"400 Bad Request for PUT {PLAIN_URL}"
    assert urls(mock_api) == [("PUT", PLAIN_URL)] * 3
    bodies = {call.request.body for call in mock_api.calls}
    assert len(bodies) == 1 and next(iter(bodies)).startswith(b"\xff\xd8")  # JPEG
    assert sleeps == [5, 10]
    assert records(caplog) == [
        warning(PLAIN_URL, http_error("400 Bad Request", PLAIN_URL, "PUT"), 5.0),
        warning(PLAIN_URL, http_error("400 Bad Request", PLAIN_URL, "PUT"), 15.0),
    ]


def test_download_tiles_info_retried(mock_api, sleeps):
    info_url = "http://iiif.test/page/info.json"
    mock_api.get(info_url, status=502)
    mock_api.get(info_url, json={"width": 3, "height": 2})

    with pytest.raises(AssertionError, match="^Image cannot be retrieved at full size"):
        image.download_tiles("http://iiif.test/page")

    assert urls(mock_api) == [("GET", info_url)] * 2
    assert sleeps == [5]


def test_retried_request(mock_api, sleeps):
    mock_api.put(PLAIN_URL, status=503)
    mock_api.put(PLAIN_URL, status=201)

    response = image._retried_request(PLAIN_URL, method=requests.put, data=b"x")

    assert response.status_code == 201
    assert [call.request.body for call in mock_api.calls] == [b"x", b"x"]
    assert sleeps == [5]


def test_retried_request_positional_arguments():
    with pytest.raises(TypeError, match="keyword arguments only after url"):
        image_io._retried_request(PLAIN_URL, {"q": "1"})


# ---------------------------------------------------------------- exports, 0.6


def test_download_export_retried_then_succeeds(
    dataset_worker06, mock_api, sleeps, caplog, export_dir
):
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, status=500)
    mock_api.get(STORAGE_URL, body=b"SQLite export")

    path = dataset_worker06.download_export(EXPORT_ID)

    assert path.parent == export_dir
    assert path.read_bytes() == b"SQLite export"
    assert urls(mock_api) == [("GET", DOWNLOAD_URL)] + [("GET", STORAGE_URL)] * 2
    assert "Authorization" not in mock_api.calls[2].request.headers
    assert sleeps == [10]
    assert records(caplog) == [
        ("arkindex_worker", logging.INFO, f"Downloading export ({EXPORT_ID})..."),
        (
            "arkindex_worker",
            logging.INFO,
            f"Downloaded export ({EXPORT_ID}) @ `{path.name}`",
        ),
    ]


def test_download_export_gives_up_with_the_last_error(
    dataset_worker06, mock_api, sleeps, export_dir
):
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, body=requests.ConnectionError("reset"))
    mock_api.get(STORAGE_URL, status=404)
    mock_api.get(STORAGE_URL, status=403)

    with pytest.raises(requests.HTTPError) as e:
        dataset_worker06.download_export(EXPORT_ID)

    assert e.value.response.status_code == 403
    assert urls(mock_api) == [("GET", DOWNLOAD_URL)] + [("GET", STORAGE_URL)] * 3
    assert sleeps == [10, 10]
    assert list(export_dir.iterdir()) == []  # the partial file is removed


def test_get_export_retried(dataset_worker06, mock_api, sleeps, export_dir):
    done = {"id": EXPORT_ID, "state": "done", "created": "1", "updated": "1"}
    mock_api.get(EXPORTS_URL, json=page_of([done]))
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, status=404)
    mock_api.get(STORAGE_URL, body=b"SQLite export")

    assert dataset_worker06.get_export(EXPORT_ID).read_bytes() == b"SQLite export"
    assert sleeps == [10]


# ---------------------------------------------------------------- generation 0.4


@pytest.fixture
def gen04():
    generation.use(generation.GENERATION_0_4)  # gen06 restores the previous one


def test_0_4_images_keep_the_client_policy(gen04, mock_api, png, sleeps, caplog):
    mock_api.get(PLAIN_URL, status=503)
    mock_api.get(PLAIN_URL, body=png)
    mock_api.get("http://images.test/other.png", status=404)

    image.download_image(PLAIN_URL)
    with pytest.raises(requests.HTTPError):  # 4xx: not retried
        image.download_image("http://images.test/other.png")

    assert len(mock_api.calls) == 3
    assert sleeps == [3]
    assert records(caplog)[0] == (
        "arkindex_worker.api",
        logging.INFO,
        f"Retrying GET {PLAIN_URL} in 3 seconds after HTTP 503 Service Unavailable"
        " (attempt 1 of 5 failed)",
    )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_0_4_get_export_keeps_the_client_policy(
    gen04, mock_dataset_worker, mock_api, sleeps, export_dir
):
    assert mock_dataset_worker.generation == "0.4"
    done = {"id": EXPORT_ID, "state": "done", "created": "1", "updated": "1"}
    mock_api.get(EXPORTS_URL, json=page_of([done]))
    mock_api.get(DOWNLOAD_URL, status=302, headers={"Location": STORAGE_URL})
    mock_api.get(STORAGE_URL, status=404)

    with pytest.raises(requests.HTTPError) as e:
        mock_dataset_worker.get_export(EXPORT_ID)

    assert e.value.response.status_code == 404
    assert urls(mock_api)[-1:] == [("GET", STORAGE_URL)]  # not retried
    assert sleeps == []
