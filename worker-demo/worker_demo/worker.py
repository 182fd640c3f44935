"""An example Arkindex worker: "transcribe" the lines of each element it is given.

For every element (typically a page), the worker:

1. reads its configuration (`line_type`, `ml_class`, `confidence`, with defaults);
2. lists the element's children of type `line_type`;
3. when there are none, creates one line covering the whole element;
4. publishes one transcription per line (one bulk request), a classification of
   the element and a numeric metadata holding its number of lines.

Run it with ``worker-demo --element <page id>`` (needs ``ARKINDEX_API_URL``,
``ARKINDEX_API_TOKEN`` and ``ARKINDEX_WORKER_RUN_ID``), or in developer mode with
``worker-demo --dev --config config.yml --element <page id>``: nothing is then
published. With ``--dev --database cache.sqlite`` it runs offline on that cache
(``make demo``).
"""

from __future__ import annotations

from typing import Any, NoReturn

from arkindex_worker import logger
from arkindex_worker.cli import run_worker
from arkindex_worker.models import Element
from arkindex_worker.worker import CachedElement, ElementsWorker, MetaType

__all__ = ["DEFAULT_CONFIGURATION", "DemoWorker", "main", "transcribe"]

DEFAULT_CONFIGURATION = {
    "line_type": "text_line",
    "ml_class": "demo",
    "confidence": 0.9,
}
"""Configuration keys read by the worker, with their default values."""


def _describe(child: dict | CachedElement) -> dict[str, str]:
    """ID and name of a child from the API (a dict) or from the cache (no name)."""
    if isinstance(child, CachedElement):
        return {"id": str(child.id), "name": str(child.id)}
    return {"id": child["id"], "name": child["name"]}


def transcribe(line: dict[str, Any]) -> str:
    """The text "recognised" on a line (a stand-in for a real model)."""
    return f"Text of {line['name']}"


class DemoWorker(ElementsWorker):
    """Transcribe the lines of each element, classify it and count its lines."""

    def __init__(self) -> None:
        super().__init__(
            description="Demo worker: transcribe the lines of each element",
            support_cache=True,
        )

    def setting(self, key: str) -> Any:
        """A configuration value, or its default from `DEFAULT_CONFIGURATION`."""
        return self.config.get(key, DEFAULT_CONFIGURATION[key])

    def process_element(self, element: Element | CachedElement) -> None:
        """Publish the transcriptions, classification and metadata of one element."""
        line_type = self.setting("line_type")
        confidence = self.setting("confidence")

        lines = [
            _describe(child)
            for child in self.list_element_children(element, type=line_type)
        ]
        if not lines:
            lines = self.create_whole_line(element, line_type)
        logger.debug(f"Found {len(lines)} lines in element {element.id}")

        if lines:
            self.create_transcriptions(
                transcriptions=[
                    {
                        "element_id": line["id"],
                        "text": transcribe(line),
                        "confidence": confidence,
                    }
                    for line in lines
                ]
            )
        self.create_classification(element, self.setting("ml_class"), confidence)
        self.create_metadata(element, MetaType.Numeric, "lines", str(len(lines)))

    def create_whole_line(
        self, element: Element | CachedElement, line_type: str
    ) -> list[dict[str, str]]:
        """Create one line covering the whole element (none in read-only mode)."""
        if not isinstance(element, Element) or not element.get("zone"):
            return []
        line_id = self.create_sub_element(
            element, type=line_type, name="1", polygon=element.polygon
        )
        return [{"id": line_id, "name": "1"}] if line_id else []


def main() -> NoReturn:
    """Console-script entry point: run the worker, fatal errors become exit codes."""
    run_worker(DemoWorker)


if __name__ == "__main__":
    main()
