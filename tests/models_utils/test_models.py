"""Tests of the payload models (04): MagicDict, Element URLs, Dataset and Set."""

from __future__ import annotations

import subprocess
import sys

import pytest

from arkindex_worker.models import (
    ArkindexModel,
    Artifact,
    Dataset,
    DatasetSet,
    Element,
    Image,
    MagicDict,
    Set,
    Transcription,
)

ZONE_URL = "http://zoneurl/0,0,400,600/full/0/default.jpg"


def make_element(**zone) -> Element:
    """An element whose zone holds ``zone`` (an ``image`` dict at least)."""
    return Element(id="element_id", name="Test Page n°1", type="page", zone=zone)


def test_import_loads_neither_pillow_nor_zstandard():
    code = (
        "import sys, arkindex_worker.models, arkindex_worker.utils; "
        "print(sorted({'PIL', 'zstandard', 'arkindex_worker.image'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------- MagicDict


def test_magic_dict_attribute_read():
    assert MagicDict({"a": 1}).a == 1


def test_magic_dict_nested_dict_becomes_magic_dict():
    md = MagicDict({"zone": {"polygon": [[0, 0]]}})
    assert type(md.zone) is MagicDict
    assert md.zone.polygon == [[0, 0]]


def test_magic_dict_subclass_values_become_plain_magic_dicts():
    md = MagicDict(element=Element(id="a"))
    assert type(md.element) is MagicDict
    assert type(md["element"]) is MagicDict


def test_magic_dict_list_items_are_converted():
    md = MagicDict(items_list=[{"a": 1}, 2, [{"b": 3}]])
    converted = md.items_list
    assert type(converted[0]) is MagicDict
    assert converted[1] == 2
    assert type(converted[2][0]) is MagicDict


def test_magic_dict_nested_write_is_lost():
    md = MagicDict(zone={"polygon": [[0, 0]]})
    md.zone.polygon = [[1, 1]]
    assert md.zone.polygon == [[0, 0]]


def test_magic_dict_dataset_keeps_identity():
    dataset = Dataset(id="dataset_id", state="open")
    dataset_set = Set(name="train", dataset=dataset)
    dataset_set.dataset.state = "complete"
    assert dataset_set.dataset is dataset
    assert dataset.state == "complete"


def test_magic_dict_missing_attribute():
    with pytest.raises(AttributeError) as e:
        _ = Element(id="a").nope
    assert str(e.value) == "Element object has no attribute 'nope'"
    assert isinstance(e.value.__cause__, KeyError)


def test_magic_dict_attribute_write_stores_key():
    md = MagicDict()
    md.zone = {"a": 1}
    assert dict.__getitem__(md, "zone") == {"a": 1}
    assert type(dict.__getitem__(md, "zone")) is dict


def test_magic_dict_attribute_delete_removes_key():
    md = MagicDict(a=1, b=2)
    del md.a
    assert md == {"b": 2}


def test_magic_dict_attribute_delete_missing():
    md = MagicDict(a=1)
    with pytest.raises(AttributeError, match="MagicDict object has no attribute 'b'"):
        del md.b


def test_magic_dict_dir_lists_keys():
    listing = dir(MagicDict(some_key=1))
    assert "some_key" in listing
    assert "items" in listing


def test_magic_dict_dict_behaviour():
    md = MagicDict({"a": {"b": 1}})
    assert md == {"a": {"b": 1}}
    assert type(md.copy()) is dict
    assert type(md.get("a")) is dict
    assert md.items  # a method, not the key
    assert list(md) == ["a"]


# ---------------------------------------------------------------- Element


@pytest.mark.parametrize(
    ("element_type", "expected"),
    [
        pytest.param("page", "page Test Page n°1 (element_id)", id="slug"),
        pytest.param(
            {"slug": "page", "display_name": "Page"},
            "Page Test Page n°1 (element_id)",
            id="type-dict",
        ),
    ],
)
def test_element_str(element_type, expected):
    element = Element(id="element_id", name="Test Page n°1", type=element_type)
    assert str(element) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(("full",), ZONE_URL, id="full"),
        pytest.param(
            (",200",), "http://zoneurl/0,0,400,600/,200/0/default.jpg", id="size"
        ),
        pytest.param(
            ("full", "png"), "http://zoneurl/0,0,400,600/full/0/default.png", id="ext"
        ),
        pytest.param(
            ("!400,400", "png"),
            "http://zoneurl/0,0,400,600/!400,400/0/default.png",
            id="size-and-ext",
        ),
    ],
)
def test_element_resize_zone_url(args, expected):
    element = make_element(url=ZONE_URL, image={"url": "http://image"})
    assert element.resize_zone_url(*args) == expected


@pytest.mark.parametrize(
    ("zone", "args", "expected"),
    [
        pytest.param(None, (), None, id="no-zone"),
        pytest.param({}, (), None, id="empty-zone"),
        pytest.param(
            {"image": {"url": "http://image", "s3_url": "http://s3url"}},
            (500, "png"),
            "http://s3url",
            id="s3",
        ),
        pytest.param(
            {"image": {"url": "http://image", "s3_url": None}},
            (),
            "http://image/full/full/0/default.jpg",
            id="no-slash",
        ),
        pytest.param(
            {"image": {"url": "http://image/"}},
            (500,),
            "http://image/full/500/0/default.jpg",
            id="int-size",
        ),
        pytest.param(
            {"image": {"url": "http://image"}},
            (",400", "png"),
            "http://image/full/,400/0/default.png",
            id="extension",
        ),
    ],
)
def test_element_image_url(zone, args, expected):
    assert Element(id="a", zone=zone).image_url(*args) == expected


def test_element_polygon():
    element = make_element(polygon=[[0, 0], [1, 1], [0, 1]])
    assert element.polygon == [[0, 0], [1, 1], [0, 1]]


@pytest.mark.parametrize(
    "zone", [pytest.param(None, id="null"), pytest.param({}, id="empty")]
)
def test_element_polygon_without_zone(zone):
    with pytest.raises(ValueError, match=r"^Element element_id has no zone$"):
        _ = Element(id="element_id", zone=zone).polygon


# ---------------------------------------------------------------- other models


@pytest.mark.parametrize(
    "model", [ArkindexModel, Transcription, Image, Artifact, Dataset]
)
def test_arkindex_model_str(model):
    assert str(model(id="some_id")) == f"{model.__name__} (some_id)"


def test_dataset_filepath():
    assert Dataset(id="dataset_id").filepath == "dataset_id.tar.zst"


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param(Set, "Set (train) from Dataset (dataset_id)", id="set"),
        pytest.param(
            DatasetSet, "DatasetSet (train) from Dataset (dataset_id)", id="dataset-set"
        ),
    ],
)
def test_set_str(model, expected):
    assert str(model(name="train", dataset=Dataset(id="dataset_id"))) == expected


def test_dataset_set_is_a_set():
    assert isinstance(DatasetSet(name="train", dataset=Dataset(id="d")), Set)
