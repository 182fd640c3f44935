"""The benchmark scenario worker: a fixed set of publications on each element.

On each element: two sub-elements (one bulk request), one transcription, one
classification and one metadata. ``benchmarks/workers.py`` runs it as the
``worker-scenario`` console script against the loopback API double.
"""

from __future__ import annotations

from typing import NoReturn

from arkindex_worker.cli import run_worker
from arkindex_worker.models import Element
from arkindex_worker.worker import CachedElement, ElementsWorker, MetaType

__all__ = ["ScenarioWorker", "main"]


class ScenarioWorker(ElementsWorker):
    """Publish two sub-elements, a transcription, a classification and a metadata."""

    def process_element(self, element: Element | CachedElement) -> None:
        """The scenario's publications on one element."""
        polygon = element.polygon
        self.create_elements(
            element,
            [
                {"name": "top", "type": "text_line", "polygon": polygon},
                {"name": "bottom", "type": "text_line", "polygon": polygon},
            ],
        )
        self.create_transcription(element, "benchmark text", 0.9)
        self.create_classification(element, "benchmark", 0.9)
        self.create_metadata(element, MetaType.Numeric, "lines", "2")


def main() -> NoReturn:
    """Console-script entry point."""
    run_worker(ScenarioWorker, description="Benchmark scenario worker")
