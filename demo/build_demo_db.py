"""Regenerate the bundled demo data: page images and the demo cache database.

Run from the repository root: ``python demo/build_demo_db.py``. The output is
committed (``demo/images/*.png`` and ``demo/demo.sqlite``); image URLs in the
database are relative to the ``demo/`` folder (the database's own), so a copy of
the database and its ``images`` folder opens its images offline.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from PIL import Image, ImageDraw

from arkindex_worker.cache import (
    CachedElement,
    CachedImage,
    create_tables,
    create_version_table,
    init_cache_db,
)

DEMO_DIR = Path(__file__).resolve().parent
NAMESPACE = uuid.UUID("6c1b2d3e-0000-4000-8000-00000000d3e0")

PAGES = [
    [
        "Dear Sir,",
        "I write to you from Paris",
        "where the weather is fine.",
        "Yours truly",
    ],
    ["Inventory of the estate", "one oak table", "two silver candlesticks"],
    [
        "Minutes of the meeting",
        "held on the fifth of May",
        "in the town hall",
        "Signed",
    ],
]
PAGE_SIZE = (900, 600)
LINE_HEIGHT = 80
MARGIN = 60


def demo_id(*parts: object) -> str:
    """Stable UUID of a demo object, so rebuilding gives the same database."""
    return str(uuid.uuid5(NAMESPACE, "/".join(map(str, parts))))


def line_polygon(index: int, text: str) -> list[list[int]]:
    top = MARGIN + index * (LINE_HEIGHT + 40)
    right = min(PAGE_SIZE[0] - MARGIN, MARGIN + 40 + 22 * len(text))
    bottom = top + LINE_HEIGHT
    return [
        [MARGIN, top],
        [right, top],
        [right, bottom],
        [MARGIN, bottom],
        [MARGIN, top],
    ]


def draw_page(lines: list[str], path: Path) -> None:
    image = Image.new("RGB", PAGE_SIZE, "white")
    draw = ImageDraw.Draw(image)
    for index, text in enumerate(lines):
        (left, top), _, (right, bottom), *_ = line_polygon(index, text)
        draw.rectangle([left, top, right, bottom], outline=(200, 200, 230))
        draw.text((left + 20, top + 20), text, fill="black", font_size=36)
    image.save(path, optimize=True)


def build(database: Path) -> None:
    images_dir = DEMO_DIR / "images"
    images_dir.mkdir(exist_ok=True)
    database.unlink(missing_ok=True)
    init_cache_db(database)
    create_version_table()
    create_tables()

    folder = CachedElement.create(id=demo_id("folder"), type="folder")
    for page_number, lines in enumerate(PAGES, start=1):
        filename = f"page-{page_number}.png"
        draw_page(lines, images_dir / filename)
        image = CachedImage.create(
            id=demo_id("image", page_number),
            width=PAGE_SIZE[0],
            height=PAGE_SIZE[1],
            url=f"images/{filename}",
        )
        width, height = PAGE_SIZE
        page = CachedElement.create(
            id=demo_id("page", page_number),
            parent_id=folder.id,
            type="page",
            image=image.id,
            polygon=[[0, 0], [width, 0], [width, height], [0, height], [0, 0]],
            initial=True,
        )
        for index, text in enumerate(lines):
            CachedElement.create(
                id=demo_id("line", page_number, index),
                parent_id=page.id,
                type="text_line",
                image=image.id,
                polygon=line_polygon(index, text),
            )


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEMO_DIR / "demo.sqlite")
