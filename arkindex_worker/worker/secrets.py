"""Secrets of a worker: the developer's local secret files and the parsing of contents.

[BaseWorker.load_secret][arkindex_worker.worker.base.BaseWorker.load_secret]
asks the API first, then reads a local file with
[read_local_secret][arkindex_worker.worker.secrets.read_local_secret], and
parses the content with [parse_secret][arkindex_worker.worker.secrets.parse_secret].
A secret's content is never logged.

A secret-typed configuration item ([load_secret_item][arkindex_worker.worker.secrets.load_secret_item])
names a secret on servers that have them. Its value is only used in a URL or a
local path when it is a plain relative name (`is_secret_name`); when that
secret is missing, the messages name the item's configuration key, never its
value, which may well be the secret itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from arkindex_worker import logger
from arkindex_worker.errors import ErrorResponse, SecretUnavailableError

if TYPE_CHECKING:
    from arkindex_worker.worker.base import BaseWorker

__all__ = [
    "gpg_decrypt",
    "is_secret_name",
    "load_secret_item",
    "local_secret_path",
    "parse_secret",
    "read_local_secret",
    "secret_label",
    "unavailable_detail",
]

MAX_NAME_LENGTH = 255
_NAME_PART = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_SECRET_NAME = re.compile(rf"{_NAME_PART}(?:/{_NAME_PART})*\Z")
# The configuration key of the secret item being loaded, if any
_ITEM_KEY: ContextVar[str | None] = ContextVar("secret_item_key", default=None)


def is_secret_name(value: Any) -> bool:
    """Whether a value is a plain relative secret name, fit for a URL and a path.

    Parts of letters, digits, ``.``, ``_`` and ``-`` (not starting with a
    dot), joined by ``/``, at most 255 characters: e.g. ``path/to/model.json``
    or a UUID. No absolute path, no ``..``, no empty part, no other character.
    """
    return (
        isinstance(value, str)
        and len(value) <= MAX_NAME_LENGTH
        and _SECRET_NAME.match(value) is not None
    )


def secret_label(name: Path | str) -> str:
    """How messages name a secret: ``Secret {name}``, or by configuration key.

    Within `load_secret_item`, ``Secret of configuration key `{key}```.
    """
    key = _ITEM_KEY.get()
    return f"Secret {name}" if key is None else f"Secret of configuration key `{key}`"


def unavailable_detail(error: ErrorResponse) -> Any:
    """What a warning says of the API's refusal: its content, or only its status.

    Within `load_secret_item`, the status only: the answer may repeat the name.
    """
    if _ITEM_KEY.get() is None:
        return error.content
    return f"HTTP {error.status_code}"


@contextmanager
def _item(key: str) -> Iterator[None]:
    token = _ITEM_KEY.set(str(key))
    try:
        yield
    finally:
        _ITEM_KEY.reset(token)


def load_secret_item(worker: BaseWorker, key: str, value: Any) -> Any:
    """The secret a secret configuration item names, through `worker.load_secret`.

    Its messages name the configuration key, not the value, when the secret is
    missing (an available secret is logged by its name, as by `load_secret`).

    Raises:
        SecretUnavailableError: The value is not a secret name (nothing is
            sent), the API could not be asked (no answer), or the secret is
            available neither on the API nor locally.
    """
    if not is_secret_name(value):
        raise SecretUnavailableError(
            f"Secret of configuration key `{key}` is not available: its value is "
            "not a secret name (letters, digits, '.', '_', '-' and '/' only)"
        )
    with _item(key):
        try:
            return worker.load_secret(Path(value))
        except requests.RequestException as error:
            # Its message would show the URL, and so the value
            raise SecretUnavailableError(
                f"Secret of configuration key `{key}` could not be asked to the "
                f"API: {type(error).__name__}"
            ) from None


def local_secret_path(name: Path | str) -> Path:
    """Path of a local secret: ``$XDG_CONFIG_HOME/arkindex/secrets/<name>``.

    ``XDG_CONFIG_HOME`` defaults to ``~/.config`` (also when set but empty).
    """
    config_home = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(config_home).expanduser() / "arkindex" / "secrets" / name


def read_local_secret(name: Path | str) -> str | None:
    """The decrypted content of a local secret; ``None`` when absent or unreadable.

    The file is decrypted with the ``gpg`` command; a failure is logged at ERROR.
    """
    path = local_secret_path(name)
    if not path.exists():
        return None
    try:
        secret = gpg_decrypt(path)
        logging.info(f"Loaded local secret {name}")
    except Exception as e:
        key = _ITEM_KEY.get()
        if key is None:
            logger.error(f"Local secret {name} is not available as {path}: {e}")
        else:
            logger.error(
                f"Local secret of configuration key `{key}` is not available: {e}"
            )
        return None
    return secret


def gpg_decrypt(path: Path) -> str:
    """Decrypt a file with the ``gpg`` command and return the plaintext.

    Raises:
        RuntimeError: ``gpg`` is not installed or fails (its messages included).
    """
    if shutil.which("gpg") is None:
        raise RuntimeError("the gpg command is required to read local secrets")
    result = subprocess.run(
        ["gpg", "--batch", "--quiet", "--decrypt", str(path)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        stderr = "; ".join(
            line.strip()
            for line in result.stderr.decode("utf-8", errors="replace").splitlines()
            if line.strip()
        )
        raise RuntimeError(f"GPG error: exit status {result.returncode} - {stderr}")
    return result.stdout.decode("utf-8")


def parse_secret(name: Path, content: str) -> Any:
    """Parse a secret's content by its name's suffix (JSON, YAML, else raw text).

    Content that does not parse is returned as it is, after an ERROR that does
    not include it.
    """
    suffix = name.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(content)
        if suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(content)
    except Exception as e:
        for mark in ("context_mark", "problem_mark"):
            # YAML shows the lines around an error: parts of the secret
            if getattr(e, mark, None) is not None:
                getattr(e, mark).buffer = None
        logger.error(f"Failed to parse secret {name}: {e}")
    return content
