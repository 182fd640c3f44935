"""Element types of the corpus: load them, check them, create the missing ones.

[ElementTypesMixin][arkindex_worker.worker.element_types.ElementTypesMixin] is
the base of [ElementMixin][arkindex_worker.worker.element.ElementMixin], which
every name of this module is also importable from. The loaded types are kept in
``self.corpus_types``, by slug. None of these helpers checks read-only mode: types
are created in developer mode too.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from arkindex_worker import logger
from arkindex_worker.api import ErrorResponse
from arkindex_worker.errors import MissingElementType, MissingTypeError
from arkindex_worker.utils import pluralize
from arkindex_worker.validation import check, check_str
from arkindex_worker.worker.rules06 import follows_0_6, unsupported_cache

__all__ = ["ElementType", "ElementTypesMixin", "slugify"]


class ElementType(NamedTuple):
    """An element type to create with `create_required_types`."""

    name: str
    slug: str
    is_folder: bool


def slugify(name: str) -> str:
    """Slug of an element type name: ``"Text Line"`` gives ``"text_line"``."""
    return re.sub(r"[^-_a-z0-9]", "", name.lower().replace(" ", "_"))


class ElementTypesMixin:
    """Load, check and create the element types of the corpus (``self.corpus_types``)."""

    def list_corpus_types(self) -> None:
        """Load the element types of the corpus into ``self.corpus_types`` (by slug)."""
        corpus = self.api_client.request("RetrieveCorpus", id=self.corpus_id)
        self.corpus_types = {
            element_type["slug"]: element_type for element_type in corpus["types"]
        }
        count = len(self.corpus_types)
        logger.info(
            f"Loaded {count} element {pluralize('type', count)} in corpus ({self.corpus_id})."
        )

    def _request_element_type(self, slug: str, name: str, is_folder: bool) -> dict:
        return self.api_client.request(
            "CreateElementType",
            body={
                "slug": slug,
                "display_name": name,
                "folder": is_folder,
                "corpus": self.corpus_id,
            },
        )

    @unsupported_cache
    def create_required_types(self, element_types: list[ElementType]) -> None:
        """Create element types in the corpus, even in read-only mode.

        ``self.corpus_types`` is not updated.
        """
        for element_type in element_types:
            self._request_element_type(
                element_type.slug, element_type.name, element_type.is_folder
            )
            logger.info(f"Created a new element type with slug {element_type.slug}")

    def create_element_type(
        self, slug: str, name: str, is_folder: bool = False
    ) -> None:
        """Create an element type in the corpus and add it to ``self.corpus_types``.

        When the server refuses it (HTTP 400, e.g. it already exists), the corpus
        types are reloaded instead.

        Raises:
            AssertionError: invalid arguments, or the type is still unknown after
                reloading.
        """
        check_str(slug, "slug")
        check_str(name, "name")
        check(
            isinstance(is_folder, bool),
            "is_folder shouldn't be null and should be of type bool",
        )
        try:
            self.corpus_types[slug] = self._request_element_type(slug, name, is_folder)
        except ErrorResponse as e:
            if e.status_code != 400:
                raise
            logger.warning(
                f"Unable to create the element type `{slug}`. "
                "Refreshing corpus element types cache."
            )
            self.list_corpus_types()
            check(
                slug in self.corpus_types,
                f"Missing element type `{slug}` even after refreshing.",
            )
            return
        logger.info(f"Created a new element type with slug `{slug}`.")

    def check_required_types(
        self,
        *type_slugs: str,
        create_missing: bool = False,
        type_names: list[str] | None = None,
    ) -> bool | dict[str, str]:
        """Check that the corpus has the given element types.

        0.4 form, ``check_required_types("page", "line")``: returns ``True``.
        0.6 forms, ``check_required_types(type_names=["Page"])`` or one list
        positional: slugifies the names and returns the ``{name: slug}`` mapping.

        Args:
            type_slugs: element type slugs (0.4 form).
            create_missing: create the missing types instead of failing.
            type_names: element type names (0.6 form).

        Raises:
            MissingTypeError: some types are missing and ``create_missing`` is false
                (``MissingElementType`` in the 0.6 forms).
        """
        check(
            type_names is None or not type_slugs,
            "Use either type slugs as positional arguments or type_names, not both.",
        )
        if type_names is None and follows_0_6(self):
            # Generation 0.6 knows only the type_names forms (spec 15 §4)
            type_names = type_slugs[0] if len(type_slugs) == 1 else None
            return self._check_required_type_names(type_names, create_missing)
        if type_names is not None:
            return self._check_required_type_names(type_names, create_missing)
        if len(type_slugs) == 1 and isinstance(type_slugs[0], list):
            return self._check_required_type_names(type_slugs[0], create_missing)

        check(len(type_slugs), "At least one element type slug is required.")
        check(
            all(isinstance(slug, str) for slug in type_slugs),
            "Element type slugs must be strings.",
        )
        if not self.corpus_types:
            self.list_corpus_types()

        missing = set(type_slugs) - set(self.corpus_types)
        if missing:
            if not create_missing:
                raise MissingTypeError(
                    f"Element {pluralize('type', len(missing))} "
                    f"{', '.join(sorted(missing))} were not found in corpus "
                    f"({self.corpus_id})."
                )
            self.create_required_types(
                [ElementType(slug, slug, False) for slug in sorted(missing)]
            )
        return True

    def _check_required_type_names(
        self, type_names: Any, create_missing: Any
    ) -> dict[str, str]:
        check(
            type_names and isinstance(type_names, list),
            "type_names shouldn't be null and should be of type list",
        )
        for index, name in enumerate(type_names):
            check(
                isinstance(name, str),
                f"Element type at index {index} in type_names: Should be of type str",
            )
        check(
            isinstance(create_missing, bool),
            "create_missing shouldn't be null and should be of type bool",
        )
        if not self.corpus_types:
            self.list_corpus_types()

        mapping = {}
        for name in type_names:
            slug = mapping[name] = slugify(name)
            if slug in self.corpus_types:
                continue
            if not create_missing:
                raise MissingElementType(
                    f"Element type `{slug}` was not in the corpus."
                )
            self.create_element_type(slug=slug, name=name)
        return mapping
