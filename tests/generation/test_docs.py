"""The code examples of docs/generations.md run, and say what they show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arkindex_worker import compat

PAGE = Path(__file__).resolve().parents[2] / "docs" / "generations.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_examples():
    assert len(BLOCKS) == 2


@pytest.mark.parametrize("code", BLOCKS, ids=["compat-attribute", "compat-module"])
def test_example_runs(code):
    namespace: dict = {}
    exec(compile(code, str(PAGE), "exec"), namespace)

    if "MyWorker" in namespace:
        assert namespace["MyWorker"]().generation == "0.6"
    else:
        assert compat.current_generation() == "0.4"  # reset by the example
