"""Verify, then retry: settle a write whose answer was lost with a read of the API.

When a write was sent but its answer was lost (the connection dropped, or the
read timed out, after the request left), the retry policy
(`arkindex_worker.api.retry`) asks the operation's entry in `CONFIRMATIONS`
whether the write was applied. The entry sends one read the API offers (the
element's transcriptions, children or metadata filtered by worker run, …) and
compares what it lists with what the write asked for:

- the write was applied: its answer is rebuilt from the read, in the shape of
  the write's own answer, and returned to the caller;
- it was not applied: the policy sends it again (within its budget);
- the read cannot tell (several objects match, the read failed, the listing
  lacks a field): the `UnconfirmedWriteError` of the lost answer is raised,
  as for operations without an entry.

Rules shared by every entry:

- An object matches when it has the same content (texts exactly, confidences
  within 1e-6, polygons point by point within a pixel, ring closure ignored)
  and the same worker run. Reads are filtered by the body's ``worker_run_id``
  where the API allows; where it does not, an object whose worker run is not
  listed counts as a candidate, but only an object listed with the same worker
  run confirms a write.
- A bulk write is applied whole or not at all (one transaction): every item
  must find its own match, or none may find any; anything between is undecided.
- A body without ``worker_run_id`` (where the write has one) is undecided: an
  object of an earlier run would be taken for this write's.

The residual case: an identical object already published by the same worker run
on the same target (a re-run of the same run) is taken as this write's when
the write was not applied; it stands for the write, and nothing is duplicated.

Entries that are themselves idempotent (``UpdateWorkerActivity``, a ``PUT``) are
simply sent again; a ``409`` answer to a re-sent ``started`` update means the
activity is in the state asked (see `confirm_activity`).

`docs/reliability.md` lists each operation's read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import requests

from arkindex_worker.api.errors import ErrorResponse, UnconfirmedWriteError
from arkindex_worker.api.matching import Undecided, known_ids
from arkindex_worker.api.readback import (
    answer_id,
    check_create_classification,
    check_create_classifications,
    check_create_element,
    check_create_element_children,
    check_create_element_parent,
    check_create_element_transcriptions,
    check_create_element_type,
    check_create_elements,
    check_create_entity,
    check_create_entity_type,
    check_create_metadata,
    check_create_metadata_bulk,
    check_create_ml_class,
    check_create_transcription,
    check_create_transcription_entities,
    check_create_transcription_entity,
    check_create_transcription_entity_0_6,
    check_create_transcriptions,
)
from arkindex_worker.api.retry import NOT_APPLIED, classify

__all__ = [
    "CONFIRMATIONS",
    "NOT_APPLIED",
    "Confirmation",
    "Undecided",
    "confirm_activity",
    "confirmation",
]

logger = logging.getLogger("arkindex_worker.api")

Check = Callable[[Any, dict], Any]
"""``check(client, parameters)``: the rebuilt answer, `NOT_APPLIED`, or raises `Undecided`."""


@dataclass(frozen=True)
class Confirmation:
    """How the lost answer of one operation is settled.

    Attributes:
        read: The operation read (for logs and docs).
        check: Sends the read and compares: ``check(client, parameters)``.
        resend: The write is idempotent: ``check`` sends it again, and the
            server's answer to that stands (its errors included).
        remember: The IDs an answer gives, kept in the client's `KnownIds`.
    """

    read: str
    check: Check
    resend: bool = False
    remember: Callable[[Any], Iterable[Any]] | None = None


# ---------------------------------------------------------------- activities


def confirm_activity(client: Any, parameters: dict) -> Any:
    """Send an activity update again (a PUT: idempotent), under the retry policy.

    Its answer stands; a ``409`` to a ``started`` update sent again means the
    activity is already started: by an update whose answer was lost, or by
    another process meanwhile, which no read can tell apart; taken as the
    former.
    """
    body = parameters.get("body") or {}

    def send() -> Any:
        try:
            return client.single_request("UpdateWorkerActivity", **parameters)
        except ErrorResponse as error:
            if error.status_code == 409 and body.get("state") == "started":
                return dict(body)
            raise

    return client.retry_policy.call(
        send, "PUT", "UpdateWorkerActivity", idempotent=True
    )


CONFIRMATIONS: dict[str, Confirmation] = {
    "CreateElement": Confirmation(
        "ListElementChildren / ListElements", check_create_element
    ),
    "CreateElements": Confirmation("ListElementChildren", check_create_elements),
    "CreateElementParent": Confirmation(
        "ListElementParents", check_create_element_parent
    ),
    "CreateElementChildren": Confirmation(
        "ListElementChildren", check_create_element_children
    ),
    "CreateTranscription": Confirmation(
        "ListTranscriptions", check_create_transcription
    ),
    "CreateTranscriptions": Confirmation(
        "ListTranscriptions", check_create_transcriptions
    ),
    "CreateElementTranscriptions": Confirmation(
        "ListTranscriptions", check_create_element_transcriptions
    ),
    "CreateClassification": Confirmation(
        "RetrieveElement", check_create_classification
    ),
    "CreateClassifications": Confirmation(
        "RetrieveElement", check_create_classifications
    ),
    "CreateMetaData": Confirmation("ListElementMetaData", check_create_metadata),
    "CreateMetaDataBulk": Confirmation(
        "ListElementMetaData", check_create_metadata_bulk
    ),
    "CreateEntity": Confirmation(
        "ListCorpusEntities", check_create_entity, remember=answer_id
    ),
    "CreateTranscriptionEntity": Confirmation(
        "ListTranscriptionEntities", check_create_transcription_entity
    ),
    "CreateTranscriptionEntity@0.6": Confirmation(
        "ListTranscriptionEntities", check_create_transcription_entity_0_6
    ),
    "CreateTranscriptionEntities": Confirmation(
        "ListTranscriptionEntities", check_create_transcription_entities
    ),
    "CreateEntityType": Confirmation("ListCorpusEntityTypes", check_create_entity_type),
    "CreateMLClass": Confirmation("ListCorpusMLClasses", check_create_ml_class),
    "CreateElementType": Confirmation("RetrieveCorpus", check_create_element_type),
    "UpdateWorkerActivity": Confirmation(
        "UpdateWorkerActivity", confirm_activity, resend=True
    ),
}
"""How the lost answer of each operation is settled; others raise `UnconfirmedWriteError`."""


class _Confirm:
    """The settling of one call's lost answer (see `confirmation`)."""

    def __init__(self, client: Any, operation_id: str, parameters: dict) -> None:
        self.client = client
        self.operation_id = operation_id
        self.parameters = parameters
        self.entry = CONFIRMATIONS[operation_id]

    def answered(self, answer: Any) -> None:
        """Remember the IDs of what the call created."""
        if self.entry.remember is not None:
            known_ids(self.client).add(self.entry.remember(answer))

    def __call__(self, unconfirmed: UnconfirmedWriteError) -> Any:
        entry, operation_id = self.entry, self.operation_id
        if entry.resend:
            logger.info("No answer to %s: sending it again", operation_id)
            try:
                return entry.check(self.client, self.parameters)
            except ErrorResponse as error:
                if classify(error) is None:  # the server's verdict (4xx)
                    raise
                raise unconfirmed from None
            except requests.RequestException:
                # Budget spent: an earlier attempt may have been applied
                raise unconfirmed from None
        logger.info("No answer to %s: checking with %s", operation_id, entry.read)
        try:
            outcome = entry.check(self.client, self.parameters)
        except Undecided as why:
            logger.warning("Cannot tell whether %s was applied: %s", operation_id, why)
            raise unconfirmed from None
        except Exception as error:
            logger.warning(
                "Cannot tell whether %s was applied: %s failed (%s)",
                operation_id,
                entry.read,
                getattr(error, "title", None) or error,
            )
            raise unconfirmed from None
        if outcome is NOT_APPLIED:
            logger.info("%s was not applied: sending it again", operation_id)
        else:
            logger.info("%s was applied: its answer is rebuilt", operation_id)
        return outcome


def confirmation(
    client: Any, operation_id: str, parameters: dict
) -> Callable[[UnconfirmedWriteError], Any] | None:
    """The settling of a call's lost answer, for `RetryPolicy.call`, or `None`.

    The callable returns the write's answer (applied) or `NOT_APPLIED`, and
    raises the `UnconfirmedWriteError` it is given when the read cannot tell.
    Its ``answered`` method is given the call's answer, whichever way it came.
    """
    if operation_id not in CONFIRMATIONS:
        return None
    return _Confirm(client, operation_id, parameters)
