"""The reads that settle each write whose answer was lost (`arkindex_worker.api.confirm`).

Each ``check_<operation>(client, parameters)`` sends the read the API offers
for one write, with the write's own keywords, and returns the write's answer
rebuilt from what it lists, `NOT_APPLIED`, or raises `Undecided`
(`arkindex_worker.api.matching` holds the comparisons and the rules).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arkindex_worker.api.matching import (
    UNKNOWN,
    Undecided,
    id_of,
    known_ids,
    plain,
    run_of,
    same_number,
    same_polygon,
    same_value,
    settle,
    settle_one,
    worker_run_of,
)
from arkindex_worker.api.retry import NOT_APPLIED

__all__ = [
    "answer_id",
    "check_create_classification",
    "check_create_classifications",
    "check_create_element",
    "check_create_element_children",
    "check_create_element_parent",
    "check_create_element_transcriptions",
    "check_create_element_type",
    "check_create_elements",
    "check_create_entity",
    "check_create_entity_type",
    "check_create_metadata",
    "check_create_metadata_bulk",
    "check_create_ml_class",
    "check_create_transcription",
    "check_create_transcription_entities",
    "check_create_transcription_entity",
    "check_create_transcription_entity_0_6",
    "check_create_transcriptions",
]


def _pages(client: Any, operation_id: str, **parameters: Any) -> list:
    return list(client.paginate(operation_id, **parameters))


def _listing(answer: Any) -> list:
    if not isinstance(answer, list):
        raise Undecided("the read did not answer a list")
    return answer


def _without(item: dict, *keys: str) -> dict:
    return {k: v for k, v in item.items() if k not in keys}


# ---------------------------------------------------------------- elements


def _same_element(wanted: dict, item: dict) -> bool:
    zone = item.get("zone") or {}
    if "type" in wanted and item.get("type") != plain(wanted["type"]):
        return False
    if wanted.get("image") and id_of(zone.get("image")) != plain(wanted["image"]):
        return False
    return (
        item.get("name") == wanted.get("name")
        and same_number(item.get("confidence"), wanted.get("confidence"))
        and (
            wanted.get("polygon") is None
            or same_polygon(zone.get("polygon"), wanted["polygon"])
        )
    )


def check_create_element(client: Any, parameters: dict) -> Any:
    """The children of the parent (or the corpus's elements) of the worker run."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    query = {"worker_run": run, "with_zone": True, "name": body.get("name")}
    query["type"] = body.get("type")
    if body.get("parent"):
        listed = _pages(client, "ListElementChildren", id=body["parent"], **query)
    else:
        listed = _pages(client, "ListElements", corpus=body.get("corpus"), **query)
    return settle_one(body, listed, _same_element, run, "elements", True)


def check_create_elements(client: Any, parameters: dict) -> Any:
    """The children of the parent created by the worker run; answers ``[{id}]``."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    wanted = body.get("elements") or []
    types = {plain(item.get("type")) for item in wanted}
    query = {"worker_run": run, "with_zone": True}
    if len(types) == 1:
        query["type"] = types.pop()
    listed = _pages(client, "ListElementChildren", id=parameters["id"], **query)
    found = settle(wanted, listed, _same_element, run, "elements", True)
    return found if found is NOT_APPLIED else [{"id": item["id"]} for item in found]


def check_create_element_parent(client: Any, parameters: dict) -> Any:
    """The parents of the child: the link exists or not."""
    child, parent = parameters["child"], parameters["parent"]
    parents = {id_of(item) for item in _pages(client, "ListElementParents", id=child)}
    if str(parent) in {str(p) for p in parents}:
        return {"parent": str(parent), "child": str(child)}
    return NOT_APPLIED


def check_create_element_children(client: Any, parameters: dict) -> Any:
    """The children of the parent: every link exists, or none."""
    children = [str(c) for c in (parameters.get("body") or {}).get("children") or []]
    listed = _pages(client, "ListElementChildren", id=parameters["id"])
    present = {str(id_of(item)) for item in listed} & set(children)
    if not present:
        return NOT_APPLIED
    if len(present) < len(set(children)):
        raise Undecided(f"{len(present)} of {len(children)} children are linked")
    return {"children": children}


# ---------------------------------------------------------------- transcriptions


def _same_transcription(wanted: dict, item: dict) -> bool:
    orientation = plain(wanted.get("orientation")) or "horizontal-lr"
    return (
        item.get("text") == wanted.get("text")
        and same_number(item.get("confidence"), wanted.get("confidence"))
        and (item.get("orientation") or "horizontal-lr") == orientation
    )


def _transcription_answer(item: dict, run: str, element_id: Any = None) -> dict:
    answer = _without(item, "element", "worker_run")
    if element_id is not None:
        answer["element_id"] = str(element_id)
    answer["worker_run_id"] = run
    return answer


def check_create_transcription(client: Any, parameters: dict) -> Any:
    """The element's transcriptions of the worker run."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    listed = _pages(client, "ListTranscriptions", id=parameters["id"], worker_run=run)
    found = settle_one(body, listed, _same_transcription, run, "transcriptions", True)
    return found if found is NOT_APPLIED else _transcription_answer(found, run)


def check_create_transcriptions(client: Any, parameters: dict) -> Any:
    """Each element's transcriptions of the worker run (one read per element)."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    wanted = body.get("transcriptions") or []
    listed = []
    for element_id in dict.fromkeys(str(item.get("element_id")) for item in wanted):
        for item in _pages(client, "ListTranscriptions", id=element_id, worker_run=run):
            if isinstance(item, dict):
                listed.append({**item, "element_id": element_id})

    def same(want: dict, item: dict) -> bool:
        return item["element_id"] == str(want.get("element_id")) and (
            _same_transcription(want, item)
        )

    found = settle(wanted, listed, same, run, "transcriptions", True)
    if found is NOT_APPLIED:
        return found
    return {
        "worker_run_id": run,
        "transcriptions": [_transcription_answer(item, run) for item in found],
    }


def check_create_element_transcriptions(client: Any, parameters: dict) -> Any:
    """The transcriptions of the worker run on the parent's children of the type.

    Only "not applied" can be decided: the answer's ``created`` flags (an
    element made by this write, or found) cannot be read back.
    """
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    listed = _pages(
        client,
        "ListTranscriptions",
        id=parameters["id"],
        element_type=body.get("element_type"),
        recursive=True,
        worker_run=run,
    )
    wanted = body.get("transcriptions") or []
    if any(
        _same_transcription(want, item)
        for item in listed
        if isinstance(item, dict) and run_of(item) in (run, UNKNOWN)
        for want in wanted
    ):
        raise Undecided("the answer's created flags cannot be read back")
    return NOT_APPLIED


# ---------------------------------------------------------------- classifications


def _same_classification(wanted: dict, item: dict) -> bool:
    # One classification per element, class and worker run (the server's rule)
    return id_of(item.get("ml_class")) == plain(wanted.get("ml_class"))


def _classification_answer(item: dict, run: str, element: Any = None) -> dict:
    answer = {
        **_without(item, "worker_run"),
        "ml_class": id_of(item.get("ml_class")),
        "worker_run_id": run,
    }
    if element is not None:
        answer["element"] = str(element)
    return answer


def _same_scores(wanted: dict, item: dict) -> bool:
    return same_number(item.get("confidence"), wanted.get("confidence")) and bool(
        item.get("high_confidence", False)
    ) == bool(wanted.get("high_confidence", False))


def _classifications(client: Any, element_id: Any) -> list:
    element = client.request("RetrieveElement", id=element_id)
    if not isinstance(element, dict) or "classifications" not in element:
        raise Undecided("the element's answer lists no classifications")
    return _listing(element["classifications"])


def check_create_classification(client: Any, parameters: dict) -> Any:
    """The element's classifications (RetrieveElement), of the class and worker run.

    One of another confidence was made before: the write is sent again, and the
    server answers it as it does any duplicate (400).
    """
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    listed = _classifications(client, body.get("element"))
    found = settle_one(body, listed, _same_classification, run, "classifications")
    if found is NOT_APPLIED or not _same_scores(body, found):
        return NOT_APPLIED
    return _classification_answer(found, run, body.get("element"))


def check_create_classifications(client: Any, parameters: dict) -> Any:
    """The parent's classifications (RetrieveElement), of the classes and worker run."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    wanted = body.get("classifications") or []
    listed = _classifications(client, body.get("parent"))
    found = settle(wanted, listed, _same_classification, run, "classifications")
    if found is NOT_APPLIED:
        return found
    if not all(_same_scores(w, f) for w, f in zip(wanted, found)):
        raise Undecided("classifications of these classes were made before")
    return {
        "parent": str(body.get("parent")),
        "worker_run_id": run,
        "classifications": [
            _without(_classification_answer(f, run), "worker_run_id") for f in found
        ],
    }


# ---------------------------------------------------------------- metadata


def _same_metadata(wanted: dict, item: dict) -> bool:
    return (
        item.get("type") == plain(wanted.get("type"))
        and item.get("name") == wanted.get("name")
        and same_value(item.get("value"), wanted.get("value"))
        and plain(item.get("entity_id")) == plain(wanted.get("entity_id"))
    )


def _metadata(client: Any, element_id: Any) -> list:
    return _listing(client.request("ListElementMetaData", id=element_id))


def check_create_metadata(client: Any, parameters: dict) -> Any:
    """The element's metadata (no worker run filter: the listed run must match)."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    listed = _metadata(client, parameters["id"])
    found = settle_one(body, listed, _same_metadata, run, "metadata")
    if found is NOT_APPLIED:
        return found
    return {**_without(found, "worker_run"), "worker_run_id": run}


def check_create_metadata_bulk(client: Any, parameters: dict) -> Any:
    """The element's metadata, each item matched once."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    wanted = body.get("metadata_list") or []
    found = settle(
        wanted, _metadata(client, parameters["id"]), _same_metadata, run, "metadata"
    )
    if found is NOT_APPLIED:
        return found
    return {
        "worker_run_id": run,
        "metadata_list": [_without(item, "worker_run") for item in found],
    }


# ---------------------------------------------------------------- entities


def _same_entity(wanted: dict, item: dict) -> bool:
    type_id = item.get("type_id", id_of(item.get("type")))
    return (
        item.get("name") == wanted.get("name")
        and plain(type_id) == plain(wanted.get("type_id"))
        and (item.get("metas") or {}) == (wanted.get("metas") or {})
        and bool(item.get("validated")) == bool(wanted.get("validated"))
    )


def answer_id(answer: Any) -> list:
    """The ID of a created object's answer, as a list (none when it has none)."""
    return [answer["id"]] if isinstance(answer, dict) and "id" in answer else []


def check_create_entity(client: Any, parameters: dict) -> Any:
    """The corpus's entities of that name (no worker run filter)."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    listed = _pages(
        client, "ListCorpusEntities", id=body.get("corpus"), name=body.get("name")
    )
    # Entities of the same name made earlier by this client are not this one
    known = known_ids(client)
    listed = [item for item in listed if id_of(item) not in known]
    found = settle_one(body, listed, _same_entity, run, "entities")
    if found is NOT_APPLIED:
        return found
    return {**body, "id": found["id"]}


def _links(client: Any, transcription: Any, run: str) -> list:
    return _pages(client, "ListTranscriptionEntities", id=transcription, worker_run=run)


def _same_link(wanted: dict, item: dict) -> bool:
    entity = item.get("entity")
    if "entity" in wanted and id_of(entity) != plain(wanted["entity"]):
        return False
    if "name" in wanted and not (
        isinstance(entity, dict)
        and entity.get("name") == wanted["name"]
        and plain(entity.get("type_id", id_of(entity.get("type"))))
        == plain(wanted.get("type_id"))
    ):
        return False
    return (
        item.get("offset") == wanted.get("offset")
        and item.get("length") == wanted.get("length")
        and same_number(item.get("confidence"), wanted.get("confidence"))
    )


def _same_typed_link(wanted: dict, item: dict) -> bool:
    """The 0.6 form: a link made of an entity type, offset and length."""
    entity = item.get("entity") if isinstance(item.get("entity"), dict) else {}
    type_id = item.get("type_id", id_of(item.get("type")))
    if type_id is None:
        type_id = entity.get("type_id", id_of(entity.get("type")))
    return (
        plain(type_id) == plain(wanted.get("type_id"))
        and item.get("offset") == wanted.get("offset")
        and item.get("length") == wanted.get("length")
        and same_number(item.get("confidence"), wanted.get("confidence"))
    )


def check_create_transcription_entity_0_6(client: Any, parameters: dict) -> Any:
    """The 0.6 form: the transcription's links of the worker run, by type."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    links = _links(client, parameters["id"], run)
    found = settle_one(body, links, _same_typed_link, run, "links", True)
    return found if found is NOT_APPLIED else dict(body)


def check_create_transcription_entity(client: Any, parameters: dict) -> Any:
    """The transcription's entity links of the worker run."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    if "entity" not in body:
        raise Undecided("the write names no entity")
    found = settle_one(
        body, _links(client, parameters["id"], run), _same_link, run, "links", True
    )
    return found if found is NOT_APPLIED else dict(body)


def check_create_transcription_entities(client: Any, parameters: dict) -> Any:
    """The transcription's entity links of the worker run (entities by name and type)."""
    body = parameters.get("body") or {}
    run = worker_run_of(body)
    wanted = body.get("entities") or []
    found = settle(
        wanted, _links(client, parameters["id"], run), _same_link, run, "links", True
    )
    if found is NOT_APPLIED:
        return found
    if not all(item.get("id") and id_of(item.get("entity")) for item in found):
        raise Undecided("the links listed do not give their IDs")
    return {
        "entities": [
            {"transcription_entity_id": item["id"], "entity_id": id_of(item["entity"])}
            for item in found
        ]
    }


# ---------------------------------------------------------------- corpus types and classes


def _named(listed: Iterable[Any], key: str, name: Any) -> Any:
    """The one listed object of that name (names are unique in a corpus)."""
    found = [i for i in listed if isinstance(i, dict) and i.get(key) == name]
    if len(found) > 1:
        raise Undecided(f"{len(found)} objects are named {name!r}")
    return found[0] if found else NOT_APPLIED


def check_create_entity_type(client: Any, parameters: dict) -> Any:
    """The corpus's entity types: one of that name exists or not."""
    body = parameters.get("body") or {}
    listed = _pages(client, "ListCorpusEntityTypes", id=body.get("corpus"))
    found = _named(listed, "name", body.get("name"))
    return found if found is NOT_APPLIED else {**body, **found}


def check_create_ml_class(client: Any, parameters: dict) -> Any:
    """The corpus's ML classes: one of that name exists or not."""
    body = parameters.get("body") or {}
    listed = _pages(client, "ListCorpusMLClasses", id=parameters["id"])
    return _named(listed, "name", body.get("name"))


def check_create_element_type(client: Any, parameters: dict) -> Any:
    """The corpus's element types (RetrieveCorpus): one of that slug exists or not."""
    body = parameters.get("body") or {}
    corpus = client.request("RetrieveCorpus", id=body.get("corpus"))
    if not isinstance(corpus, dict):
        raise Undecided("the corpus's answer is not an object")
    found = _named(_listing(corpus.get("types")), "slug", body.get("slug"))
    return found if found is NOT_APPLIED else {**body, **found}
