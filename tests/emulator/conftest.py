"""Fixtures: one small emulator shared by the API tests, driven in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from kitsu_ingest.emulator import EmulatorConfig, Population, create_app

BASE = "http://kitsu.test/api/edge"
USERS, SEED = 3000, 7
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


class Api:
    """A synchronous facade over an AsyncClient bound to the app (one event loop per call)."""

    def __init__(self, app: Any, base: str = BASE) -> None:
        self.app, self.base = app, base

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.get_many([path], **kwargs)[0]

    def get_many(self, paths: list[str], **kwargs: Any) -> list[httpx.Response]:
        async def run() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=self.app, **kwargs)
            async with httpx.AsyncClient(transport=transport, base_url=self.base) as client:
                return [await client.get(p if p.startswith("http") else self.base + p) for p in paths]

        return asyncio.run(run())

    def json(self, path: str) -> dict[str, Any]:
        response = self.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def crawl(self, first: str) -> list[dict[str, Any]]:
        """Every document of a paginated listing, following `links.next` as given."""
        docs, url = [], first
        while url:
            doc = self.json(url)
            docs.append(doc)
            url = doc["links"].get("next")
        return docs


@pytest.fixture(scope="session")
def app() -> Any:
    return create_app(EmulatorConfig(users=USERS, seed=SEED))


@pytest.fixture(scope="session")
def api(app: Any) -> Api:
    return Api(app)


@pytest.fixture(scope="session")
def population(app: Any) -> Population:
    return app.state.population


@pytest.fixture(scope="session")
def sample_users(population: Population) -> dict[str, int]:
    """Ids of users with notable traits, found by scanning the first users."""
    found: dict[str, int] = {}
    cat = population.catalogue
    for uid in population.user_ids[:2500].tolist():
        u = population.user(uid)
        lib = u.library
        visible = ~lib.private
        traits = {
            "nsfw": bool((cat.nsfw[lib.anime] & visible).any()),
            "private": bool(lib.private.any()) and visible.sum() > 5,
            "big": visible.sum() > 520,
            "empty": len(lib) == 0,
            "medium": 40 < visible.sum() < 200 and not cat.nsfw[lib.anime].any(),
            "favs": sum(f.item_type == "Anime" for f in u.favorites) > 22,
        }
        for name, ok in traits.items():
            if ok and name not in found:
                found[name] = uid
    return found


@pytest.fixture(scope="session")
def make_api() -> type[Api]:
    """The Api facade class, to bind other apps or another base URL."""
    return Api
