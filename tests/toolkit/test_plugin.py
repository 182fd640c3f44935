"""The pytest plugin, seen from a worker author's test suite (run with pytester)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PAGE_ID = "12341234-1234-1234-1234-123412341234"

WORKER = f'''
from arkindex_worker.worker import ElementsWorker

PAGE_ID = "{PAGE_ID}"


class LineWorker(ElementsWorker):
    def process_element(self, element):
        self.lines = list(self.list_element_children(element, type="text_line"))
'''


@pytest.fixture
def author_suite(pytester):
    """Write a worker author's test file (a worker module plus the given tests)."""

    def write(tests: str) -> pytest.Pytester:
        pytester.makepyfile(test_worker=WORKER + textwrap.dedent(tests))
        return pytester

    return write


def test_fixtures_are_listed(pytester):
    result = pytester.runpytest("--fixtures")

    # One by one: pytest lists them by "file:line" text, so their order changes
    # when the plugin's lines cross 100
    for name in (
        "arkindex_mock_api",
        "arkindex_worker_factory",
        "arkindex_offline_database",
    ):
        result.stdout.fnmatch_lines([f"{name} -- *"])


def test_expected_calls_pass(author_suite):
    suite = author_suite(
        """
        def test_lines(arkindex_mock_api, arkindex_worker_factory):
            worker = arkindex_worker_factory(LineWorker, ["--element", PAGE_ID])
            arkindex_mock_api.add_response(
                "RetrieveElement", {"id": PAGE_ID, "type": "page", "name": "1"}, id=PAGE_ID
            )
            arkindex_mock_api.add_response(
                "ListElementChildren", [{"id": "l1"}], id=PAGE_ID, type="text_line"
            )
            worker.run()
            assert worker.lines == [{"id": "l1"}]
        """
    )

    suite.runpytest().assert_outcomes(passed=1)


def test_unexpected_call_fails_even_inside_run(author_suite):
    suite = author_suite(
        """
        def test_lines(arkindex_mock_api, arkindex_worker_factory):
            worker = arkindex_worker_factory(LineWorker, ["--element", PAGE_ID])
            arkindex_mock_api.add_response(
                "RetrieveElement", {"id": PAGE_ID, "type": "page", "name": "1"}, id=PAGE_ID
            )
            arkindex_mock_api.add_response(
                "ListElementChildren", [], id=PAGE_ID, type="paragraph"
            )
            worker.run()
        """
    )

    result = suite.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"E * Unexpected API call: ListElementChildren(id='{PAGE_ID}', type='text_line')",
            "E * Registered ListElementChildren calls (differences):",
            f"E * - ListElementChildren(id='{PAGE_ID}', type='paragraph')  [[]differs in: type[]]",
            "E * Expected calls not made yet:",
        ]
    )


def test_missing_call_fails_the_test(author_suite):
    suite = author_suite(
        """
        def test_nothing_called(arkindex_mock_api):
            arkindex_mock_api.add_response("RetrieveElement", {}, id=PAGE_ID)
        """
    )

    result = suite.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 expected API call was never made:",
            f"*  - RetrieveElement(id='{PAGE_ID}')",
        ]
    )


def test_a_failing_test_does_not_also_report_missing_calls(author_suite):
    suite = author_suite(
        """
        def test_fails(arkindex_mock_api):
            arkindex_mock_api.add_response("RetrieveElement", {}, id=PAGE_ID)
            assert 1 == 2
        """
    )

    result = suite.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.no_fnmatch_line("*never made*")


def test_operation_typo_fails_with_a_suggestion(author_suite):
    suite = author_suite(
        """
        def test_typo(arkindex_mock_api):
            arkindex_mock_api.add_response("ListElementChilden", [], id=PAGE_ID)
        """
    )

    result = suite.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * Operation ID 'ListElementChilden' not found in schema. "
            "Did you mean 'ListElementChildren'?"
        ]
    )


def test_importing_the_plugin_is_cheap():
    code = (
        "import sys, arkindex_worker.testing.plugin; "
        "print(sorted(m for m in sys.modules if m.startswith("
        "('arkindex_worker', 'requests', 'peewee'))))"
    )

    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert output.strip() == (
        "['arkindex_worker', 'arkindex_worker.testing', "
        "'arkindex_worker.testing.plugin']"
    )


def test_a_run_whose_every_element_failed_shows_the_elements_error(author_suite):
    suite = author_suite(
        """
        class BrokenWorker(ElementsWorker):
            def process_element(self, element):
                raise ValueError(f"cannot read {element.name}")


        def test_broken(arkindex_mock_api, arkindex_worker_factory):
            worker = arkindex_worker_factory(BrokenWorker, ["--element", PAGE_ID])
            arkindex_mock_api.add_response(
                "RetrieveElement", {"id": PAGE_ID, "type": "page", "name": "p1"}, id=PAGE_ID
            )
            worker.run()
        """
    )

    result = suite.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '*raise ValueError(f"cannot read {element.name}")',
            "E * ValueError: cannot read p1",
        ]
    )
    assert "SystemExit" not in result.stdout.str().split("short test summary")[0]


def test_a_run_stopped_on_purpose_in_a_test_still_exits(author_suite):
    suite = author_suite(
        """
        import pytest


        class BrokenWorker(ElementsWorker):
            def process_element(self, element):
                raise ValueError("boom")


        def test_broken(arkindex_mock_api, arkindex_worker_factory):
            worker = arkindex_worker_factory(BrokenWorker, ["--element", PAGE_ID])
            arkindex_mock_api.add_response(
                "RetrieveElement", {"id": PAGE_ID, "type": "page", "name": "p1"}, id=PAGE_ID
            )
            with pytest.raises(SystemExit) as stopped:
                worker.run()
            assert stopped.value.code == 1
            assert isinstance(stopped.value.__cause__, ValueError)
        """
    )

    suite.runpytest().assert_outcomes(passed=1)
