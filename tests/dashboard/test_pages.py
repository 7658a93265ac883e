"""The dashboard's pages without a browser: what each shows against the store, the registry and the
API, and what each says when something is missing (never a traceback, never a blank page)."""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette's notice about httpx, the client it is built on
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from .conftest import EMPTY_USER, NON_ASCII_ID, NON_ASCII_TITLE, Site

PAGES = ["/", "/dashboard/store", "/dashboard/models", "/dashboard/segments", "/dashboard/users",
         "/dashboard/users?id=1", "/dashboard/anime", "/dashboard/anime?q=1000", "/docs"]


@pytest.fixture(scope="module")
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app(), raise_server_exceptions=False) as test_client:
        yield test_client


def _text(html: str) -> str:
    """The page's words, tags dropped, whitespace collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _page(response: Any, status: int = 200) -> str:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text and "<script" not in response.text
    return _text(response.text)


def test_every_page_renders_without_script(client: TestClient) -> None:
    for path in PAGES:
        text = _page(client.get(path))
        assert "kitsu-recs" in text and len(text) > 200, path


def test_store_page_counts_runs_errors_and_the_crawl_in_progress(client: TestClient, site: Site) -> None:
    from kitsu_ingest.store.stats import store_stats

    stats = store_stats(site.engine)
    text = _page(client.get("/dashboard/store"))
    assert f"users {stats['users']:,}" in text and f"library entries {stats['library_entries']:,}" in text
    for status, n in stats["library_entries_by_status"].items():
        assert f"{status} {n:,}" in text
    assert "Crawl in progress: run 2 (sample of 100)" in text
    assert "40 of 100 users (40.0%)" in text and "time left: 30 s" in text  # 60 left at 2 users/s
    assert "malformed 2, nsfw 1" in text and "429 3" in text


def test_models_page_shows_the_card_and_every_baseline(client: TestClient, site: Site) -> None:
    text = _page(client.get("/dashboard/models"))
    card = site.card
    assert f"Model card: {site.version} served" in text and f"family {card.family}" in text
    for name, figures in card.test.items():
        assert f"{name}" in text
        assert f"{figures[card.primary]:.4f}" in text, name
    for key in card.params:
        assert key in text, key
    for status, weight in card.weights.as_dict().items():
        assert f"{status} {weight:.4f}" in text
    html = client.get("/dashboard/models").text
    for plot in ("history", "effects"):
        src = f"/dashboard/models/{site.version}/plots/{plot}.png"
        assert src in html
        image = client.get(src)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_segments_page_shows_tiers_sweep_clusters_and_profiles(client: TestClient, site: Site) -> None:
    from recommender.dashboard.store_data import latest_segments

    run = latest_segments(site.engine)
    assert run is not None
    text = _page(client.get("/dashboard/segments"))
    for tier, n in run.summary["tiers"].items():
        assert f"{tier} {n:,}" in text
    assert f"chosen k = {run.k}" in text
    for profile in run.summary["profiles"]:
        assert f"{profile['size']:,}" in text
    for plot in ("sweep", "tiers", "clusters"):
        image = client.get(f"/dashboard/segments/plots/{plot}.png")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG"), plot


def test_user_page_matches_the_api(client: TestClient) -> None:
    for planned in (False, True):
        api = client.get("/users/7/recommendations", params={"n": 10, "explain": "true",
                                                            "include_planned": str(planned).lower()}).json()
        html = client.get("/dashboard/users", params={"id": "7", **({"planned": "true"} if planned else {})}).text
        shown = re.findall(r'<td class="title" data-anime="(\d+)">', html)
        assert shown == [str(item["anime_id"]) for item in api["items"]]
        for item in api["items"]:
            for reason in item["because"]:
                assert f'href="/dashboard/anime?q={reason["anime_id"]}"' in html


def test_user_library_by_status(client: TestClient, site: Site) -> None:
    from recommender.data.store import StoreReader

    events = StoreReader(site.engine).user_events(7)
    text = _page(client.get("/dashboard/users?id=7"))
    completed = sum(1 for _, status in events.entries if status == "completed")
    assert f"completed {completed:,}" in text and "planned 1" in text and "Favourites: 1." in text


def test_anime_page_by_id_and_by_non_ascii_title(client: TestClient) -> None:
    api = client.get(f"/anime/{NON_ASCII_ID}/similar?n=10").json()
    for query in (str(NON_ASCII_ID), "kidōtai: umi", NON_ASCII_TITLE.upper()):
        html = client.get("/dashboard/anime", params={"q": query}).text
        assert f'data-anime="{NON_ASCII_ID}"' in html, query
        assert re.findall(r'<td class="title" data-anime="(\d+)">', html) == [str(i["anime_id"]) for i in api["items"]]
        assert NON_ASCII_TITLE in unescape(html)


@pytest.mark.parametrize(("path", "status", "says", "command"), [
    ("/dashboard/users?id=4242", 404, "User 4242 is unknown", "kitsu-ingest crawl --users 4242"),
    ("/dashboard/users?id=abc", 400, "'abc' is not a user id", None),
    (f"/dashboard/users?id={EMPTY_USER}", 200, f"User {EMPTY_USER} has an empty library",
     f"kitsu-ingest crawl --users {EMPTY_USER}"),
    ("/dashboard/anime?q=77", 404, "anime 77 is not in model", "kitsu-ingest crawl --sample 5000"),
    ("/dashboard/anime?q=Zzyzx", 404, "no anime titled like 'Zzyzx' in the store", "kitsu-ingest crawl --sample 5000"),
    ("/dashboard/models/nope", 404, "no model version matches 'nope'", "recommend train"),
    ("/dashboard/nowhere", 404, "Not Found", None),
])
def test_bad_input_is_said_plainly(client: TestClient, path: str, status: int, says: str, command: str | None) -> None:
    text = _page(client.get(path), status)
    assert says in text, text[:400]
    if command:
        assert f"Fix: {command}" in text


def _bare(tmp_path: Path, tables: bool) -> str:
    from kitsu_ingest.store import make_engine
    from kitsu_ingest.store.migrate import upgrade

    path = tmp_path / "bare.db"
    if tables:
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
    else:
        sqlite3.connect(path).close()
    return f"sqlite:///{path}"


def test_an_empty_store_without_model_or_segments(site: Site, tmp_path: Path) -> None:
    app = site.app(model_dir=tmp_path / "no-models", segments_dir=tmp_path / "none", url=_bare(tmp_path, True))
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in PAGES:
            assert "No model is served" in _page(client.get(path), 404 if "id=1" in path else 200), path
        assert "Fix: recommend train" in _page(client.get("/"))
        assert "The store is empty" in _page(client.get("/dashboard/store"))
        assert "Fix: kitsu-ingest crawl --sample 5000" in _page(client.get("/dashboard/store"))
        assert "Fix: kitsu-ingest segment-users" in _page(client.get("/dashboard/segments"))
        assert "No model has been trained yet" in _page(client.get("/dashboard/models"))
        assert "User 1 is not in the store" in _page(client.get("/dashboard/users?id=1"), 404)


def test_a_store_without_tables_says_to_upgrade(site: Site, tmp_path: Path) -> None:
    with TestClient(site.app(url=_bare(tmp_path, False)), raise_server_exceptions=False) as client:
        for path in ("/", "/dashboard/store", "/dashboard/segments", "/dashboard/users?id=1"):
            assert "Fix: kitsu-ingest db upgrade" in _page(client.get(path), 200), path


def test_a_model_that_fails_to_load(site: Site, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "models"
    shutil.copytree(site.model_dir, broken)
    (broken / site.version / "ids.npz").write_bytes(b"PK\x03\x04 truncated")
    with TestClient(site.app(model_dir=broken), raise_server_exceptions=False) as client:
        for path in ("/", "/dashboard/users?id=1", "/dashboard/anime?q=1000"):
            text = _page(client.get(path))
            assert "No model is served" in text and "corrupt or truncated" in text and "Fix: recommend train" in text
            assert str(tmp_path) not in text
        assert f"MODEL_DIR/{site.version}" in _page(client.get("/dashboard/models"))
