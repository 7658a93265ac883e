"""KitsuClient.pages against an API whose paging lies: a count too low, a links.next that loops, that
goes on forever, or that points to another host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kitsu_ingest.errors import TransientError
from kitsu_ingest.kitsu import KitsuClient
from kitsu_ingest.kitsu import client as client_module

BASE = "https://kitsu.test/api/edge"
RECORDS = 10


def link(offset: int, **extra: Any) -> str:
    query = "&".join([f"page%5Blimit%5D=2&page%5Boffset%5D={offset}", *(f"{k}={v}" for k, v in extra.items())])
    return f"{BASE}/users?{query}"


def api(count: int = RECORDS, next_of: Callable[[int, httpx.URL], str | None] | None = None,
        records: int = RECORDS) -> tuple[httpx.MockTransport, list[str]]:
    """Pages of 2 of `records` users; `count` is the meta.count said; `next_of(offset, url)` the
    links.next given (by default the next offset while there are records)."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        offset = int(request.url.params.get("page[offset]", 0))
        data = [{"id": str(i), "type": "users"} for i in range(offset, min(offset + 2, records))]
        following = next_of(offset, request.url) if next_of else (link(offset + 2) if offset + 2 < records else None)
        return httpx.Response(200, json={"data": data, "meta": {"count": count},
                                         "links": {"next": following} if following else {}})

    return httpx.MockTransport(handler), asked


def page_through(transport: httpx.MockTransport) -> tuple[list[str], list[tuple[str, str, str]]]:
    anomalies: list[tuple[str, str, str]] = []

    async def go() -> list[str]:
        async with KitsuClient(BASE, transport=transport, rate=None, backoff=(0.001, 0.005)) as kitsu:
            pages = kitsu.pages("/users", {"page[limit]": 2}, on_anomaly=lambda *a: anomalies.append(a))
            return [r["id"] async for page in pages for r in page.data]

    return asyncio.run(go()), anomalies


def test_a_count_too_low_loses_nothing() -> None:
    transport, _ = api(count=3)  # the last page counted (offset 2) still names a next one
    ids, anomalies = page_through(transport)
    assert sorted(ids, key=int) == [str(i) for i in range(RECORDS)] and anomalies == []


def test_a_next_link_back_to_a_page_read_ends_the_paging() -> None:
    transport, asked = api(next_of=lambda offset, _: link(offset + 2) if offset + 2 < RECORDS else link(0))
    ids, anomalies = page_through(transport)
    assert len(ids) == RECORDS and len(asked) == RECORDS // 2
    assert [kind for kind, _, _ in anomalies] == ["next-loop"]


def test_a_next_link_that_brings_nothing_new_ends_the_paging() -> None:
    # Onward for ever without an offset: the same records under ever new URLs.
    transport, asked = api(count=2, next_of=lambda _, url: f"{url}&again=1")
    ids, anomalies = page_through(transport)
    assert ids == ["0", "1", "0", "1"] and len(asked) == 2
    assert [kind for kind, _, _ in anomalies] == ["next-nothing-new"]


def test_a_next_link_to_another_host_is_refused() -> None:
    transport, asked = api(count=2, next_of=lambda _, url: str(url.copy_with(host="evil.test")))
    ids, anomalies = page_through(transport)
    assert ids == ["0", "1"] and all("evil.test" not in url for url in asked)
    assert [(kind, "evil.test" in message) for kind, message, _ in anomalies] == [("next-other-host", True)]


def test_a_collection_longer_than_the_page_budget_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "MAX_PAGES", 30)
    endless = 10**6  # new records on every page, as far as the client can tell
    transport, asked = api(count=1, next_of=lambda offset, _: link(offset + 2), records=endless)
    with pytest.raises(TransientError, match=r"more than 30 pages .* never ends") as caught:
        page_through(transport)
    assert caught.value.cause == "endless-paging" and len(asked) == 30
