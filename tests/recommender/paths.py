"""What the every-path tests share: one population as a Kitsu store and as files, and the checks
each command must pass on a model of any family trained on any source.

The population: 150 users in three taste groups over 90 anime (anime 1000 + i is in group i % 3);
anime 1080..1089 have no title anywhere (not in the store's anime table, not in the items file);
store user 900 exists with nothing in their library. EASE is held to 40 items (`EASE_ITEMS`), fewer
than the catalogue, so that its unscored items are on every path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from kitsu_ingest.store.models import Anime, Favorite, LibraryEntry, User
from kitsu_ingest.store.upsert import upsert
from tests.recommender.conftest import run_recommend

USERS = range(1, 151)
ITEMS = [1000 + i for i in range(90)]
UNTITLED = set(ITEMS[80:])
EASE_ITEMS = 40
NOW = datetime(2024, 1, 1)
STATUSES = ["completed", "current", "planned", "on_hold", "dropped"]
CAN = {"als": {"explain", "similar", "refresh"}, "itemknn": {"explain", "similar", "refresh"},
       "ease": {"explain", "similar", "refresh"}, "popularity": set(), "cluster_popularity": set()}
"""What each family answers beyond a top N, a fold-in and a batch (the rest is one line: it cannot)."""


def group(item: int) -> int:
    return (item - 1000) % 3


def events(seed: int = 0) -> pd.DataFrame:
    """(user, item, status) rows: each user holds about 60% of their group's anime, a few others."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in USERS:
        for item in ITEMS:
            if rng.random() < (0.6 if group(item) == user % 3 else 0.04):
                rows.append((user, item, STATUSES[int(rng.integers(0, 5))]))
    return pd.DataFrame(rows, columns=["user", "item", "status"])


def user_row(user: int, fetched_at: datetime = NOW) -> dict[str, Any]:
    counters = {c.name: 0 for c in User.__table__.c  # type: ignore[attr-defined]
                if c.name.endswith(("_count", "_anime"))}
    return {"id": user, "name": f"user{user}", **counters, "fetched_at": fetched_at}


def entry_rows(frame: pd.DataFrame, first_id: int = 1, fetched_at: datetime = NOW) -> list[dict[str, Any]]:
    """Library entries of (user, item, status) rows, fetched at `fetched_at` (naive UTC)."""
    return [{"id": first_id + k, "user_id": int(u), "anime_id": int(a), "status": s, "progress": 1,
             "reconsuming": False, "reconsume_count": 0, "updated_at": NOW, "fetched_at": fetched_at}
            for k, (u, a, s) in enumerate(frame.itertuples(index=False))]


def fill_store(engine: Engine, seed: int = 0) -> pd.DataFrame:
    """The population as a Kitsu store (titles "Show N"; favourites of user 4; user 900 empty);
    returns its library entries."""
    frame = events(seed)
    anime = [{"id": a, "canonical_title": f"Show {a}", "slug": f"show-{a}", "subtype": "TV",
              "popularity_rank": a - 999, "nsfw": False, "fetched_at": NOW} for a in ITEMS if a not in UNTITLED]
    upsert(engine, Anime.__table__, anime)  # type: ignore[attr-defined]
    upsert(engine, User.__table__, [user_row(u) for u in [*USERS, 900]])  # type: ignore[attr-defined]
    upsert(engine, LibraryEntry.__table__, entry_rows(frame))  # type: ignore[attr-defined]
    favourite = next(a for a in ITEMS if group(a) == 1 and not ((frame.user == 4) & (frame.item == a)).any())
    upsert(engine, Favorite.__table__,  # type: ignore[attr-defined]
           [{"id": 1, "user_id": 4, "anime_id": favourite, "fav_rank": 1, "fetched_at": NOW}])
    return frame


def write_files(folder: Path, kind: str, seed: int = 0) -> tuple[Path, Path, pd.DataFrame]:
    """The population as an interactions file (CSV: string keys "u4", "i1003"; Parquet: integer
    keys) with 1-to-5 ratings, and an items file naming all but the untitled anime ("Item N")."""
    frame = events(seed)
    rng = np.random.default_rng(seed + 1)
    rows = pd.DataFrame({"uid": frame.user, "iid": frame.item, "rating": rng.integers(1, 6, len(frame))})
    titled = [a for a in ITEMS if a not in UNTITLED]
    items = pd.DataFrame({"iid": titled, "name": [f"Item {a}" for a in titled]})
    if kind == "csv":
        rows = rows.assign(uid="u" + rows.uid.astype(str), iid="i" + rows.iid.astype(str))
        items = items.assign(iid="i" + items.iid.astype(str))
        path, names = folder / "ratings.csv", folder / "items.csv"
        rows.to_csv(path, index=False)
        items.to_csv(names, index=False)
    else:
        path, names = folder / "ratings.parquet", folder / "items.parquet"
        rows.to_parquet(path)
        items.to_parquet(names)
    return path, names, rows


@dataclass
class Source:
    """Where a cell's model is trained from, and what its users have (to check exclusions)."""

    kind: str
    """"store" or "file"."""
    url: str
    """The store: for a file source, a store of *other* data that must never be read."""
    train_args: list[str]
    history: dict[Any, set[Any]]
    """Each user's items in the source (the keys the model uses)."""
    user: Any
    """A user of the model, as the CLI is given it."""
    item: Any
    """An item of the model (one EASE scores), as the CLI is given it."""
    titles: Callable[[Any], str | None]
    """The title the model must show for an item (None: untitled)."""
    add_user: Callable[[], Any] = field(default=lambda: None)
    """Add a user the model has not seen to the source; returns their key."""


def one_error_line(code: int, err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def recommend(source: Source, model_dir: Path, *args: str) -> tuple[int, str, str]:
    return run_recommend(*args, "--model-dir", str(model_dir), "--database-url", source.url)


def check_user_answers(source: Source, model_dir: Path, family: str) -> None:
    """`recommend user`: ten titled (or plainly untitled) anime, none the user has; --explain."""
    code, out, err = recommend(source, model_dir, "user", str(source.user), "--json")
    assert code == 0, err
    result = json.loads(out)
    keys = [item["anime_id"] for item in result["items"]]
    assert len(keys) == 10 and not set(keys) & source.history[source.user]
    assert all(item["title"] == source.titles(item["anime_id"]) for item in result["items"])
    code, out, err = recommend(source, model_dir, "user", str(source.user), "--explain", "-n", "3")
    if "explain" in CAN[family]:
        assert code == 0 and "because of:" in out, err
    else:
        one_error_line(code, err, "cannot explain")


def check_similar(source: Source, model_dir: Path, family: str) -> None:
    code, out, err = recommend(source, model_dir, "similar", str(source.item), "-n", "5", "--json")
    if "similar" in CAN[family]:
        assert code == 0, err
        similar = json.loads(out)["items"]
        assert similar and str(source.item) not in {str(i["anime_id"]) for i in similar}
    else:
        one_error_line(code, err, "no item similarity")


def check_batch(source: Source, model_dir: Path, folder: Path) -> None:
    out = folder / "batch.parquet"
    code, _, err = recommend(source, model_dir, "batch", "--out", str(out), "-n", "5")
    assert code == 0, err
    frame = pd.read_parquet(out)
    assert len(frame) and frame.groupby("user_id").size().max() == 5
    for user, rows in frame.groupby("user_id"):
        assert not set(rows["anime_id"]) & source.history.get(user, set()), user


def check_evaluate(source: Source, model_dir: Path, family: str) -> None:
    code, out, err = recommend(source, model_dir, "evaluate", "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["test"][family] == figures["saved"][family]


def check_fold_in_and_refresh(source: Source, model_dir: Path, family: str) -> None:
    """A user the model has not seen: folded in from the store (or, for a file model, added by
    `refresh` from the updated file); `refresh` makes a version that knows them."""
    newcomer = source.add_user()
    code, out, err = recommend(source, model_dir, "refresh", "--json")
    if "refresh" not in CAN[family]:
        one_error_line(code, err, "cannot fold users in")
        if source.kind == "file":
            return
    else:
        assert code == 0, err
        assert json.loads(out)["appended"] == 1
    code, out, err = recommend(source, model_dir, "user", str(newcomer), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["items"] and not {i["anime_id"] for i in result["items"]} & source.history[newcomer]


def check_serve(source: Source, model_dir: Path, family: str, store: Any) -> None:
    """`recommend serve`'s JSON routes and dashboard pages."""
    from starlette.testclient import TestClient

    from recommender.serving.holder import ModelHolder
    from recommender.webapp import create_app

    holder = ModelHolder(model_dir, None, store)
    with TestClient(create_app(holder, watch=False)) as client:
        assert holder.refresh() or holder.current is not None, holder.error
        response = client.get(f"/users/{source.user}/recommendations")
        assert response.status_code == 200, response.text
        keys = {i["anime_id"] for i in response.json()["items"]}
        assert len(keys) == 10 and not keys & source.history[source.user]
        explained = client.get(f"/users/{source.user}/recommendations?explain=true&n=3")
        assert explained.status_code == (200 if "explain" in CAN[family] else 400), explained.text
        similar = client.get(f"/anime/{source.item}/similar?n=3")
        assert similar.status_code == (200 if "similar" in CAN[family] else 400), similar.text
        assert client.get("/health").json()["status"] == "ok"
        assert client.head("/health").status_code == 200
        for page in ("/", "/dashboard/store", "/dashboard/models", "/dashboard/segments",
                     f"/dashboard/users?id={source.user}", f"/dashboard/anime?q={source.item}"):
            response = client.get(page)
            assert response.status_code == 200, (page, response.text[:500])
            assert "Traceback" not in response.text
