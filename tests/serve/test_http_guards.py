"""What guards the server beyond input checks: HEAD, headers that keep browsers safe, a bound on
heavy requests waiting, a bounded title search, and the warning when it listens beyond loopback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from recommender.data.store import StoreReader
from recommender.serving.holder import ModelHolder
from recommender.serving.http import HEAVY_BACKLOG
from recommender.webapp import create_app

from .conftest import Trained


@pytest.fixture
def holder(trained: Trained) -> ModelHolder:
    return ModelHolder(trained.model_dir, None, StoreReader.open(trained.url), interval=60)


@pytest.fixture
def client(holder: ModelHolder) -> Iterator[TestClient]:
    with TestClient(create_app(holder)) as test_client:
        yield test_client


def test_head_is_answered_as_get_without_a_body(client: TestClient) -> None:
    for path in ("/health", "/users/4/recommendations", "/", "/dashboard/models"):
        head, get = client.head(path), client.get(path)
        assert head.status_code == get.status_code == 200 and head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"]


def test_every_answer_says_nosniff_and_no_framing(client: TestClient) -> None:
    for path in ("/health", "/users/abc/recommendations", "/nowhere", "/dashboard/users?id=4"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]


def test_a_long_title_search_is_a_400_not_a_503(client: TestClient) -> None:
    response = client.get("/dashboard/anime", params={"q": "a" * 50_000})
    assert response.status_code == 400 and "at most 500 characters" in response.text


def test_heavy_requests_beyond_the_backlog_are_refused_with_retry_after(holder: ModelHolder) -> None:
    app = create_app(holder, threads=1)
    bound = 1 * (1 + HEAVY_BACKLOG)

    async def flood() -> list[httpx.Response]:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await asyncio.gather(*(client.get("/users/4/recommendations?explain=true&n=100")
                                          for _ in range(3 * bound)))

    answers = asyncio.run(flood())
    refused = [r for r in answers if r.status_code == 503]
    assert refused and all(r.headers["retry-after"] == "1" and "busy" in r.json()["error"] for r in refused)
    assert sum(r.status_code == 200 for r in answers) >= bound


def test_serving_beyond_loopback_warns_that_anyone_can_read(trained: Trained) -> None:
    recommend = str(Path(sys.executable).parent / "recommend")
    server = subprocess.Popen([recommend, "serve", "--host", "0.0.0.0", "--port", "0",
                               "--database-url", trained.url, "--model-dir", str(trained.model_dir)],
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert server.stderr is not None
        first = server.stderr.readline()
    finally:
        server.terminate()
        server.wait(10)
    assert first.startswith("warning: 0.0.0.0 is reachable from other machines"), first
