"""Fixtures of the image tests: generated images and a loopback IIIF-like server.

Images are generated with Pillow so that every pixel encodes its position
([pixel_colour][tests.images.conftest.pixel_colour]): a crop is right when its
pixels are the expected ones. The server (``http.server`` on ``127.0.0.1``, port 0)
implements the few IIIF image requests the SDK sends, independently of the code
under test, and always answers PNG bytes (lossless, so pixels can be compared
exactly; Pillow reads the content, not the extension).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from PIL import Image

IMAGE_SIZE = (300, 200)
IDENTIFIER = "page.png"
IIIF_REQUEST = re.compile(
    r"^/iiif/(?P<identifier>[^/]+)/(?P<region>[^/]+)/(?P<size>[^/]+)/(?P<rotation>[^/]+)/default\.\w+$"
)


def pixel_colour(x: int, y: int) -> tuple[int, int, int]:
    """Colour of pixel ``(x, y)`` of a generated image: unique up to 2560×256."""
    return (x % 256, y % 256, (x // 256) * 25)


def generate_image(width: int, height: int) -> Image.Image:
    """An RGB image whose pixel colours encode their positions."""
    image = Image.new("RGB", (width, height))
    image.putdata([pixel_colour(x, y) for y in range(height) for x in range(width)])
    return image


def png_bytes(image: Image.Image) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format="png")
    return buffer.getvalue()


@dataclass
class IIIFState:
    """What the server serves and what it received."""

    image: Image.Image
    failures: list[int] = field(default_factory=list)
    """Statuses answered (and consumed) before serving anything."""
    refused_sizes: set[str] = field(default_factory=set)
    """IIIF sizes answered with a 400 (as IIIF 3 servers do for ``full``)."""
    tiles: list[dict] | None = None
    """Tiles announced by ``info.json``."""
    info: dict | None = None
    """Replaces the whole ``info.json`` answer."""
    tile_padding: tuple[int, int] = (0, 0)
    """Pixels added to the width and height of every served region (buggy servers)."""
    requests: list[str] = field(default_factory=list)
    """``METHOD path`` of every request."""
    bodies: list[bytes] = field(default_factory=list)
    """Bodies of the ``PUT`` requests."""
    headers: list[dict] = field(default_factory=list)


def _region(region: str, image: Image.Image) -> Image.Image:
    if region == "full":
        return image
    x, y, w, h = (int(value) for value in region.split(","))
    return image.crop((x, y, min(x + w, image.width), min(y + h, image.height)))


def _size(size: str, width: int, height: int) -> tuple[int, int]:
    if size in ("full", "max"):
        return width, height
    best_fit = size.startswith("!")
    w, h = (int(value) if value else None for value in size.lstrip("!").split(","))
    if w and h and best_fit:
        scale = min(w / width, h / height)
        return round(width * scale), round(height * scale)
    if w and h:
        return w, h
    if w:
        return w, round(height * w / width)
    return round(width * h / height), h


class _Handler(BaseHTTPRequestHandler):
    state: IIIFState

    def log_message(self, format, *args):  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> bool:
        """Record the request; answer a planned failure and return True if any."""
        self.state.requests.append(f"{self.command} {self.path}")
        self.state.headers.append(dict(self.headers))
        if self.state.failures:
            self._send(self.state.failures.pop(0), b"planned failure")
            return True
        return False

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.state.bodies.append(body)
        if not self._record():
            self._send(200)

    def do_GET(self):
        if self._record():
            return
        state = self.state
        if self.path == f"/iiif/{IDENTIFIER}/info.json":
            info = state.info or {
                "width": state.image.width,
                "height": state.image.height,
                **({"tiles": state.tiles} if state.tiles else {}),
            }
            self._send(200, json.dumps(info).encode(), "application/json")
            return
        match = IIIF_REQUEST.match(self.path)
        if not match or match["identifier"] != IDENTIFIER or match["rotation"] != "0":
            self._send(404)
            return
        if match["size"] in state.refused_sizes:
            self._send(400, b"size refused")
            return
        image = _region(match["region"], state.image)
        image = image.resize(_size(match["size"], *image.size))
        if state.tile_padding != (0, 0):
            padded = Image.new(
                "RGB",
                (
                    image.width + state.tile_padding[0],
                    image.height + state.tile_padding[1],
                ),
            )
            padded.paste(image, (0, 0))
            image = padded
        self._send(200, png_bytes(image), "image/png")


@dataclass
class IIIFServer:
    """A running loopback server; ``url`` is the IIIF base URL of its image."""

    state: IIIFState
    root: str

    @property
    def url(self) -> str:
        return f"{self.root}/iiif/{IDENTIFIER}"

    def zone_url(self, x: int, y: int, width: int, height: int) -> str:
        return f"{self.url}/{x},{y},{width},{height}/full/0/default.jpg"


@pytest.fixture
def reference() -> Image.Image:
    """The generated image the server serves."""
    return generate_image(*IMAGE_SIZE)


@pytest.fixture
def iiif_server(reference, monkeypatch) -> Iterator[IIIFServer]:
    """A loopback IIIF-like server serving ``reference``."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    state = IIIFState(image=reference)
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval keeps shutdown() fast.
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield IIIFServer(state=state, root=f"http://127.0.0.1:{httpd.server_port}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def image_file(reference, tmp_path):
    """``reference`` saved as a PNG file."""
    path = tmp_path / "images" / "page-1.png"
    path.parent.mkdir()
    reference.save(path)
    return path


def same_pixels(image: Image.Image, expected: Image.Image) -> bool:
    """Whether two images have the same mode, size and pixels."""
    return (
        image.mode == expected.mode
        and image.size == expected.size
        and image.tobytes() == expected.tobytes()
    )
