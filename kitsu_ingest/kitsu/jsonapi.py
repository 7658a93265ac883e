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
        return count if isinstance(count, int) else None

    def included_of(self, kind: str) -> dict[str, Resource]:
        """Included resources of one type, by id."""
        return {r["id"]: r for r in self.included if r.get("type") == kind}


def parse_document(body: bytes, url: str) -> Document:
    """Parse a response body; a body that is not a JSON:API document is a TransientError."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise TransientError(
            f"malformed JSON from {url}", "malformed", payload=body[:4000].decode("utf-8", "replace")
        ) from None
    if not isinstance(payload, dict) or "data" not in payload:
        raise TransientError(
            f"not a JSON:API document from {url}", "malformed", payload=body[:4000].decode("utf-8", "replace")
        )
    data = payload["data"]
    single = not isinstance(data, list)
    resources = [] if data is None else ([data] if single else data)
    if not all(isinstance(r, dict) and "id" in r and "type" in r for r in resources):
        raise TransientError(
            f"resources without id or type from {url}", "malformed", payload=body[:4000].decode("utf-8", "replace")
        )
    return Document(
        url=url,
        data=resources,
        included=[r for r in payload.get("included") or [] if isinstance(r, dict)],
        links={k: v for k, v in (payload.get("links") or {}).items() if isinstance(v, str)},
        meta=payload.get("meta") or {},
        single=single,
    )


def linkage(resource: Resource, name: str) -> tuple[str, str] | Literal[_Missing.MISSING] | None:
    """The (type, id) a relationship points at; None for `data: null`; MISSING if absent."""
    relationship = (resource.get("relationships") or {}).get(name)
    if not isinstance(relationship, dict) or "data" not in relationship:
        return MISSING
    data = relationship["data"]
    if data is None:
        return None
    return (str(data["type"]), str(data["id"]))



def query_of(url: str) -> dict[str, list[str]]:
    """The query parameters of a URL, decoded (`filter[userId]` -> ['7'])."""
    return parse_qs(urlsplit(url).query)
