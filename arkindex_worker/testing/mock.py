"""`MockApiClient`: a test double of the API client that answers registered calls.

```python
mock = MockApiClient()  # or MockApiClient(schema_url=…): nothing is downloaded
mock.add_response("RetrieveElement", {"id": "…", "name": "Page 1"}, id="…")
mock.add_error_response("CreateMetaData", 400, id="…", body={…})
worker.api_client = mock
```

It has the surface of upstream's `arkindex.mock.MockApiClient`: register an expected
call and its answer with `add_response` / `add_error_response`; `request` (and
`paginate`, which is the same) records the call in `history`, then returns (or
raises) the first registered answer whose operation, body and parameters are equal.
The constructor takes what upstream's takes (the arguments of
[ArkindexClient][arkindex_worker.api.ArkindexClient], ``schema_url`` among them),
`add_response` returns the registered `MockRequest`, and `responses` holds
`MockResponse(request, response)` pairs, as upstream's.

!!! note "Differs from upstream"
    - Operation IDs and parameter names are checked against the operation table
      bundled with [ArkindexClient][arkindex_worker.api.ArkindexClient], at
      registration and at call time, so a typo fails at once with a suggestion.
      The check is the real client's (`arkindex_worker.api.validation`), with
      the same `ClientError` messages. Nothing is downloaded, whatever
      ``schema_url`` says. `validate=False` turns the checks off.
    - In strict mode (the `arkindex_mock_api` fixture), a call nobody registered
      fails the test with a message listing the call and the expected ones, and
      `assert_all_called()` fails on registrations that were never used.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from typing import Any, NamedTuple, NoReturn

from arkindex_worker.api import ArkindexClient, ClientError, ErrorMessage, ErrorResponse
from arkindex_worker.api.validation import PAGINATION_KEYWORDS, check_call

__all__ = ["MockApiClient", "MockRequest", "MockResponse", "format_call"]

MOCK_BASE_URL = "http://testserver/api/v1/"
"""Base URL of a mock client (never contacted)."""


class MockRequest(NamedTuple):
    """One call to the API, as registered or as made."""

    operation: str
    body: Any
    args: tuple
    kwargs: dict


class MockResponse(NamedTuple):
    """A registered call and its answer (a value to return or an exception to raise).

    Upstream's shape: ``(request, response)``. The parts of the request are
    also readable directly (``operation``, ``body``, ``args``, ``kwargs``).
    """

    request: MockRequest
    response: Any

    @property
    def operation(self) -> str:
        """Operation of the expected call."""
        return self.request.operation

    @property
    def body(self) -> Any:
        """JSON body of the expected call."""
        return self.request.body

    @property
    def args(self) -> tuple:
        """Positional arguments of the expected call."""
        return self.request.args

    @property
    def kwargs(self) -> dict:
        """Parameters of the expected call."""
        return self.request.kwargs


def format_call(call: MockRequest | MockResponse) -> str:
    """A call as Python code, e.g. `RetrieveElement(id='42')`."""
    parts = [repr(arg) for arg in call.args]
    if call.body is not None:
        parts.append(f"body={call.body!r}")
    parts += [f"{name}={value!r}" for name, value in call.kwargs.items()]
    return f"{call.operation}({', '.join(parts)})"


def _differences(call: MockRequest, expected: MockResponse) -> list[str]:
    """Names of the parts of a call that differ from an expected one."""
    names = []
    if call.args != expected.args:
        names.append("positional arguments")
    if call.body != expected.body:
        names.append("body")
    for name in sorted(set(call.kwargs) | set(expected.kwargs)):
        if call.kwargs.get(name, ...) != expected.kwargs.get(name, ...):
            names.append(name)
    return names


_CLIENT_SIGNATURE = inspect.signature(ArkindexClient.__init__)


def _client_options(args: tuple, kwargs: dict) -> dict[str, Any]:
    """The `ArkindexClient` arguments of a mock, by name.

    Raises:
        TypeError: Arguments the real client would refuse.
    """
    bound = _CLIENT_SIGNATURE.bind(None, *args, **kwargs)
    options = dict(bound.arguments)
    del options["self"]
    return options


def _bulleted(lines: Iterable[str]) -> str:
    return "\n".join(f"  - {line}" for line in lines)


class MockApiClient(ArkindexClient):
    """An API client answering registered calls, with no network at all.

    Args:
        *args: Arguments of [ArkindexClient][arkindex_worker.api.ArkindexClient]
            (``token``, ``auth_scheme``, ``base_url``, ``schema_url``, …), as
            upstream's mock takes them. ``base_url`` is shown in logs only
            (default ``http://testserver/api/v1/``); ``schema_url`` is kept as
            an attribute and never downloaded.
        strict: Fail the running test on a call that was not registered, instead
            of raising `ErrorResponse("No mock response found")` as upstream does.
        validate: Check operation IDs and parameters against the bundled
            operation table.
        **kwargs: Keyword arguments of `ArkindexClient`.

    Attributes:
        history: Every call received, in order (`MockRequest` named tuples).
        responses: Registered calls not used yet (`MockResponse` named tuples
            of a `MockRequest` and its answer).
        unexpected: Calls that matched no registration.
    """

    def __init__(
        self, *args: Any, strict: bool = False, validate: bool = True, **kwargs: Any
    ) -> None:
        options = _client_options(args, kwargs)
        schema_url = options.pop("schema_url", None)
        options.setdefault("base_url", MOCK_BASE_URL)
        # The real client's set-up sends nothing without a schema_url (bundled
        # table, no server schema). Its session stays: `http_client(mock)` is
        # the mock itself, so a test's IIIF and storage downloads go through
        # `http_request`.
        super().__init__(**options)
        self.schema_url = schema_url
        self.strict = strict
        self.validate = validate
        self.history: list[MockRequest] = []
        self.responses: list[MockResponse] = []
        self.unexpected: list[MockRequest] = []

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self.responses)} responses left>"

    def load_server_schema(self) -> bool:
        """Never load a server schema: the bundled operations are the reference."""
        return False

    # ------------------------------------------------------------------ validation

    def _rejection(self, call: MockRequest) -> ClientError | None:
        """The error the real client would raise for a call, if any."""
        # The paginator's keywords are recorded in the call, but never sent
        parameters = {
            name: value
            for name, value in call.kwargs.items()
            if name not in PAGINATION_KEYWORDS
        }
        if call.body is not None:
            parameters["body"] = call.body
        try:
            check_call(self.document.links, call.operation, parameters)
        except ClientError as e:
            return e
        return None

    def call_problems(self, call: MockRequest) -> list[str]:
        """What the real client would reject in a call (empty when it is valid)."""
        error = self._rejection(call) if self.validate else None
        if error is None:
            return []
        problems = [message.text for message in error.messages]
        if call.operation not in self.document.links:
            close = difflib.get_close_matches(
                call.operation, self.document.links, n=3, cutoff=0.8
            )
            if close:
                problems.append(f"Did you mean {' or '.join(map(repr, close))}?")
        return problems

    def _check_registration(self, call: MockRequest) -> None:
        problems = self.call_problems(call)
        if problems:
            text = f"Invalid mock registration {format_call(call)}: " + " ".join(
                problems
            )
            raise ClientError([ErrorMessage(text, "invalid-mock")])

    # ------------------------------------------------------------------ registration

    def add_response(
        self,
        operation_id: str,
        response: Any,
        body: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> MockRequest:
        """Register an expected call and the value it returns.

        Args:
            operation_id: The operation.
            response: Returned by the call (an exception instance is raised).
            body: The expected JSON body.
            *args: Expected positional arguments (rarely used).
            **kwargs: Expected parameters, compared with `==`.

        Returns:
            The expected call, as upstream's mock returns it.

        Raises:
            ClientError: Unknown operation or parameter (with validation on).
        """
        call = MockRequest(operation_id, body, args, kwargs)
        self._check_registration(call)
        self.responses.append(MockResponse(call, response))
        return call

    def add_error_response(
        self,
        operation_id: str,
        status_code: int,
        title: str = "Mock error response",
        content: Any = "Mock error response",
        body: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> MockRequest:
        """Register an expected call that raises an `ErrorResponse`.

        Args:
            operation_id: The operation.
            status_code: Status code of the error.
            title: Title of the error.
            content: Content of the error (the decoded body of an API answer).
            body: The expected JSON body.
            *args: Expected positional arguments.
            **kwargs: Expected parameters.

        Returns:
            The expected call.
        """
        error = ErrorResponse(title=title, status_code=status_code, content=content)
        return self.add_response(operation_id, error, body, *args, **kwargs)

    # ------------------------------------------------------------------ calls

    def request(
        self, operation_id: str, body: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        """Answer a call with the first matching registration, which is used up.

        Raises:
            ErrorResponse: The registered error, or `No mock response found`
                (not strict) when no registration matches.
            ClientError: The real client would refuse the call (not strict).
        """
        call = MockRequest(operation_id, body, args, kwargs)
        problems = self.call_problems(call)
        if "@" in operation_id:
            # A bundled "X@0.6" form is the server's X: tests register and see X
            call = MockRequest(operation_id.partition("@")[0], body, args, kwargs)
        self.history.append(call)
        if problems:
            if self.strict:
                self._fail(
                    f"Invalid API call {format_call(call)}: " + " ".join(problems)
                )
            # The real client refuses such a call before sending anything.
            raise self._rejection(call)
        for index, registered in enumerate(self.responses):
            if registered.request == call:
                response = self.responses.pop(index).response
                if isinstance(response, BaseException):
                    raise response
                return response

        self.unexpected.append(call)
        if self.strict:
            self._fail(self.unexpected_message(call))
        raise ErrorResponse(
            title="No mock response found",
            status_code=400,
            content="No mock response found",
        )

    def paginate(self, operation_id: str, *args: Any, **kwargs: Any) -> Any:
        """Same as `request`: the registered answer is returned as it is."""
        return self.request(operation_id, *args, **kwargs)

    # ------------------------------------------------------------------ checks

    def unexpected_message(self, call: MockRequest) -> str:
        """Explain that `call` matched no registration."""
        lines = [f"Unexpected API call: {format_call(call)}"]
        same_operation = [r for r in self.responses if r.operation == call.operation]
        if same_operation:
            lines.append(f"Registered {call.operation} calls (differences):")
            lines += [
                f"  - {format_call(r)}  [differs in: {', '.join(_differences(call, r))}]"
                for r in same_operation
            ]
        if self.responses:
            lines.append("Expected calls not made yet:")
            lines.append(_bulleted(format_call(r) for r in self.responses))
        else:
            lines.append("No call is expected: every registered response was used.")
        lines.append(
            "Register it with add_response() or add_error_response() if it is expected."
        )
        return "\n".join(lines)

    def assert_all_called(self) -> None:
        """Fail when a registration was never used or a call was unexpected.

        Raises:
            AssertionError: Outside pytest; inside, the test fails.
        """
        lines = []
        if self.responses:
            count = len(self.responses)
            lines.append(
                f"{count} expected API call{'s were' if count > 1 else ' was'} "
                "never made:"
            )
            lines.append(_bulleted(format_call(r) for r in self.responses))
        if self.unexpected:
            lines.append("Unexpected API calls were made:")
            lines.append(_bulleted(format_call(c) for c in self.unexpected))
        if lines:
            self._fail("\n".join(lines), pytrace=False)

    def reset(self) -> None:
        """Forget the registrations, the history and the unexpected calls."""
        self.history.clear()
        self.responses.clear()
        self.unexpected.clear()

    @staticmethod
    def _fail(message: str, pytrace: bool = True) -> NoReturn:
        """Fail the running test; `pytest.fail` escapes `except Exception` clauses."""
        try:
            import pytest
        except ImportError:  # pragma: no cover - used outside pytest
            raise AssertionError(message) from None
        pytest.fail(message, pytrace=pytrace)
