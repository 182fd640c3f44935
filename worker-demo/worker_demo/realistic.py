"""A worker shaped like a real recognizer: image in, model, two publications out.

On each element (a page):

1. open its image (``element.open_image()``: a IIIF download of its zone, then
   decoded to pixels);
2. run the "model": ``time.sleep`` for ``REALISTIC_MODEL_SECONDS`` (environment
   variable, 0.2 s by default), standing for a GPU or CPU inference;
3. publish one classification and one bulk transcription request
   (``create_transcriptions``) of three lines of text on the element itself.

``benchmarks/workers.py`` runs it as the ``worker-realistic`` console script
against the loopback API double, which also serves the images.
"""

from __future__ import annotations

import os
import time
from typing import NoReturn

from arkindex_worker.cli import run_worker
from arkindex_worker.models import Element
from arkindex_worker.worker import CachedElement, ElementsWorker

__all__ = [
    "DEFAULT_MODEL_SECONDS",
    "LINES",
    "MODEL_SECONDS_VARIABLE",
    "RealisticWorker",
    "main",
]

MODEL_SECONDS_VARIABLE = "REALISTIC_MODEL_SECONDS"
DEFAULT_MODEL_SECONDS = 0.2
LINES = 3
"""Lines of text "recognised" on each element."""
ML_CLASS = "handwritten"
CONFIDENCE = 0.9


def model_seconds() -> float:
    """Duration of the model step: ``REALISTIC_MODEL_SECONDS``, else 0.2 s."""
    value = os.environ.get(MODEL_SECONDS_VARIABLE)
    return DEFAULT_MODEL_SECONDS if value in (None, "") else float(value)


class RealisticWorker(ElementsWorker):
    """Open the image, run a (sleeping) model, classify and transcribe the element."""

    def __init__(self) -> None:
        super().__init__(description="Realistic worker: image, model, publications")
        self.model_seconds = model_seconds()

    def process_element(self, element: Element | CachedElement) -> None:
        """Image, model, one classification, one bulk transcription."""
        image = element.open_image()
        image.load()  # a model reads the pixels: decode the JPEG
        time.sleep(self.model_seconds)
        width, height = image.size
        self.create_classification(element, ML_CLASS, CONFIDENCE)
        self.create_transcriptions(
            [
                {
                    "element_id": str(element.id),
                    "text": f"Line {number} of a {width}x{height} page",
                    "confidence": CONFIDENCE,
                }
                for number in range(1, LINES + 1)
            ]
        )


def main() -> NoReturn:
    """Console-script entry point."""
    run_worker(RealisticWorker)
