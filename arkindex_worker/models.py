"""Thin wrappers around Arkindex API payloads.

Every model is a plain ``dict`` subclass whose keys can also be read as
attributes ([MagicDict][arkindex_worker.models.MagicDict]). Importing this module
never imports Pillow: the image helpers of
[Element][arkindex_worker.models.Element] build their URLs with
[arkindex_worker.iiif][] and open images with [arkindex_worker.image_io][],
which imports Pillow only when an image is opened.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import requests

from arkindex_worker import generation, iiif, image_io, prefetch
from arkindex_worker.geometry import polygon_bounding_box
from arkindex_worker.iiif import IIIF_FULL
from arkindex_worker.types import Polygon

__all__ = [
    "IMAGE_EXTENSION",
    "ArkindexModel",
    "Artifact",
    "Dataset",
    "DatasetSet",
    "Element",
    "Image",
    "MagicDict",
    "Set",
    "Transcription",
    "use_modern_image_defaults",
]

IMAGE_EXTENSION = "jpg"
"""File extension requested from IIIF servers by 0.6-era image calls."""


def use_modern_image_defaults(enabled: bool) -> None:
    """Make every [Element.open_image][arkindex_worker.models.Element.open_image] use 0.6 defaults.

    Sets the current generation (`arkindex_worker.generation`), which
    ``BaseWorker.configure()`` decides: 0.6 for workers configured through
    ``RetrieveWorkerRunConfiguration``, else 0.4 (the initial value). With 0.6
    defaults, resizing with both limits keeps the image ratio.
    """
    generation.use(generation.GENERATION_0_6 if enabled else generation.GENERATION_0_4)


def _follows_0_6() -> bool:
    """Whether the models follow generation 0.6 (the current one, spec 15 §14)."""
    return generation.current().name == generation.GENERATION_0_6.name


class MagicDict(dict):
    """A dict whose keys can also be read, written and deleted as attributes.

    Values are converted on every read: nested dicts become new ``MagicDict``
    copies and lists are converted item by item, so changing ``md.zone.polygon``
    changes a throw-away copy. [Dataset][arkindex_worker.models.Dataset] values
    are returned as is.
    """

    def _magify(self, item: Any) -> Any:
        if isinstance(item, Dataset):
            return item
        if isinstance(item, list):
            return [self._magify(value) for value in item]
        if isinstance(item, dict):
            return MagicDict(item)
        return item

    def __getitem__(self, key: Any) -> Any:
        return self._magify(super().__getitem__(key))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(
                f"{type(self).__name__} object has no attribute '{name}'"
            ) from e

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            super().__delattr__(name)
        except AttributeError:
            try:
                del self[name]
            except KeyError as e:
                raise AttributeError(
                    f"{type(self).__name__} object has no attribute '{name}'"
                ) from e

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self.keys()]


class Element(MagicDict):
    """An Arkindex element payload (``id``, ``name``, ``type``, ``zone``, …)."""

    def __str__(self) -> str:
        element_type = self.get("type")
        if isinstance(element_type, dict):
            element_type = element_type["display_name"]
        return f"{element_type} {self.get('name')} ({self.get('id')})"

    def _require_zone(self) -> MagicDict:
        if not self.get("zone"):
            raise ValueError(f"Element {self.get('id')} has no zone")
        return self.zone

    def resize_zone_url(self, size: str = "full", extension: str | None = None) -> str:
        """URL of the element's IIIF crop at another IIIF ``size``.

        Args:
            size: IIIF size segment (``"full"``, ``",200"``, ``"!400,400"``…).
            extension: when given, also replace the file extension of the URL
                (``default.jpg`` becomes ``default.{extension}``).

        On a IIIF 3 image server (``zone.image.server.version`` 3), the ``full``
        size is requested as ``max``, the only full-size value of IIIF 3. Under
        generation 0.6, ``extension`` defaults to ``jpg``.
        """
        if extension is None and _follows_0_6():
            extension = IMAGE_EXTENSION
        url = self.zone.url
        size = self._iiif3_size(size)
        if extension is not None:
            url = iiif.with_extension(url, extension)
        if size == IIIF_FULL:
            return url
        return iiif.with_size(url, size)

    def image_url(
        self, size: str | int = "full", extension: str | None = None
    ) -> str | None:
        """URL of the element's whole image at the IIIF ``size``, or ``None`` without a zone.

        The image's S3 URL, when set, is returned as is whatever ``size`` and
        ``extension`` are. On a IIIF 3 image server, ``full`` becomes ``max``.
        """
        if not self.get("zone"):
            return None
        image = self.zone.image
        if image.get("s3_url"):
            return image["s3_url"]
        return iiif.image_request_url(
            image.url,
            IIIF_FULL,
            self._iiif3_size(size),
            quality_format=f"default.{extension or IMAGE_EXTENSION}",
        )

    def _iiif3_size(self, size: str | int) -> str | int:
        """``max`` instead of ``full`` for IIIF 3 servers, which have no ``full`` size."""
        image = (self.get("zone") or {}).get("image") or {}
        server = image.get("server") or {}
        return iiif.size_for_version(size, server.get("version"))

    @property
    def polygon(self) -> Polygon:
        """The polygon of the element's zone.

        Raises:
            ValueError: the element has no zone.
        """
        return self._require_zone().polygon

    @property
    def requires_tiles(self) -> bool:
        """Whether the zone is too large for the IIIF server and must be downloaded in tiles."""
        if not self.get("zone") or self.zone.image.get("s3_url"):
            return False
        server = self.zone.image.get("server") or {}
        max_width = server.get("max_width") or float("inf")
        max_height = server.get("max_height") or float("inf")
        bounding_box = polygon_bounding_box(self.zone.polygon)
        return bounding_box.width > max_width or bounding_box.height > max_height

    def _iiif_size(
        self, max_width: int | None, max_height: int | None, preserve_ratio: bool
    ) -> str:
        if max_width is None and max_height is None:
            return IIIF_FULL
        image = self.zone.image
        return iiif.bounded_size(
            image.get("width"),
            image.get("height"),
            max_width,
            max_height,
            best_fit=preserve_ratio,
        )

    def open_image(
        self,
        *args: Any,
        max_width: int | None = None,
        max_height: int | None = None,
        use_full_image: bool | None = False,
        **kwargs: Any,
    ) -> Any:
        """Download the element's image as a Pillow image, oriented like the element.

        Args:
            *args: passed to [arkindex_worker.image.open_image][].
            max_width: resize so that the width is at most this value.
            max_height: resize so that the height is at most this value.
            use_full_image: open the whole image instead of the element's crop.
            **kwargs: passed to [arkindex_worker.image.open_image][]; also the
                0.6 keywords ``extension`` (IIIF file extension) and
                ``preserve_ratio`` (``!w,h`` sizes when both limits are given).

        Raises:
            ValueError: the element has no zone.
            NotImplementedError: the image needs tiles and a resize was asked, or
                the S3 URL of the image was refused (expired).
        """
        extension = kwargs.pop("extension", None)
        preserve_ratio = kwargs.pop(
            "preserve_ratio",
            extension is not None or generation.current().modern_image_defaults,
        )
        if extension is None and _follows_0_6():
            extension = IMAGE_EXTENSION
        zone = self._require_zone()
        url_of = functools.partial(
            Element._download_url,
            max_width=max_width,
            max_height=max_height,
            use_full_image=use_full_image,
            extension=extension,
            preserve_ratio=preserve_ratio,
        )

        if self.requires_tiles:
            if max_width is None and max_height is None:
                return image_io.patchable("download_tiles")(zone.image.url)
            raise NotImplementedError(
                "Resizing an image that must be downloaded in tiles is not supported"
            )
        url = url_of(self)

        # Explicit keywords win over the element's orientation.
        options = {
            "rotation_angle": self.get("rotation_angle", 0),
            "mirrored": self.get("mirrored", False),
            **kwargs,
        }
        try:
            image_io.check_image_url(url)
            image = image_io.patchable("open_image")(url, *args, **options)
        except requests.HTTPError as e:
            if (
                e.response is not None
                and e.response.status_code == 403
                and zone.image.get("s3_url") is not None
            ):
                raise NotImplementedError(
                    f"The S3 URL of the image of element {self.get('id')} was refused (it may have expired)"
                ) from e
            raise
        # Once this image is served: the next element's may be read ahead
        prefetch.opening(self, url_of)
        return image

    def _download_url(
        self,
        max_width: int | None,
        max_height: int | None,
        use_full_image: bool | None,
        extension: str | None,
        preserve_ratio: bool,
    ) -> str | None:
        """The URL `open_image` downloads with these arguments (`None`: tiles)."""
        if not self.get("zone") or self.requires_tiles:
            return None
        size = self._iiif_size(max_width, max_height, preserve_ratio)
        url_args = (size,) if extension is None else (size, extension)
        if use_full_image:
            return self.image_url(*url_args)
        return self.resize_zone_url(*url_args)

    @contextmanager
    def open_image_tempfile(
        self, format: str | None = "jpeg", *args: Any, **kwargs: Any
    ) -> Iterator[IO[bytes]]:
        """Save the element's image to a temporary file, deleted on exit.

        Args:
            format: Pillow format of the saved image (``"jpg"`` is read as ``"jpeg"``).
            *args: passed to [open_image][arkindex_worker.models.Element.open_image].
            **kwargs: passed to [open_image][arkindex_worker.models.Element.open_image];
                a 0.6 ``extension`` keyword replaces ``format`` and names the file.

        Under generation 0.6, ``format`` is the extension (``"jpeg"`` or
        ``None`` mean ``jpg``), and names the file.

        Yields:
            The open, flushed temporary file.
        """
        if _follows_0_6():
            with self._open_image_tempfile_0_6(format, *args, **kwargs) as f:
                yield f
            return
        extension = kwargs.pop("extension", None)
        suffix = None
        if extension is not None:
            format = extension
            suffix = f".{extension}"
            kwargs["extension"] = extension
        if isinstance(format, str) and format.lower() == "jpg":
            format = "jpeg"
        with tempfile.NamedTemporaryFile(suffix=suffix) as f:
            self.open_image(*args, **kwargs).save(f, format=format)
            f.flush()
            yield f

    @contextmanager
    def _open_image_tempfile_0_6(
        self, format: str | None, *args: Any, **kwargs: Any
    ) -> Iterator[IO[bytes]]:
        extension = kwargs.pop("extension", None)
        if extension is None:
            extension = IMAGE_EXTENSION if format in ("jpeg", None) else format
        pillow_format = "jpeg" if extension == IMAGE_EXTENSION else extension
        with tempfile.NamedTemporaryFile(suffix=f".{extension}") as f:
            image = self.open_image(*args, extension=extension, **kwargs)
            image.save(f, format=pillow_format)
            f.flush()
            yield f


class ArkindexModel(MagicDict):
    """Base of the simple API models; ``str()`` gives ``{ClassName} ({id})``."""

    def __str__(self) -> str:
        return f"{type(self).__name__} ({self.get('id')})"


class Transcription(ArkindexModel):
    """An Arkindex transcription payload."""


class Image(ArkindexModel):
    """An Arkindex image payload."""


class Artifact(ArkindexModel):
    """A task artifact (``id``, ``path``, ``size``, ``content_type``, ``s3_put_url``, …)."""


class Dataset(ArkindexModel):
    """An Arkindex dataset payload (``id``, ``name``, ``sets``, ``state``, ``corpus_id``, …)."""

    @property
    def filepath(self) -> str:
        """Name of the dataset's compressed archive artifact: ``{id}.tar.zst``."""
        return f"{self.id}.tar.zst"


class Set(MagicDict):
    """A set of a dataset: ``Set(name="train", dataset=<Dataset>)``."""

    def __str__(self) -> str:
        return f"{type(self).__name__} ({self.name}) from {self.dataset}"


class DatasetSet(Set):
    """A dataset set as upstream 0.6 names it; may also carry the set's ``id``."""
