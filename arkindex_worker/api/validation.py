"""What a call must name and pass: the one check of every API client.

An operation ID must be in the operation table; each keyword must be one of the
operation's parameters or its body; every required parameter (path parameters
and the body included) must be given, and a path parameter must not be `None`.
A call that breaks one of these rules raises `ClientError` before anything is
sent, with one `ErrorMessage` per problem:

| problem | message | code |
| --- | --- | --- |
| unknown operation | `Operation ID 'X' not found in schema.` | `invalid-operation` |
| unknown keyword | `Unknown parameter 'k' for operation 'X'.` | `invalid-parameter` |
| missing parameter | `Missing required parameter 'k'.` | `required` |
| `None` path parameter | `Path parameter 'k' must not be None.` | `invalid-parameter` |
| NUL character in a string | `Invalid value for 'body.text': text must not contain NUL characters.` | `invalid-value` |
| lone surrogate in a string | `Invalid value for 'body.text': text must not contain lone surrogates.` | `invalid-value` |
| NaN or infinite number | `Invalid value for 'body.polygon[0][1]': numbers must be finite.` | `invalid-value` |

The last three are the one rule on the values a call sends, online and offline
alike (our addition): the server's database cannot store a NUL character, a
lone surrogate cannot be encoded as UTF-8, and JSON has no NaN or infinity.
Upstream sends them, and the server or the JSON encoder then fails;
here nothing is sent and nothing is written.

[ArkindexClient][arkindex_worker.api.ArkindexClient] checks its calls here
(against its document, after loading the server schema once when the bundled
table does not know an operation or a keyword), and so do the offline client
(`arkindex_worker.offline`) and the test double (`arkindex_worker.testing`),
against the bundled table: the three refuse the same calls with the same messages.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from arkindex_worker.api.errors import ClientError, ErrorMessage
from arkindex_worker.api.schema import Operation

__all__ = [
    "PAGINATION_KEYWORDS",
    "check_call",
    "check_parameters",
    "find_operation",
    "parameter_problems",
    "text_problem",
    "unknown_parameters",
    "value_problems",
]

PAGINATION_KEYWORDS = frozenset({"retries", "allow_missing_data"})
"""Keywords of `paginate` consumed by the paginator: never sent, never checked."""


def find_operation(operations: Mapping[str, Operation], operation_id: str) -> Operation:
    """The operation of an ID in a table.

    Raises:
        ClientError: The table has no such operation (`invalid-operation`).
    """
    operation = operations.get(operation_id)
    if operation is None and "@" in operation_id:
        # "X@0.6": the 0.6 form of X (bundled table only); a server schema has X
        operation = operations.get(operation_id.partition("@")[0])
    if operation is None:
        raise ClientError(
            [
                ErrorMessage(
                    f"Operation ID {operation_id!r} not found in schema.",
                    "invalid-operation",
                )
            ]
        )
    return operation


def unknown_parameters(operation: Operation, parameters: Iterable[str]) -> list[str]:
    """The keywords that are neither a parameter nor the body of an operation."""
    return [name for name in parameters if not operation.accepts(name)]


def parameter_problems(
    operation: Operation, parameters: Mapping[str, Any]
) -> list[ErrorMessage]:
    """What is wrong with the keywords of a call: unknown, missing, `None` paths."""
    problems = [
        ErrorMessage(
            f"Unknown parameter {name!r} for operation {operation.id!r}.",
            "invalid-parameter",
        )
        for name in unknown_parameters(operation, parameters)
    ]
    required = [name for name, p in operation.parameters.items() if p.required]
    if operation.body_name is not None:
        required.append(operation.body_name)
    problems += [
        ErrorMessage(f"Missing required parameter {name!r}.", "required")
        for name in required
        if name not in parameters
        and not (name == operation.body_name and "body" in parameters)
    ]
    problems += [
        ErrorMessage(f"Path parameter {name!r} must not be None.", "invalid-parameter")
        for name, param in operation.parameters.items()
        if param.location == "path" and name in parameters and parameters[name] is None
    ]
    return problems


def text_problem(text: str) -> str | None:
    """Why a string cannot be published (NUL character, lone surrogate), or ``None``."""
    if "\x00" in text:
        return "text must not contain NUL characters"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "text must not contain lone surrogates"
    return None


def _value_problems(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield where, problem
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield where, "numbers must be finite"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _value_problems(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _value_problems(item, f"{where}[{index}]")


def value_problems(parameters: Mapping[str, Any]) -> list[ErrorMessage]:
    """The values of a call that cannot be sent: NUL, lone surrogates, NaN, infinity.

    Strings, numbers, lists and mappings are walked (the body included); other
    values (UUIDs, files…) are left to the client. Names are dotted paths, e.g.
    ``body.transcriptions[0].text``.
    """
    return [
        ErrorMessage(f"Invalid value for {where!r}: {problem}.", "invalid-value")
        for name, value in parameters.items()
        for where, problem in _value_problems(value, name)
    ]


def check_parameters(operation: Operation, parameters: Mapping[str, Any]) -> Operation:
    """The operation, when the keywords of a call and their values suit it.

    Raises:
        ClientError: One `ErrorMessage` per problem of `parameter_problems`,
            else of `value_problems`.
    """
    problems = parameter_problems(operation, parameters) or value_problems(parameters)
    if problems:
        raise ClientError(problems)
    return operation


def check_call(
    operations: Mapping[str, Operation],
    operation_id: str,
    parameters: Mapping[str, Any],
) -> Operation:
    """The operation of a call, when the table knows it and the keywords suit it.

    Args:
        operations: Operation table, by operationId.
        operation_id: The operation called.
        parameters: Every keyword of the call, the body as `body` (or its name).

    Raises:
        ClientError: Unknown operation, or what `check_parameters` raises.
    """
    return check_parameters(find_operation(operations, operation_id), parameters)
