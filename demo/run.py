"""`make demo`: run the example worker offline on the bundled demo database.

1. copy ``demo/demo.sqlite`` to ``demo-output/demo.sqlite`` and point its image
   URLs at the bundled PNG files;
2. run the ``worker-demo`` console script on it, offline (``--dev --database``):
   no Arkindex server, no network;
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
TABLES = [
    "images",
    "elements",
    "transcriptions",
    "classifications",
    "entities",
    "transcription_entities",
    "offline_metadata",
]


def prepare_database() -> Path:
    """A fresh working copy of the demo database, with absolute image URLs."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    database = OUTPUT_DIR / "demo.sqlite"
    shutil.copyfile(DEMO_DIR / "demo.sqlite", database)
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE images SET url = ? || url", ((DEMO_DIR.as_uri() + "/"),)
        )
    return database


def counts(database: Path) -> dict[str, int]:
    """Rows per table (0 for a table that does not exist)."""
    with sqlite3.connect(database) as connection:
        existing = {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        return {
            table: connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            if table in existing
            else 0
            for table in TABLES
        }


def show_rows(database: Path, title: str, query: str, limit: int = 4) -> None:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(f"{query} LIMIT {limit}").fetchall()
    print(f"\n{title}:")
    for row in rows:
        print("  " + " | ".join(str(value) for value in row))


def main() -> int:
    database = prepare_database()
    before = counts(database)
    script = Path(sys.executable).with_name("worker-demo")
    command = [str(script), "--dev", "--database", str(database)]
    print("$ " + " ".join(command), flush=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARKINDEX_", "PONOS_"))
    }
    status = subprocess.run(command, env=env, check=False).returncode
    if status != 0:
        print(f"worker-demo exited with status {status}", file=sys.stderr)
        return status

    after = counts(database)
    print(f"\nResults in {database}:")
    print(f"  {'table':<24}{'before':>8}{'after':>8}{'created':>9}")
    for table in TABLES:
        created = after[table] - before[table]
        print(f"  {table:<24}{before[table]:>8}{after[table]:>8}{created:>9}")

    show_rows(
        database,
        "Some transcriptions",
        "SELECT t.text, t.confidence, e.type FROM transcriptions t "
        "JOIN elements e ON e.id = t.element_id",
    )
    show_rows(
        database,
        "Some classifications",
        "SELECT class_name, confidence, state FROM classifications",
    )
    if after["offline_metadata"]:
        show_rows(
            database,
            "Some metadata",
            "SELECT name, type, value FROM offline_metadata",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
