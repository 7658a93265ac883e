"""JSON:API query parameters, pagination links and error bodies, as jsonapi-resources 0.9 does them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus

__all__ = ["ApiProblem", "Page", "Params", "links", "not_found", "parse_params"]

_BRACKET = re.compile(r"^(filter|page|fields)\[([^\[\]]+)\]$")
_KEPT = ("filter", "fields", "include", "sort")


class ApiProblem(Exception):
    """An error response: HTTP status plus one JSON:API error object."""

    def __init__(self, status: int, title: str, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status = status
        self.body = {"errors": [{"title": title, "detail": detail, "code": code, "status": str(status)}]}


def not_found(ident: object) -> ApiProblem:
    return ApiProblem(404, "Record not found", f"The record identified by {ident} could not be found.", "404")


def invalid_page(detail: str) -> ApiProblem:
    return ApiProblem(400, "Invalid page value", detail, "118")


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


@dataclass
class Params:
    """The JSON:API part of a query string; other parameters are ignored, like the real server does."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    page: dict[str, str] = field(default_factory=dict)
    fields: dict[str, set[str]] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    sort: list[str] = field(default_factory=list)
    raw: list[tuple[str, str]] = field(default_factory=list)

    def paging(self, maximum: int, default: int = 10) -> Page:
        """Validated page[limit]/page[offset]; 400 with Kitsu's body when out of range."""
        limit_s, offset_s = self.page.get("limit", str(default)), self.page.get("offset", "0")
        try:
            limit = int(limit_s)
        except ValueError:
            raise invalid_page(f"{limit_s} is not a valid value for limit page parameter.") from None
        try:
            offset = int(offset_s)
        except ValueError:
            raise invalid_page(f"{offset_s} is not a valid value for offset page parameter.") from None
        if limit < 1:
            raise invalid_page(f"{limit} is not a valid value for limit page parameter.")
        if limit > maximum:
            raise invalid_page(f"Limit exceeds maximum page size of {maximum}.")
        if offset < 0:
            raise invalid_page(f"{offset} is not a valid value for offset page parameter.")
        return Page(limit, offset)

    def check_filters(self, allowed: tuple[str, ...]) -> None:
        for name in self.filters:
            if name not in allowed:
                raise ApiProblem(400, "Filter not allowed", f"{name} is not allowed.", "102")

    def check_include(self, allowed: tuple[str, ...], resource: str) -> None:
        for path in self.include:
            if path not in allowed:
                raise ApiProblem(400, "Invalid relationship",
                                 f"{path.split('.')[-1]} is not a valid relationship of {resource}", "112")

    def fieldset(self, type_: str, known: frozenset[str]) -> set[str] | None:
        """The sparse fieldset asked for a type (None = all); 400 on an unknown field."""
        wanted = self.fields.get(type_)
        if wanted is None:
            return None
        for name in wanted:
            if name not in known:
                raise ApiProblem(400, "Invalid field", f"{name} is not a valid field for {type_}.", "112")
        return wanted


def parse_params(query_string: str) -> Params:
    """Parse a raw query string; brackets may be percent-encoded or not (double encoding is ignored)."""
    params = Params()
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        match = _BRACKET.match(key)
        if match:
            kind, name = match.groups()
            if kind == "filter":
                params.filters[name] = [v for v in value.split(",") if v != ""]
            elif kind == "page":
                params.page[name] = value
            else:
                params.fields[name] = {v for v in value.split(",") if v}
        elif key == "include":
            params.include = [v for v in value.split(",") if v]
        elif key == "sort":
            params.sort = [v for v in value.split(",") if v]
        else:
            continue
        params.raw.append((key, value))
    return params


def links(url: str, params: Params, page: Page, count: int) -> dict[str, Any]:
    """first/prev/next/last with the offset rules of jsonapi-resources' OffsetPaginator.

    `last` is at max(count - limit, 0) (not page-aligned); `prev` is absent on the first page and
    `next` on the last. Query strings are percent-encoded and sorted, filters/fields/include/sort kept.
    """
    kept = [(k, v) for k, v in params.raw if k.split("[")[0] in _KEPT]

    def link(offset: int) -> str:
        pairs = [*kept, ("page[limit]", str(page.limit)), ("page[offset]", str(offset))]
        return url + "?" + "&".join(sorted(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs))

    out = {"first": link(0)}
    if page.offset > 0:
        out["prev"] = link(max(page.offset - page.limit, 0))
    if page.offset + page.limit < count:
        out["next"] = link(page.offset + page.limit)
    out["last"] = link(max(count - page.limit, 0))
    return out
