"""Response decoding and downloaded files.

The decoder is chosen from the `Content-Type` header: `application/json` → JSON,
`text/*` → text, anything else → a `DownloadedFile`; no header at all → JSON.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import tempfile
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlparse

import requests

__all__ = [
    "ACCEPT",
    "DownloadedFile",
    "content_type",
    "decode_response",
    "download",
    "looks_like_html",
]

ACCEPT = "application/json, text/*, */*"
CHUNK_SIZE = 64 * 1024
HTML_DOCUMENT = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<!doctype\s+html|<html[\s>])", re.I
)


class DownloadedFile(io.BufferedReader):
    """A downloaded file in the temporary directory, deleted when closed.

    Opened in binary read mode at the start of the file; usable as a context
    manager. Attributes `name` (absolute path) and `basename`.
    """

    def __init__(self, path: str) -> None:
        super().__init__(io.FileIO(path, "rb"))
        self.basename = os.path.basename(path)

    def __repr__(self) -> str:
        return f"<DownloadedFile {self.name!r}>"

    def __del__(self) -> None:
        # Garbage collection deletes the file too, without a ResourceWarning:
        # that is part of the contract, not a leak.
        try:
            closed = self.closed
        except ValueError:  # never initialised: the file could not be opened
            return
        if not closed:
            self.close()

    def close(self) -> None:
        """Close and delete the file."""
        path = self.name
        try:
            super().close()
        finally:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _sanitise(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isalnum() or char in " ._-")
    return name.strip(" .")


@functools.cache
def _mime_types():
    import mimetypes

    # Only Python's built-in table: the machine's /etc/mime.types would make
    # names depend on the host (e.g. application/x-sqlite3 → .sqlite).
    return mimetypes.MimeTypes()


def _extension(content_type: str) -> str:
    if not content_type:
        return ""
    return _mime_types().guess_extension(content_type) or ""


def content_type(response: requests.Response) -> str | None:
    """Media type of an answer, lower-cased without parameters (`None` if absent)."""
    value = response.headers.get("Content-Type")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower()


def _friendly_name(response: requests.Response) -> str:
    disposition = response.headers.get("Content-Disposition")
    if disposition:
        message = Message()
        message["Content-Disposition"] = disposition
        filename = _sanitise(message.get_filename() or "")
        if filename:
            return filename
    extension = _extension(content_type(response) or "")
    name = _sanitise(unquote(urlparse(response.url or "").path))
    if name:
        return name if "." in name else name + extension
    return "download" + extension


def _claim(directory: str, name: str) -> str:
    """Create an empty file at a free path (`name`, then `name (1)`, …)."""
    stem, suffix = os.path.splitext(name)
    index = 0
    while True:
        candidate = name if index == 0 else f"{stem} ({index}){suffix}"
        path = os.path.join(directory, candidate)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return path
        except FileExistsError:
            index += 1


def download(response: requests.Response) -> DownloadedFile:
    """Stream a response body to the temporary directory and open it."""
    directory = tempfile.gettempdir()
    handle, temporary = tempfile.mkstemp(prefix="arkindex-download-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            for chunk in response.iter_content(CHUNK_SIZE):
                file.write(chunk)
        path = _claim(directory, _friendly_name(response))
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return DownloadedFile(path)


def looks_like_html(response: requests.Response) -> bool:
    """Whether a (fully read) answer is an HTML document, whatever its content type.

    Only whole documents count (`<!DOCTYPE html…` or `<html…` first): a text
    answer holding an HTML fragment is still returned as text.
    """
    return bool(HTML_DOCUMENT.match((response.content or b"")[:1024]))


def decode_response(response: requests.Response, as_file: bool = False) -> Any:
    """Decode a response body: JSON, text, file, or `None` for an empty body.

    Args:
        response: The answer.
        as_file: Always return a `DownloadedFile` (operations answering with a file).
    """
    if as_file:
        return download(response)
    if not response.content:
        return None
    media = content_type(response)
    if media is None or media == "application/json":
        return json.loads(response.content.decode("utf-8"))
    if media.startswith("text/"):
        return response.text
    return download(response)
