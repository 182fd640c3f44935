"""The in-memory state of the Arkindex API double: one corpus and one worker run.

[Corpus][tests.e2e.corpus.Corpus] holds elements (with types, names, zones on
images, parents), the worker run and what workers published; it builds the
payloads the double answers with. IDs come from a seeded generator, so a corpus
built twice with the same seed has the same IDs.

Images are served by the double's own IIIF route: their URL is resolved when a
payload is built (`Corpus.iiif_base_url`), so it holds the double's port. A
corpus without a double points them to an unreachable ``iiif.invalid`` host.
"""

from __future__ import annotations

import random
import uuid

__all__ = ["UNSERVED_IIIF", "Corpus", "build_demo_corpus"]

UNSERVED_IIIF = "http://iiif.invalid/iiif/2/"
"""IIIF base URL of the images of a corpus nobody serves."""


class Corpus:
    """One corpus, one worker run, and everything published during the run.

    Args:
        seed: seed of the generated IDs.
    """

    def __init__(self, seed: int = 0):
        self._ids = random.Random(f"ids-{seed}")
        self.corpus_id = self.new_id()
        self.corpus_name = "E2E corpus"
        self.element_types: list[dict] = []
        self.elements: dict[str, dict] = {}
        self.images: dict[str, dict] = {}
        self.worker_run_id = self.new_id()
        self.worker_version_id = self.new_id()
        self.worker_id = self.new_id()
        self.process_id = self.new_id()
        self.process_mode = "workers"
        self.activity_state = "ready"
        self.version_configuration: dict = {}
        self.user_configuration_fields: dict = {}
        self.version_secrets: list[str] = []
        self.run_configuration: dict | None = None
        self.secrets: dict[str, str] = {}
        self.activities: dict[str, str] = {}
        # Current servers (1.12+): elements come from the queue, the configuration
        # from RetrieveWorkerRunConfiguration, none of it from the worker version.
        self.current_server = False
        self.queue: list[str] = []
        self.configuration_items: list[dict] = []
        self.transcriptions: list[dict] = []
        self.classifications: list[dict] = []
        self.ml_classes: dict[str, str] = {}
        self.metadata: list[dict] = []
        self.entity_types: dict[str, str] = {}
        self.entities: list[dict] = []
        self.transcription_entities: list[dict] = []
        for slug, folder in (
            ("folder", True),
            ("page", False),
            ("text_line", False),
            ("text_zone", False),
        ):
            self.add_element_type(slug, folder=folder)

    def new_id(self) -> str:
        """A new UUID, reproducible for a given seed."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def add_element_type(self, slug: str, folder: bool = False) -> dict:
        """Declare an element type in the corpus."""
        element_type = {
            "id": self.new_id(),
            "slug": slug,
            "display_name": slug.replace("_", " ").capitalize(),
            "folder": folder,
            "color": "28b62c",
        }
        self.element_types.append(element_type)
        return element_type

    def add_image(self, width: int = 1000, height: int = 1000) -> str:
        """Add an IIIF image and return its ID.

        Its ``url`` (and its server's) stays ``None``, for `image_payload` to
        resolve under `iiif_base_url`; set it to serve the image from elsewhere
        (a ``file://`` URL, say).
        """
        image_id = self.new_id()
        self.images[image_id] = {
            "id": image_id,
            "path": f"{image_id}.jpg",
            "width": width,
            "height": height,
            "url": None,
            "s3_url": None,
            "status": "checked",
            "server": {
                "display_name": "E2E IIIF",
                "url": None,
                "max_width": None,
                "max_height": None,
            },
        }
        return image_id

    def iiif_base_url(self) -> str:
        """Base URL of the IIIF server of the images (ends with ``/``).

        `UNSERVED_IIIF` here; the double's own IIIF route once it is started.
        """
        return UNSERVED_IIIF

    def image_payload(self, image_id: str) -> dict:
        """An image as the element zones serialise it (its URLs resolved)."""
        image = self.images[image_id]
        base = self.iiif_base_url()
        server = image["server"]
        return {
            **image,
            "url": image["url"] or f"{base}{image_id}",
            "server": {**server, "url": server["url"] or base.rstrip("/")},
        }

    def add_element(
        self,
        type: str,
        name: str,
        parent: str | None = None,
        image: str | None = None,
        polygon: list | None = None,
        worker_run_id: str | None = None,
        confidence: float | None = None,
    ) -> str:
        """Add an element (with a zone when ``image`` is given) and return its ID."""
        if image is not None and polygon is None:
            width, height = self.images[image]["width"], self.images[image]["height"]
            polygon = [[0, 0], [0, height], [width, height], [width, 0], [0, 0]]
        element_id = self.new_id()
        self.elements[element_id] = {
            "id": element_id,
            "type": type,
            "name": name,
            "parents": [parent] if parent else [],
            "image": image,
            "polygon": polygon,
            "worker_run_id": worker_run_id,
            "confidence": confidence,
        }
        return element_id

    def children(self, parent_id: str, recursive: bool = False) -> list[str]:
        """IDs of the children of an element, in creation order."""
        direct = [eid for eid, e in self.elements.items() if parent_id in e["parents"]]
        if not recursive:
            return direct
        return [d for child in direct for d in (child, *self.children(child, True))]

    def worker_run_payload(self) -> dict:
        """The answer of RetrieveWorkerRun, in the shape of the server's generation."""
        payload = self._worker_run_payload()
        if self.current_server:
            del payload["worker_version"]["configuration"]
            payload["process"]["skip_elements_json"] = True
            del payload["process"]["use_cache"]
        return payload

    def _worker_run_payload(self) -> dict:
        return {
            "id": self.worker_run_id,
            "summary": "Worker Demo worker @ e2e",
            "parents": [],
            "worker_version": {
                "id": self.worker_version_id,
                "worker": {
                    "id": self.worker_id,
                    "name": "Demo worker",
                    "slug": "demo",
                    "type": "recognizer",
                },
                "revision": None,
                "version": 1,
                "state": "available",
                "gpu_usage": "disabled",
                "model_usage": "disabled",
                "configuration": {
                    "configuration": self.version_configuration,
                    "user_configuration": self.user_configuration_fields,
                    "secrets": self.version_secrets,
                },
            },
            "configuration": self.run_configuration,
            "model_version": None,
            "process": {
                "id": self.process_id,
                "name": "E2E process",
                "corpus": self.corpus_id,
                "mode": self.process_mode,
                "activity_state": self.activity_state,
                "state": "running",
                "use_cache": False,
                "model_id": None,
                "skip_elements_json": False,
            },
        }

    def element_payload(self, element_id: str, with_zone: bool = True) -> dict:
        """An element as RetrieveElement and the element lists serialise it."""
        element = self.elements[element_id]
        zone = None
        if element["image"] and with_zone:
            image = self.image_payload(element["image"])
            xs = [x for x, _ in element["polygon"]]
            ys = [y for _, y in element["polygon"]]
            box = f"{min(xs)},{min(ys)},{max(xs) - min(xs)},{max(ys) - min(ys)}"
            zone = {
                "id": element_id,
                "polygon": element["polygon"],
                "image": image,
                "url": f"{image['url']}/{box}/full/0/default.jpg",
            }
        return {
            "id": element_id,
            "type": element["type"],
            "name": element["name"],
            "corpus": {"id": self.corpus_id, "name": self.corpus_name, "public": False},
            "zone": zone,
            "rotation_angle": 0,
            "mirrored": False,
            "confidence": element["confidence"],
            "worker_version_id": None,
            "worker_run_id": element["worker_run_id"],
            "thumbnail_url": None,
            "has_children": bool(self.children(element_id)),
        }


def build_demo_corpus(corpus: Corpus, pages: int = 2, lines: int = 3) -> list[str]:
    """Fill a corpus with a folder of pages holding text lines; return the page IDs."""
    folder = corpus.add_element("folder", "Demo folder")
    page_ids = []
    for p in range(1, pages + 1):
        image = corpus.add_image(1000, 300 * lines)
        page = corpus.add_element("page", f"Page {p}", parent=folder, image=image)
        for n in range(1, lines + 1):
            top = 300 * (n - 1)
            polygon = [
                [0, top],
                [0, top + 300],
                [1000, top + 300],
                [1000, top],
                [0, top],
            ]
            corpus.add_element("text_line", f"Line {p}.{n}", page, image, polygon)
        page_ids.append(page)
    return page_ids
