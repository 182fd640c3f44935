"""Polygon helpers: bounding boxes, trimming, orientation (12)."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from arkindex_worker.cache import CachedElement
from arkindex_worker.image import (
    BoundingBox,
    open_image,
    polygon_bounding_box,
    revert_orientation,
    trim_polygon,
)
from arkindex_worker.models import Element

# ---------------------------------------------------------------- polygon_bounding_box


@pytest.mark.parametrize(
    ("polygon", "expected"),
    [
        pytest.param(
            [[10, 20], [110, 20], [110, 70], [10, 70]],
            BoundingBox(x=10, y=20, width=100, height=50),
            id="ints",
        ),
        pytest.param(
            [[1.5, 2.0], [3.5, 6.0], [0.5, 4.0]],
            BoundingBox(x=0.5, y=2.0, width=3.0, height=4.0),
            id="floats",
        ),
        pytest.param(
            ((5, 5), (5, 5)), BoundingBox(x=5, y=5, width=0, height=0), id="tuples"
        ),
    ],
)
def test_polygon_bounding_box(polygon, expected):
    box = polygon_bounding_box(polygon)
    assert box == expected
    assert [type(value) for value in box] == [type(value) for value in expected]


@pytest.mark.parametrize(
    "polygon",
    [
        pytest.param([], id="empty"),
        pytest.param([[1, 2], [3, 4, 5]], id="ragged"),
    ],
)
def test_polygon_bounding_box_invalid(polygon):
    with pytest.raises(ValueError):
        polygon_bounding_box(polygon)


# ---------------------------------------------------------------- trim_polygon


def test_trim_polygon():
    polygon = [
        [99, 200],
        [25, 224],
        [-8, -52],
        [-12, 350],
        [102, 364],
        [260, 310],
        [880, 310],
        [900, 320],
        [99, 200],
    ]
    assert trim_polygon(polygon, 800, 300) == [
        [99, 200],
        [25, 224],
        [0, 0],
        [0, 300],
        [102, 300],
        [260, 300],
        [800, 300],
        [99, 200],
    ]


def test_trim_polygon_open_stays_open():
    polygon = ((10, 10), (900, 10), (900, 500), (10, 500))
    assert trim_polygon(polygon, 800, 300) == [
        [10, 10],
        [800, 10],
        [800, 300],
        [10, 300],
    ]


def test_trim_polygon_bools_are_ints():
    assert trim_polygon([[True, False], [5, 5]], 10, 10) == [[True, False], [5, 5]]


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        pytest.param(
            "not a polygon",
            "Input polygon must be a valid list or tuple of points.",
            id="not-a-list",
        ),
        pytest.param(
            [[1, 2], "34"], "Polygon points must be tuples or lists.", id="bad-point"
        ),
        pytest.param(
            [[1, 2], [3, 4, 5]],
            "Polygon points must be tuples or lists of 2 elements.",
            id="three-coordinates",
        ),
        pytest.param(
            [[1, 2], [3.5, 4]],
            "Polygon point coordinates must be integers.",
            id="float",
        ),
        pytest.param(
            [[801, 2], [900, 400], [3, 301]],
            "This polygon is entirely outside the image's bounds.",
            id="outside",
        ),
        pytest.param(
            [], "This polygon is entirely outside the image's bounds.", id="empty"
        ),
    ],
)
def test_trim_polygon_invalid(polygon, message):
    with pytest.raises(AssertionError) as e:
        trim_polygon(polygon, 800, 300)
    assert str(e.value) == message


# ---------------------------------------------------------------- revert_orientation

PARENT = [[0, 0], [0, 568], [415, 568], [415, 0], [0, 0]]
CHILD = [[295, 11], [295, 58], [406, 58], [406, 11], [295, 11]]

ORIENTATIONS = [
    # angle, mirrored, bbox with reverse=True, bbox with reverse=False
    (0, False, (295, 11, 111, 47), (295, 11, 111, 47)),
    (90, False, (510, 295, 47, 111), (11, 162, 47, 111)),
    (180, False, (9, 510, 111, 47), (9, 510, 111, 47)),
    (270, False, (11, 9, 47, 111), (357, 295, 47, 111)),
    (0, True, (9, 11, 111, 47), (9, 11, 111, 47)),
    (90, True, (510, 9, 47, 111), (357, 162, 47, 111)),
    (180, True, (295, 510, 111, 47), (295, 510, 111, 47)),
    (270, True, (11, 295, 47, 111), (11, 295, 47, 111)),
]


def api_element(angle: int, mirrored: bool, polygon=PARENT) -> Element:
    return Element(
        id="page", zone={"polygon": polygon}, rotation_angle=angle, mirrored=mirrored
    )


def cached_element(angle: int, mirrored: bool, polygon=PARENT) -> CachedElement:
    return CachedElement(
        id="11111111-1111-1111-1111-111111111111",
        type="page",
        polygon=polygon,
        rotation_angle=angle,
        mirrored=mirrored,
    )


@pytest.mark.parametrize("make_element", [api_element, cached_element])
@pytest.mark.parametrize(
    ("angle", "mirrored", "reverse", "expected"),
    [
        pytest.param(
            angle,
            mirrored,
            reverse,
            bbox,
            id=f"{angle}{'-mirrored' if mirrored else ''}-reverse-{reverse}",
        )
        for angle, mirrored, applied, undone in ORIENTATIONS
        for reverse, bbox in ((True, applied), (False, undone))
    ],
)
def test_revert_orientation(make_element, angle, mirrored, reverse, expected):
    polygon = revert_orientation(make_element(angle, mirrored), CHILD, reverse=reverse)
    assert tuple(polygon_bounding_box(polygon)) == expected
    assert polygon[0] == polygon[-1]
    assert all(type(value) is int for point in polygon for value in point)


def test_revert_orientation_closes_open_polygons():
    polygon = revert_orientation(api_element(0, False), CHILD[:-1])
    assert polygon == CHILD


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
@pytest.mark.parametrize("mirrored", [False, True], ids=["straight", "mirrored"])
def test_revert_orientation_matches_opened_images(tmp_path, angle, mirrored):
    """A box found on the image opened with the element's orientation maps back exactly."""
    path = tmp_path / "page.png"
    image = Image.new("L", (415, 568))
    # Pixels 295..405 × 11..57: the box edges are CHILD's coordinates.
    ImageDraw.Draw(image).rectangle((295, 11, 405, 57), fill=255)
    image.save(path)

    oriented = open_image(str(path), "L", rotation_angle=angle, mirrored=mirrored)
    left, top, right, bottom = oriented.getbbox()
    found = [[left, top], [left, bottom], [right, bottom], [right, top], [left, top]]
    element = api_element(angle, mirrored)

    assert polygon_bounding_box(revert_orientation(element, found)) == (
        295,
        11,
        111,
        47,
    )
    assert polygon_bounding_box(
        revert_orientation(element, CHILD, reverse=True)
    ) == polygon_bounding_box(found)


@pytest.mark.parametrize(
    ("element", "polygon", "reverse", "message"),
    [
        pytest.param(
            None,
            CHILD,
            False,
            "element shouldn't be null and should be an Element or CachedElement",
            id="no-element",
        ),
        pytest.param(
            {"zone": {"polygon": PARENT}},
            CHILD,
            False,
            "element shouldn't be null and should be an Element or CachedElement",
            id="dict-element",
        ),
        pytest.param(
            api_element(0, False),
            None,
            False,
            "polygon shouldn't be null and should be a list",
            id="no-polygon",
        ),
        pytest.param(
            api_element(0, False),
            tuple(CHILD),
            False,
            "polygon shouldn't be null and should be a list",
            id="tuple-polygon",
        ),
        pytest.param(
            api_element(0, False),
            CHILD,
            "yes",
            "Reverse should be a bool",
            id="reverse-not-bool",
        ),
        pytest.param(
            Element(id="page", zone=None, rotation_angle=0, mirrored=False),
            CHILD,
            False,
            "element should have a zone and a polygon",
            id="element-without-zone",
        ),
        pytest.param(
            api_element(0, False, polygon=[]),
            CHILD,
            False,
            "element should have a zone and a polygon",
            id="element-without-polygon",
        ),
        pytest.param(
            cached_element(0, False, polygon=None),
            CHILD,
            False,
            "cached element should have a polygon",
            id="cached-element-without-polygon",
        ),
    ],
)
def test_revert_orientation_invalid(element, polygon, reverse, message):
    with pytest.raises(AssertionError) as e:
        revert_orientation(element, polygon, reverse=reverse)
    assert str(e.value) == message


def test_revert_orientation_degenerate_polygon():
    with pytest.raises(ValueError, match="at least 4 coordinates"):
        revert_orientation(api_element(90, False), [[1, 2], [3, 4]])
