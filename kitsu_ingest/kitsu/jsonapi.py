"""JSON:API documents as Kitsu serves them: parsing and checking, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import orjson

from kitsu_ingest.errors import TransientError

__all__ = ["MISSING", "Document", "linkage", "parse_document", "query_of"]

Resource = dict[str, Any]


class _Missing(Enum):
    MISSING = "missing"


MISSING = _Missing.MISSING
"""What `linkage` returns for a relationship the document does not describe (a singleton that
type checkers can narrow with `is`)."""


@dataclass(frozen=True)
class Document:
    """A parsed response: `data` is always a list (a single resource becomes one item)."""

    url: str
    data: list[Resource]
    included: list[Resource] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    single: bool = False

    @property
    def next(self) -> str | None:
        """The next page's URL, as the server gave it."""
        return self.links.get("next")

    @property
    def count(self) -> int | None:
        """`meta.count`, the number of records across all pages."""
        count = self.meta.get("count")
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    def included_of(self, kind: str) -> dict[str, Resource]:
        """Included resources of one type, by id."""
        return {r["id"]: r for r in self.included if r.get("type") == kind}


def parse_document(body: bytes, url: str) -> Document:
    """Parse a response body; a body that is not a JSON:API document is a TransientError.

    `data` must hold resources (objects with a string `type` and an `id`); members of the wrong
    shape elsewhere are dropped: `included` keeps only resources, `links` only string links, and
    `meta` is an object or empty.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _malformed(f"malformed JSON from {url}", body) from None
    if not isinstance(payload, dict) or "data" not in payload:
        raise _malformed(f"not a JSON:API document from {url}", body)
    data = payload["data"]
    single = not isinstance(data, list)
    resources = [] if data is None else ([data] if single else data)
    if not all(_is_resource(r) for r in resources):
        raise _malformed(f"resources without id or type from {url}", body)
    included, links, meta = payload.get("included"), payload.get("links"), payload.get("meta")
    return Document(
        url=url,
        data=resources,
        included=[r for r in included if _is_resource(r)] if isinstance(included, list) else [],
        links={k: v for k, v in links.items() if isinstance(v, str)} if isinstance(links, dict) else {},
        meta=meta if isinstance(meta, dict) else {},
        single=single,
    )


def _malformed(message: str, body: bytes) -> TransientError:
    return TransientError(message, "malformed", payload=body[:4000].decode("utf-8", "replace"))


def _is_resource(value: Any) -> bool:
    """An object with a string `type` and an `id` (a string, as JSON:API says; a number is let by)."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return False
    ident = value.get("id")
    return isinstance(ident, str) or (isinstance(ident, int) and not isinstance(ident, bool))


def linkage(resource: Resource, name: str) -> tuple[str, str] | Literal[_Missing.MISSING] | None:
    """The (type, id) a relationship points at; None for `data: null`; MISSING if absent.
    Raises ValueError for linkage data that is not one resource identifier."""
    relationships = resource.get("relationships")
    relationship = relationships.get(name) if isinstance(relationships, dict) else None
    if not isinstance(relationship, dict) or "data" not in relationship:
        return MISSING
    data = relationship["data"]
    if data is None:
        return None
    if not _is_resource(data):
        raise ValueError(f"malformed {name} linkage {data!r}")
    return (data["type"], str(data["id"]))


def query_of(url: str) -> dict[str, list[str]]:
    """The query parameters of a URL, decoded (`filter[userId]` -> ['7']); none for a URL that
    cannot be parsed."""
    try:
        return parse_qs(urlsplit(url).query)
    except ValueError:
        return {}
