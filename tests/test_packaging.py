"""Packaging metadata that today's setuptools reads without a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("project", ["pyproject.toml", "worker-demo/pyproject.toml"])
def test_license_is_an_spdx_string(project):
    path = ROOT / project
    data = tomllib.loads(path.read_text())

    # A TOML table is deprecated (setuptools warns on every build step)
    assert data["project"]["license"] == "MIT"
    for pattern in data["project"].get("license-files", []):
        assert list(path.parent.glob(pattern)), pattern
    # SPDX expressions and license-files need setuptools 77
    assert data["build-system"]["requires"] == ["setuptools>=77"]


def test_the_license_file_is_shipped():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
