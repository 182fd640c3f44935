"""An example Arkindex worker: every kind of publication, on each element it is given.

For every element (typically a page), the worker:

1. lists the element's children of type ``line_type`` (its lines);
2. creates a sub-element of type ``zone_type`` covering the whole element;
3. publishes one transcription per line (one bulk request); an element without
   lines has its new zone transcribed instead;
4. creates an entity (of type ``entity_type``) for the name found in the first
   transcription and links it to that transcription;
5. classifies the element (``ml_class``) and counts its lines in a metadata;
6. when ``crop_lines`` is set, opens each line's image and records its size in a
   metadata of the line.

Every publication helper used here accepts an API `Element` (online) as well as
a `CachedElement` (offline, elements read from the cache database).

Run it with ``worker-demo --element <page id>`` (needs ``ARKINDEX_API_URL``,
``ARKINDEX_API_TOKEN`` and ``ARKINDEX_WORKER_RUN_ID``), or in developer mode with
``worker-demo --dev --config config.yml --element <page id>``: nothing is then
published. With ``--dev --database cache.sqlite`` it runs offline on that cache
and publishes into it (``make demo``).
"""

from __future__ import annotations

from typing import Any, NoReturn

from arkindex_worker.cli import run_worker
from arkindex_worker.models import Element, Transcription
from arkindex_worker.worker import CachedElement, ElementsWorker, MetaType

__all__ = ["DEFAULT_CONFIGURATION", "DemoWorker", "main", "name_of", "transcribe"]

DEFAULT_CONFIGURATION = {
    "line_type": "text_line",
    "zone_type": "text_zone",
    "ml_class": "demo",
    "entity_type": "name",
    "confidence": 0.9,
    # Open the image of each line: needs images the worker can download.
    "crop_lines": False,
}
"""Configuration keys read by the worker, with their default values."""

ZONE_NAME = "1"


def name_of(element: Element | CachedElement) -> str:
    """Name of an element; its ID for a cached element (the cache stores no name)."""
    return str(element.id) if isinstance(element, CachedElement) else element.name


def transcribe(element: Element | CachedElement) -> str:
    """The text "recognised" on an element (a stand-in for a real model)."""
    return f"Text of {name_of(element)}"


class DemoWorker(ElementsWorker):
    """Segment, transcribe, tag, classify and describe each element."""

    def __init__(self) -> None:
        super().__init__(
            description="Demo worker: every kind of publication on each element",
            support_cache=True,
        )

    def setting(self, key: str) -> Any:
        """A configuration value, or its default from `DEFAULT_CONFIGURATION`."""
        return self.config.get(key, DEFAULT_CONFIGURATION[key])

    def process_element(self, element: Element | CachedElement) -> None:
        """Publish a zone, transcriptions, an entity, a classification and metadata."""
        confidence = self.setting("confidence")
        lines = [
            # The API lists dicts, the cache rows: make the dicts Elements too
            line if isinstance(line, CachedElement) else Element(line)
            for line in self.list_element_children(
                element, type=self.setting("line_type")
            )
        ]
        zone = self.create_zone(element)
        # An element without lines has its zone transcribed (if it was created)
        targets = lines or ([zone] if zone else [])
        if targets:
            transcriptions = self.create_transcriptions(
                [
                    {
                        "element_id": str(target.id),
                        "text": transcribe(target),
                        "confidence": confidence,
                    }
                    for target in targets
                ]
            )
            if transcriptions:  # None in read-only mode
                self.tag_name(Transcription(transcriptions[0]), name_of(targets[0]))

        self.create_classification(element, self.setting("ml_class"), confidence)
        self.create_metadata(element, MetaType.Numeric, "lines", str(len(lines)))

        if self.setting("crop_lines"):
            self.record_image_sizes(lines)

    def create_zone(self, element: Element | CachedElement) -> Element | None:
        """Create a zone covering the whole element (``None`` in read-only mode)."""
        created = self.create_elements(
            element,
            [
                {
                    "name": ZONE_NAME,
                    "type": self.setting("zone_type"),
                    "polygon": element.polygon,
                }
            ],
        )
        return Element(id=created[0]["id"], name=ZONE_NAME) if created else None

    def record_image_sizes(self, lines: list[Element | CachedElement]) -> None:
        """Open the image of each line (cropped to it) and store its size."""
        for line in lines:
            width, height = line.open_image().size
            self.create_metadata(line, MetaType.Text, "image size", f"{width}x{height}")

    def tag_name(self, transcription: Transcription, name: str) -> None:
        """Create an entity for ``name`` and link it to where it is in the text."""
        entity_type = self.setting("entity_type")
        if not self.entity_types:
            self.list_corpus_entity_types()
        if entity_type not in self.entity_types:
            # Unlike check_required_entity_types, safe when another task of the
            # same process creates the type at the same time
            self.create_entity_type(entity_type)
        entity_id = self.create_entity(name, entity_type)
        self.create_transcription_entity(
            transcription,
            entity_id,
            offset=transcription["text"].index(name),
            length=len(name),
        )


def main() -> NoReturn:
    """Console-script entry point: run the worker, fatal errors become exit codes."""
    run_worker(DemoWorker)


if __name__ == "__main__":
    main()
