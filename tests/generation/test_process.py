"""A 0.6 worker's process: a configuration failure is one ERROR line and status 1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    from arkindex_worker.worker import ElementsWorker

    class Demo(ElementsWorker):
        compat = sys.argv.pop(1)

    Demo().run()
    """
)


def run(tmp_path, compat: str) -> subprocess.CompletedProcess:
    config = tmp_path / "config.yml"
    config.write_text("configuration: [1]\n")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ARKINDEX_", "PONOS_"))
    }
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, compat, "--dev", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_configure_failure_exits_1_with_one_line_under_06(tmp_path):
    result = run(tmp_path, "0.6")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = [
        line for line in result.stderr.splitlines() if "Failed to configure" in line
    ]
    assert line.endswith(
        "Failed to configure this worker: ValueError('Configuration file "
        f"{tmp_path / 'config.yml'} should hold a list of configuration items "
        "(mappings with a key) under `configuration`')"
    )


@pytest.mark.parametrize("compat", ["0.4", "auto"])
def test_configure_success_under_04_reads_the_mapping(tmp_path, compat):
    # 0.4 meaning: the whole mapping is the configuration, no element: exit 1
    result = run(tmp_path, compat)

    assert result.returncode == 1
    assert "Failed to configure" not in result.stderr
    assert "No elements to process, stopping." in result.stderr
