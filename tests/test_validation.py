"""Shared validators: property-based tests of what they accept and refuse."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arkindex_worker.validation import (
    check,
    check_confidence,
    check_polygon,
    check_source_filter,
    check_uuid,
    item_prefix,
)

CONFIDENCE_MESSAGE = (
    "confidence shouldn't be null and should be a float in [0..1] range"
)
numbers = st.integers(-10_000, 10_000) | st.floats(
    allow_nan=False, allow_infinity=False, width=32
)
point = st.lists(numbers, min_size=2, max_size=2)


@given(st.floats(min_value=0, max_value=1))
def test_confidence_accepts_unit_floats(value):
    check_confidence(value, required=True)
    check_confidence(value, required=False)


@given(
    st.floats().filter(lambda v: math.isnan(v) or not 0 <= v <= 1)
    | st.integers()
    | st.text()
    | st.none()
)
def test_required_confidence_refuses_everything_else(value):
    with pytest.raises(AssertionError, match=r"^confidence shouldn't be null"):
        check_confidence(value, required=True)


def test_optional_confidence_accepts_none_only_as_extra():
    check_confidence(None, required=False)
    with pytest.raises(
        AssertionError,
        match=r"^Element at index 2 in elements: confidence should be None or a float",
    ):
        check_confidence(
            1, required=False, prefix=item_prefix("Element", 2, "elements")
        )


@given(st.lists(point, min_size=3, max_size=20))
def test_polygon_accepts_lists_of_number_pairs(polygon):
    check_polygon(polygon)


@given(st.lists(point, max_size=2))
def test_polygon_needs_three_points(polygon):
    with pytest.raises(AssertionError) as e:
        check_polygon(polygon)
    assert str(e.value) in (
        "polygon shouldn't be null and should be of type list",
        "polygon should have at least three points",
    )


@given(
    st.lists(point, min_size=2, max_size=5),
    st.tuples(numbers, numbers) | st.lists(numbers, min_size=3, max_size=4),
)
def test_polygon_points_must_be_pairs_in_lists(points, bad_point):
    with pytest.raises(
        AssertionError, match="^polygon points should be lists of two items$"
    ):
        check_polygon([*points, bad_point])


@given(st.lists(point, min_size=2, max_size=5), st.text() | st.none())
def test_polygon_coordinates_must_be_numbers(points, bad):
    with pytest.raises(
        AssertionError, match="^polygon points should be lists of two numbers$"
    ):
        check_polygon([*points, [0, bad]])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(42, "worker_run should be of type str or bool", id="int"),
        pytest.param(
            True, "if of type bool, worker_run can only be set to False", id="true"
        ),
    ],
)
def test_source_filter_refusals(value, message):
    with pytest.raises(AssertionError, match=f"^{message}$"):
        check_source_filter(value, "worker_run")


@given(st.one_of(st.none(), st.just(False), st.text()))
def test_source_filter_accepts(value):
    check_source_filter(value, "worker_run")


def test_deprecated_source_filter_warns():
    with pytest.warns(DeprecationWarning, match="Consider using `worker_run` instead"):
        check_source_filter(False, "worker_version", deprecated_for="worker_run")


@given(st.uuids())
def test_uuid_accepts_uuids_and_their_strings(value):
    check_uuid(value, "bad")
    check_uuid(str(value), "bad")


@given(st.text().filter(lambda t: len(t.replace("-", "")) != 32))
def test_uuid_refuses_other_text(value):
    with pytest.raises(ValueError, match="^image is not a valid uuid.$"):
        check_uuid(value, "image is not a valid uuid.")


def test_check_survives_optimisation():
    code = (
        "from arkindex_worker.validation import check_confidence\n"
        "try:\n    check_confidence(2.0, required=True)\n"
        "except AssertionError as e:\n    print(e)\n"
    )
    output = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == CONFIDENCE_MESSAGE


def test_check_without_message():
    with pytest.raises(AssertionError) as e:
        check(False)
    assert e.value.args == ()
