"""`make demo`: run the example worker offline on the bundled demo database.

1. copy ``demo/demo.sqlite`` and its ``images`` folder to ``demo-output/``: the
   database stores image paths relative to its own folder, so the copy opens
   the copied images as is;
2. run the ``worker-demo`` console script on it, offline (``--dev --database``)
   with ``demo/config.yml`` (which turns the image step on): no Arkindex server,
   no network;
3. print what the run created: rows per table, and a few of the new rows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
OUTPUT_DIR = DEMO_DIR.parent / "demo-output"
CONFIG = DEMO_DIR / "config.yml"
TABLES = [
    "images",
    "elements",
    "transcriptions",
    "classifications",
    "entities",
    "transcription_entities",
    "offline_metadata",
]
SAMPLES = {
    "Some new elements": "SELECT id, type, polygon FROM elements "
    "WHERE type NOT IN ('folder', 'page', 'text_line')",
    "Some transcriptions": "SELECT t.text, t.confidence, e.type FROM transcriptions t "
    "JOIN elements e ON e.id = t.element_id",
    "Some classifications": "SELECT class_name, confidence, state FROM classifications",
    "Some entities": "SELECT e.name, e.type, substr(t.text, l.offset + 1, l.length) "
    "FROM transcription_entities l JOIN entities e ON e.id = l.entity_id "
    "JOIN transcriptions t ON t.id = l.transcription_id",
    "Some metadata": "SELECT name, type, value FROM offline_metadata "
    "WHERE name != 'image size'",
    "Some image sizes": "SELECT m.value, e.polygon FROM offline_metadata m "
    "JOIN elements e ON e.id = m.element_id WHERE m.name = 'image size'",
}
"""Title and query of the rows shown after the run."""


def prepare_database(output_dir: Path = OUTPUT_DIR) -> Path:
    """A fresh working copy of the demo database and of its images folder."""
    output_dir.mkdir(exist_ok=True)
    database = output_dir / "demo.sqlite"
    shutil.copyfile(DEMO_DIR / "demo.sqlite", database)
    shutil.copytree(DEMO_DIR / "images", output_dir / "images", dirs_exist_ok=True)
    return database


def worker_command(database: Path) -> list[str]:
    """The ``worker-demo`` command line of an offline run on ``database``."""
    script = Path(sys.executable).with_name("worker-demo")
    return [str(script), "--dev", "--config", str(CONFIG), "--database", str(database)]


def offline_env() -> dict[str, str]:
    """This process's environment without any Arkindex or task variable."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARKINDEX_", "PONOS_"))
    }


def query(database: Path, sql: str) -> list[tuple]:
    """Rows of a query on the database."""
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def counts(database: Path) -> dict[str, int]:
    """Rows per table (0 for a table that does not exist)."""
    existing = {
        name
        for (name,) in query(
            database, "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    return {
        table: query(database, f'SELECT COUNT(*) FROM "{table}"')[0][0]
        if table in existing
        else 0
        for table in TABLES
    }


def show_rows(database: Path, title: str, sql: str, limit: int = 4) -> None:
    """Print the first rows of a query."""
    print(f"\n{title}:")
    for row in query(database, f"{sql} LIMIT {limit}"):
        print("  " + " | ".join(str(value) for value in row))


def main() -> int:
    database = prepare_database()
    before = counts(database)
    command = worker_command(database)
    print("$ " + " ".join(command), flush=True)
    status = subprocess.run(command, env=offline_env(), check=False).returncode
    if status != 0:
        print(f"worker-demo exited with status {status}", file=sys.stderr)
        return status

    after = counts(database)
    print(f"\nResults in {database}:")
    print(f"  {'table':<24}{'before':>8}{'after':>8}{'created':>9}")
    for table in TABLES:
        created = after[table] - before[table]
        print(f"  {table:<24}{before[table]:>8}{after[table]:>8}{created:>9}")
    for title, sql in SAMPLES.items():
        show_rows(database, title, sql)
    return 0


if __name__ == "__main__":
    sys.exit(main())
