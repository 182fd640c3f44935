"""Register images on Arkindex from IIIF URLs."""

from __future__ import annotations

from arkindex_worker.models import Image
from arkindex_worker.validation import check

__all__ = ["ImageMixin"]


class ImageMixin:
    """Image helpers of the workers."""

    def create_iiif_url(self, url: str) -> Image:
        """Create an Arkindex image from the identifier URL of a IIIF image.

        Args:
            url: the IIIF image identifier URL (without ``info.json``).

        Returns:
            The created (or already known) image.

        Raises:
            AssertionError: ``url`` is empty or not a string.
        """
        check(
            url and isinstance(url, str),
            "url shouldn't be null and should be of type str",
        )
        return Image(self.api_client.request("CreateIIIFURL", body={"url": url}))
