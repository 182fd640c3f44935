"""Local configuration files of a read-only worker (``--config``).

[BaseWorker.configure_for_developers][arkindex_worker.worker.base.BaseWorker.configure_for_developers]
reads the file with [read_local_config][arkindex_worker.worker.configuration.read_local_config]
and tells its two formats apart with
[is_item_list][arkindex_worker.worker.configuration.is_item_list].
"""

from __future__ import annotations

import argparse
from typing import IO

__all__ = ["is_item_list", "open_text_file", "read_local_config"]


def open_text_file(path: str) -> IO[str]:
    """Argparse type opening a text file; an ``OSError`` becomes an argparse error.

    Upstream uses ``type=open``, which lets a missing file end in a traceback.
    """
    try:
        return open(path)
    except OSError as e:
        raise argparse.ArgumentTypeError(f"can't open '{path}': {e.strerror}")


def read_local_config(file: IO[str]) -> dict:
    """Read a local YAML configuration file, which must hold a mapping; closes it.

    Raises:
        ValueError: the file is not valid YAML, or does not hold a mapping.
    """
    import yaml  # only for local configurations: not at start-up

    try:
        with file:
            config = yaml.safe_load(file)
    except yaml.YAMLError as e:
        raise ValueError(
            f"Configuration file {file.name} is not valid YAML: {_yaml_problem(e)}"
        ) from None
    if not isinstance(config, dict):
        raise ValueError(
            f"Configuration file {file.name} should hold a mapping of settings, "
            f"not {type(config).__name__}"
        )
    return config


def is_item_list(config: dict) -> bool:
    """Whether a local configuration is a saved ``RetrieveWorkerRunConfiguration``.

    That answer holds a ``configuration`` list of ``{key, value, secret}`` items;
    the other format is a plain mapping of settings (the 0.4 format).
    """
    items = config.get("configuration")
    return isinstance(items, list) and all(
        isinstance(item, dict) and "key" in item for item in items
    )


def _yaml_problem(error: Exception) -> str:
    """One line describing a YAML syntax error, with its position when known."""
    problem = getattr(error, "problem", None) or type(error).__name__
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return problem
