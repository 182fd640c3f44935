"""Names from data become paths only when plain; local images only offline (issue 14, items 9-10)."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from arkindex_worker.cache import CachedElement, CachedImage
from arkindex_worker.errors import ArkindexWorkerError, UnsafePathError
from arkindex_worker.models import Dataset, Element
from arkindex_worker.validation import plain_name
from arkindex_worker.worker import ElementsWorker
from tests.conftest import TASK_ID

REPOSITORY = Path(__file__).resolve().parents[2]
DEMO = REPOSITORY / "demo"


@pytest.mark.parametrize(
    "name", ["page", "x.tar.zst", "é-ü 1", "..x", "x..", ".hidden", "a b"]
)
def test_plain_names_are_kept(name):
    assert plain_name(name, "Dataset archive") == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "../x",
        "x/..",
        "a/b",
        "/etc/passwd",
        "a\\b",
        "..\\x",
        "C:x",
        "C:\\x",
        "a\x00b",
        None,
        42,
    ],
)
def test_other_names_are_refused(name):
    with pytest.raises(UnsafePathError) as error:
        plain_name(name, "Dataset archive")

    assert str(error.value) == f"Dataset archive name {name!r} is not a plain file name"
    assert isinstance(error.value, ArkindexWorkerError)
    assert isinstance(error.value, ValueError)


# ---------------------------------------------------------------- dataset archives


@pytest.fixture
def dataset_worker(mock_dataset_worker, tmp_path):
    extras = tmp_path / "extras"
    extras.mkdir()
    mock_dataset_worker.args = mock_dataset_worker.parser.parse_args(
        ["--extras-dir", str(extras)]
    )
    return mock_dataset_worker


@pytest.mark.parametrize(
    "dataset_id",
    ["../escape", "sub/../../escape", str(Path("/tmp") / "absolute-escape")],
)
def test_dataset_archive_outside_the_extras_directory_is_refused(
    dataset_worker, mock_api, tmp_path, dataset_id
):
    before = sorted(tmp_path.rglob("*"))
    dataset = Dataset(id=dataset_id, name="D", task_id=TASK_ID, sets=["train"])

    with pytest.raises(
        UnsafePathError, match="^Dataset archive name .* is not a plain file name$"
    ):
        dataset_worker.download_dataset_artifact(dataset)

    assert len(mock_api.calls) == 0
    assert sorted(tmp_path.rglob("*")) == before
    assert not Path("/tmp/absolute-escape.tar.zst").exists()


def test_parent_task_ids_must_be_plain(mock_elements_worker, tmp_path):
    worker = mock_elements_worker
    worker.task_data_dir = tmp_path
    (tmp_path / "parent").mkdir()
    (tmp_path / "parent" / "db.sqlite").write_bytes(b"")
    worker.task_parents = ["parent"]

    assert worker.find_parents_file_paths(Path("db.sqlite")) == [
        tmp_path / "parent" / "db.sqlite"
    ]

    worker.task_parents = ["parent", "../parent"]
    with pytest.raises(UnsafePathError, match="^Parent task name '../parent'"):
        worker.find_parents_file_paths(Path("db.sqlite"))


# ---------------------------------------------------------------- local images online


@pytest.fixture
def local_png(tmp_path):
    from arkindex_worker.testing.database import write_png

    return write_png(tmp_path / "local.png", 20, 10)


def test_online_element_with_a_local_image_is_refused(local_png, mock_api):
    element = Element(
        id="e",
        rotation_angle=0,
        mirrored=False,
        zone={
            "polygon": [[0, 0], [20, 0], [20, 10], [0, 10]],
            "url": f"{local_png}/0,0,20,10/full/0/default.jpg",
            "image": {"id": "i", "url": str(local_png), "width": 20, "height": 10},
        },
    )

    for url in (str(local_png), local_png.as_uri()):
        element.zone["image"]["url"] = url
        element.zone["url"] = f"{url}/0,0,20,10/full/0/default.jpg"
        with pytest.raises(AssertionError, match=r"^Image URL must be HTTP\(S\)$"):
            element.open_image()
    assert len(mock_api.calls) == 0


def test_online_element_whose_zone_url_is_an_existing_image_is_refused(local_png):
    """Upstream's open_image opens an existing path: the element helpers refuse it online."""
    element = Element(
        id="e",
        zone={
            "polygon": [[0, 0], [20, 0], [20, 10], [0, 10]],
            "url": str(local_png),
            "image": {"id": "i", "url": "https://iiif/i", "width": 20, "height": 10},
        },
    )

    with pytest.raises(AssertionError, match=r"^Image URL must be HTTP\(S\)$"):
        element.open_image()


def test_online_cached_element_with_a_local_image_is_refused(local_png, cache_path):
    image = CachedImage.create(
        id="11111111-0000-0000-0000-00000000000a",
        width=20,
        height=10,
        url=local_png.as_uri(),
    )
    element = CachedElement.create(
        id="11111111-0000-0000-0000-000000000001",
        type="page",
        image=image.id,
        polygon=[[0, 0], [20, 0], [20, 10], [0, 10]],
    )

    with pytest.raises(AssertionError, match=r"^Image URL must be HTTP\(S\)$"):
        element.open_image()


# ---------------------------------------------------------------- the demo database, copied


def copy_demo(destination: Path) -> Path:
    """What docs/tutorial.md says: the demo database and its images folder, copied."""
    destination.mkdir()
    shutil.copyfile(DEMO / "demo.sqlite", destination / "demo.sqlite")
    shutil.copytree(DEMO / "images", destination / "images")
    return destination / "demo.sqlite"


def test_demo_database_stores_relative_image_paths():
    connection = sqlite3.connect(DEMO / "demo.sqlite")
    try:
        urls = [url for (url,) in connection.execute("SELECT url FROM images")]
    finally:
        connection.close()

    assert urls
    assert all(not Path(url).is_absolute() and "://" not in url for url in urls)
    assert all((DEMO / url).is_file() for url in urls)


def test_copied_demo_database_opens_its_images(
    tmp_path, monkeypatch, arkindex_worker_factory
):
    database = copy_demo(tmp_path / "copy")
    monkeypatch.chdir(tmp_path)  # elsewhere than the database's folder
    worker = arkindex_worker_factory(
        ElementsWorker,
        ["--database", str(database.relative_to(tmp_path))],
        support_cache=True,
    )

    pages = list(worker.get_elements())
    sizes = [page.open_image().size for page in pages]

    assert len(pages) == 3
    assert all(width > 0 and height > 0 for width, height in sizes)
    first_line = next(iter(worker.list_element_children(pages[0])))
    assert first_line.open_image().size[0] > 0


def test_copied_demo_database_runs_with_the_demo_worker(tmp_path):
    """The demo worker, with its image step on, on a plain copy (no URL rewriting)."""
    import subprocess

    database = copy_demo(tmp_path / "copy")
    script = Path(sys.executable).with_name("worker-demo")
    if not script.exists():
        pytest.skip("worker-demo is not installed")
    env = {
        key: value
        for key, value in __import__("os").environ.items()
        if not key.startswith(("ARKINDEX_", "PONOS_"))
    }
    result = subprocess.run(
        [
            str(script),
            "--dev",
            "--config",
            str(DEMO / "config.yml"),
            "--database",
            "demo.sqlite",
        ],
        cwd=database.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "Image URL must be HTTP(S)" not in result.stderr
    connection = sqlite3.connect(database)
    try:
        (sizes,) = connection.execute(
            "SELECT COUNT(*) FROM offline_metadata WHERE name = 'image size'"
        ).fetchone()
    finally:
        connection.close()
    assert sizes > 0
