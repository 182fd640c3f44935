"""ClassificationMixin: ML classes and classifications (spec 09)."""

from __future__ import annotations

from typing import Any

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.cache import (
    CachedClassification,
    cache_write,
    insert_rows,
)
from arkindex_worker.types import ElementLike
from arkindex_worker.utils import (
    DEFAULT_BATCH_SIZE,
    batch_publication,
    make_batches,
    pluralize,
)
from arkindex_worker.validation import (
    check,
    check_confidence,
    check_str,
    item_prefix,
)
from arkindex_worker.worker.rules06 import (
    check_element_argument,
    follows_0_6,
    uses_cache,
)

__all__ = ["ClassificationMixin"]


# The server's answer when this worker run already classified the element so.
UNIQUE_SET_ERROR = "The fields element, worker_run, ml_class must make a unique set."


def _is_duplicate(error: ErrorResponse) -> bool:
    """Whether an API error says the classification already exists."""
    content = error.content
    return (
        error.status_code == 400
        and isinstance(content, dict)
        and "non_field_errors" in content
        and UNIQUE_SET_ERROR in content["non_field_errors"]
    )


def _save_classifications(rows: list[dict[str, Any]], what: str) -> None:
    """Insert classification rows in the cache; an integrity error only warns."""
    with cache_write(what):
        insert_rows(CachedClassification, rows)


class ClassificationMixin:
    """Resolve ML classes and create classifications.

    ``self.classes`` maps the corpus's ML class names to their IDs; it is
    loaded on first use.
    """

    def load_corpus_classes(self) -> None:
        """Load the ML classes of the corpus into ``self.classes``."""
        results = self.api_client.paginate("ListCorpusMLClasses", id=self.corpus_id)
        classes = {ml_class["name"]: ml_class["id"] for ml_class in results}
        self.classes = classes
        count = len(classes)
        logger.info(
            f"Loaded {count} ML {pluralize('class', count)} in corpus ({self.corpus_id})"
        )

    def get_ml_class_id(self, ml_class: str) -> str:
        """ID of an ML class from its name, creating the class when it is unknown.

        The class is created even in read-only mode.

        Raises:
            AssertionError: the server refused to create the class and it is still
                missing after reloading the classes.
            ErrorResponse: any other API error.
        """
        if not self.classes:
            self.load_corpus_classes()
        if ml_class in self.classes:
            return self.classes[ml_class]

        modern = follows_0_6(self)
        if modern:
            logger.info(f"Creating ML class {ml_class}...")
        else:
            logger.info(f"Creating ML class {ml_class} on corpus {self.corpus_id}")
        try:
            response = self.api_client.request(
                "CreateMLClass", id=self.corpus_id, body={"name": ml_class}
            )
        except ErrorResponse as e:
            if e.status_code != 400:
                raise
            # Most likely created meanwhile by another process.
            if modern:
                logger.info(
                    f"Unable to create the ML class `{ml_class}`. "
                    "Refreshing corpus classes cache."
                )
            else:
                logger.info(
                    f"Reloading corpus classes to see if {ml_class} already exists"
                )
            self.load_corpus_classes()
            check(
                ml_class in self.classes,
                f"Missing ML class {ml_class} even after refreshing."
                if modern
                else f"Missing class {ml_class} even after reloading",
            )
            return self.classes[ml_class]

        class_id = self.classes[ml_class] = response["id"]
        if modern:
            logger.debug(f"Created a new ML class {class_id}")
        else:
            logger.debug(f"Created ML class {class_id}")
        return class_id

    def retrieve_ml_class(self, ml_class_id: str) -> str:
        """Name of an ML class from its ID.

        Raises:
            AssertionError: no class of the corpus has this ID.
        """
        if not self.classes:
            self.load_corpus_classes()
        for name, class_id in self.classes.items():
            if class_id == ml_class_id:
                return name
        raise AssertionError(
            f"Missing class with id ({ml_class_id}) in corpus ({self.corpus_id})"
        )

    def create_classification(
        self,
        element: ElementLike,
        ml_class: str,
        confidence: float,
        high_confidence: bool = False,
    ) -> dict | None:
        """Classify an element.

        Args:
            element: the element to classify.
            ml_class: name of the ML class (created when unknown).
            confidence: a float in ``[0, 1]``.
            high_confidence: whether the confidence is high.

        Returns:
            The API answer; ``None`` in read-only mode or when this worker run
            already set this class on the element.
        """
        check_element_argument(self, element)
        check_str(ml_class, "ml_class")
        check_confidence(confidence, required=True)
        check(
            isinstance(high_confidence, bool),
            "high_confidence shouldn't be null and should be of type bool",
        )
        if self.skip_publication(
            "Cannot create classification as this worker is in read-only mode"
        ):
            return None

        try:
            created = self.api_client.request(
                "CreateClassification",
                body={
                    "element": str(element.id),
                    "ml_class": self.get_ml_class_id(ml_class),
                    "worker_run_id": self.worker_run_id,
                    "confidence": confidence,
                    "high_confidence": high_confidence,
                },
            )
        except ErrorResponse as e:
            if not _is_duplicate(e):
                raise
            logger.warning(
                f"This worker run has already set {ml_class} on element {element.id}"
            )
            return None

        if uses_cache(self):
            _save_classifications(
                [self._cache_row(element, created, ml_class)], "classification"
            )
        return created

    @batch_publication
    def create_classifications(
        self,
        element: ElementLike,
        classifications: list[dict[str, Any]],
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[dict] | None:
        """Classify an element with several ML classes, in bulk.

        Args:
            element: the element to classify.
            classifications: dicts with ``ml_class`` (a class name), ``confidence``
                and an optional ``high_confidence``; every key is forwarded.
            batch_size: number of classifications per request.

        Returns:
            The created classifications, in order (with a ``class_name`` key when
            the cache is off, under generation 0.4 only); ``None`` in read-only
            mode.
        """
        check_element_argument(self, element)
        check(
            classifications and isinstance(classifications, list),
            "classifications shouldn't be null and should be of type list",
        )
        for index, item in enumerate(classifications):
            prefix = item_prefix("Classification", index, "classifications")
            check_str(item.get("ml_class"), "ml_class", prefix=prefix)
            check_confidence(item.get("confidence"), required=True, prefix=prefix)
            high_confidence = item.get("high_confidence")
            if high_confidence is not None:
                check(
                    isinstance(high_confidence, bool),
                    prefix + "high_confidence should be of type bool",
                )
        if self.skip_publication(
            "Cannot create classifications as this worker is in read-only mode"
        ):
            return None

        created = []
        for batch in make_batches(classifications, "classification", batch_size):
            response = self.api_client.request(
                "CreateClassifications",
                body={
                    "parent": str(element.id),
                    "worker_run_id": self.worker_run_id,
                    "classifications": [
                        {**item, "ml_class": self.get_ml_class_id(item["ml_class"])}
                        for item in batch
                    ],
                },
            )
            created.extend(response["classifications"])

        if follows_0_6(self):
            # Generation 0.6 returns the answers as received (spec 15 §5)
            return created

        for item in created:
            item["class_name"] = self.retrieve_ml_class(item["ml_class"])

        if self.use_cache:
            # Upstream pops `class_name`: with the cache on, items lose it again.
            rows = [
                self._cache_row(element, item, item.pop("class_name"))
                for item in created
            ]
            _save_classifications(rows, "classifications")
        return created

    def _cache_row(
        self, element: ElementLike, created: dict, class_name: str
    ) -> dict[str, Any]:
        return {
            "id": created["id"],
            "element_id": element.id,
            "class_name": class_name,
            "confidence": created["confidence"],
            "state": created["state"],
            "worker_run_id": self.worker_run_id,
        }
