"""``ImageMixin.create_iiif_url`` (12)."""

from __future__ import annotations

import json

import pytest

from arkindex_worker.api import ErrorResponse
from arkindex_worker.models import Image
from tests.conftest import api_url

IMAGE_ID = "cafecafe-cafe-cafe-cafe-cafecafecafe"
IMAGE_URL = "http://url/to/my/image"


def image_payload() -> dict:
    return {
        "id": IMAGE_ID,
        "url": IMAGE_URL,
        "status": "checked",
        "server": {"display_name": "My server", "max_width": None, "max_height": None},
    }


def test_create_iiif_url(mock_elements_worker, mock_api):
    mock_api.add("POST", api_url("image/iiif/url/"), status=201, json=image_payload())
    image = mock_elements_worker.create_iiif_url(IMAGE_URL)
    assert isinstance(image, Image)
    assert image.id == IMAGE_ID
    assert image == image_payload()
    (call,) = mock_api.calls
    assert call.request.url == api_url("image/iiif/url/")
    assert json.loads(call.request.body) == {"url": IMAGE_URL}


def test_create_iiif_url_read_only_still_sends(
    mock_elements_worker_read_only, mock_api
):
    mock_api.add("POST", api_url("image/iiif/url/"), status=201, json=image_payload())
    assert mock_elements_worker_read_only.create_iiif_url(IMAGE_URL).id == IMAGE_ID


def test_create_iiif_url_api_error(mock_elements_worker, mock_api):
    mock_api.add("POST", api_url("image/iiif/url/"), status=418)
    with pytest.raises(ErrorResponse):
        mock_elements_worker.create_iiif_url(IMAGE_URL)
    assert len(mock_api.calls) == 1


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param(42, id="int"),
    ],
)
def test_create_iiif_url_invalid(mock_elements_worker, url):
    with pytest.raises(AssertionError) as e:
        mock_elements_worker.create_iiif_url(url)
    assert str(e.value) == "url shouldn't be null and should be of type str"
