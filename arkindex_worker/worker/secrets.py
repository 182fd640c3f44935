"""Secrets of a worker: the developer's local secret files and the parsing of contents.

[BaseWorker.load_secret][arkindex_worker.worker.base.BaseWorker.load_secret]
asks the API first, then reads a local file with
[read_local_secret][arkindex_worker.worker.secrets.read_local_secret], and
parses the content with [parse_secret][arkindex_worker.worker.secrets.parse_secret].
A secret's content is never logged.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from arkindex_worker import logger

__all__ = ["gpg_decrypt", "local_secret_path", "parse_secret", "read_local_secret"]


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
        logger.error(f"Local secret {name} is not available as {path}: {e}")
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
        logger.error(f"Failed to parse secret {name}: {e}")
    return content
