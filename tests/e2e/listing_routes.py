"""The reads of the API double that settle a write whose answer was lost.

`arkindex_worker.api.confirm` reads back what a write made when its answer
was lost: these handlers list, as the Arkindex API does, an element's
transcriptions, metadata and classifications (``RetrieveElement``), a
transcription's entity links and a corpus's entities, with the filters the
confirmations send. `ListingRoutes` adds them to
[ArkindexRoutes][tests.e2e.routes.ArkindexRoutes]; the double derives from it.
"""

from __future__ import annotations

import uuid

from tests.e2e.routes import TRUE_VALUES, ArkindexRoutes, Reject, Request, _route

__all__ = ["ListingRoutes"]


class ListingRoutes(ArkindexRoutes):
    """Listings of what workers published, with their worker run."""

    def _run_summary(self, run: str | None) -> dict | None:
        return None if run is None else {"id": run, "summary": "Demo worker @ e2e"}

    def _by_run(self, request: Request, items: list[dict]) -> list[dict]:
        run = request.param("worker_run")
        return [i for i in items if run is None or str(i["worker_run_id"]) == run]

    def _retrieve_element(self, request: Request, id: str) -> tuple:
        """RetrieveElement, with the element's classifications as Arkindex lists them."""
        status, payload = super()._retrieve_element(request, id)
        payload["classifications"] = [
            {
                "id": c["id"],
                "ml_class": {
                    "id": c["ml_class"],
                    "name": next(
                        (n for n, i in self.ml_classes.items() if i == c["ml_class"]),
                        None,
                    ),
                },
                "confidence": c["confidence"],
                "high_confidence": c["high_confidence"],
                "state": c["state"],
                "worker_run": self._run_summary(c["worker_run_id"]),
            }
            for c in self.classifications
            if c["element"] == id
        ]
        return status, payload

    @_route("ListTranscriptions", "GET", r"element/(?P<id>[^/]+)/transcriptions/")
    def _list_transcriptions(self, request: Request, id: str) -> tuple:
        self._element(id)
        if request.param("recursive") in TRUE_VALUES:
            targets = set(self.children(id, True))
        else:
            targets = {id}
        wanted_type = request.param("element_type")
        items = [
            t
            for t in self._by_run(request, self.transcriptions)
            if t["element_id"] in targets
            and (
                wanted_type is None
                or self.elements[t["element_id"]]["type"] == wanted_type
            )
        ]
        return self._page(
            request,
            [
                {
                    "id": t["id"],
                    "text": t["text"],
                    "confidence": t["confidence"],
                    "orientation": t["orientation"],
                    "worker_version_id": t["worker_version_id"],
                    "worker_run": self._run_summary(t["worker_run_id"]),
                    "element": {
                        "id": t["element_id"],
                        "name": self.elements[t["element_id"]]["name"],
                        "type": self.elements[t["element_id"]]["type"],
                    },
                }
                for t in items
            ],
        )

    @_route("ListElementMetaData", "GET", r"element/(?P<id>[^/]+)/metadata/")
    def _list_element_metadata(self, request: Request, id: str) -> tuple:
        self._element(id)
        return 200, [
            {
                "id": m["id"],
                "type": m["type"],
                "name": m["name"],
                "value": m["value"],
                "dates": m["dates"],
                "entity_id": m.get("entity_id"),
                "worker_run": self._run_summary(m["worker_run_id"]),
            }
            for m in self.metadata
            if m["element_id"] == id
        ]

    @_route("ListCorpusEntities", "GET", r"corpus/(?P<id>[^/]+)/entities/")
    def _list_corpus_entities(self, request: Request, id: str) -> tuple:
        self._check_corpus(id)
        name = request.param("name")
        items = [
            {
                "id": e["id"],
                "name": e["name"],
                "type": {"id": e["type_id"]},
                "metas": e.get("metas"),
                "validated": e.get("validated"),
                "worker_run": self._run_summary(e["worker_run_id"]),
            }
            for e in self.entities
            if name is None or name.lower() in e["name"].lower()
        ]
        return self._page(request, items)

    @_route(
        "ListTranscriptionEntities", "GET", r"transcription/(?P<id>[^/]+)/entities/"
    )
    def _list_transcription_entities(self, request: Request, id: str) -> tuple:
        if id not in {t["id"] for t in self.transcriptions}:
            raise Reject(404, {"detail": "Not found."})
        entities = {e["id"]: e for e in self.entities}
        items = [
            {
                # The double keeps no ID for links: one derived from the position
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"link-{index}")),
                "entity": {
                    "id": link["entity"],
                    "name": entities[link["entity"]]["name"],
                    "type": {"id": entities[link["entity"]]["type_id"]},
                },
                "offset": link["offset"],
                "length": link["length"],
                "confidence": link.get("confidence"),
                "worker_run": self._run_summary(link["worker_run_id"]),
            }
            for index, link in enumerate(self.transcription_entities)
            if link["transcription"] == id and link in self._by_run(request, [link])
        ]
        return self._page(request, items)
