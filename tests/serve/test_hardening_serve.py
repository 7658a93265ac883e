"""`recommend user / similar / batch` on hostile input, full disks, damaged and broken models:
one line and exit status 2, and nothing good overwritten."""

from __future__ import annotations

import errno
import os
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import Engine, make_url

from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import upgrade
from kitsu_ingest.store.models import Anime
from kitsu_ingest.store.upsert import upsert
from recommender.data.store import StoreReader
from recommender.errors import RecommenderError
from recommender.models.als import ALS

from .conftest import NOW, Trained
from .test_serve_cli import _one_error_line


def test_a_full_disk_during_batch_leaves_the_old_file(trained: Trained, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "recs.parquet"
    code, _, err = trained.cli("batch", "--out", str(out), "-n", "3")
    assert code == 0, err
    good = out.read_bytes()

    def full(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    _one_error_line(*trained.cli("batch", "--out", str(out), "-n", "30")[::2], "disk full", "No space left")
    assert out.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".parquet")) == ["recs.parquet"]


def test_ids_are_ascii_digits_in_range(trained: Trained) -> None:
    for bad in ("²", "٣", "12345678901234567890", "9223372036854775808", "9" * 5000, "+1", " "):
        _one_error_line(*trained.cli("user", bad)[::2], "is not a user id")
    _one_error_line(*trained.cli("user", "9223372036854775807")[::2], "is unknown")
    _one_error_line(*trained.cli("similar", "99999999999999999999")[::2], "is not in model")
    _one_error_line(*trained.cli("similar", "²")[::2], "no anime titled like '²'")


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite+pysqlcipher:///x.db", "sqlite+aiosqlite:///x.db",
                                 "postgresql+asyncpg://x/y", "oracle://x"])
def test_an_unsupported_driver_is_one_line(trained: Trained, url: str) -> None:
    from click.testing import CliRunner

    from recommender.cli import main

    result = CliRunner().invoke(main, ["user", "1", "--database-url", url, "--model-dir", str(trained.model_dir)])
    _one_error_line(result.exit_code, result.stderr, "unsupported")


def test_titles_match_in_any_case_beyond_ascii(trained: Trained) -> None:
    with trained.engine.begin() as conn:
        conn.execute(update(Anime).where(Anime.id == 1003).values(canonical_title="L'École des Sorciers"))
        conn.execute(update(Anime).where(Anime.id == 1006).values(canonical_title="STRASSE 100%_ÉTÉ"))
    code, out, err = trained.cli("similar", "école", "-n", "2")
    assert code == 0, err
    assert out.startswith("similar to L'École des Sorciers (anime 1003)")
    store = StoreReader.open(trained.url)
    assert [a.id for a in store.search("ÉCOLE")] == [1003]
    assert [a.id for a in store.search("straße")] == [1006]  # casefold: ß is ss
    assert [a.id for a in store.search("0%_é")] == [1006]  # LIKE's wildcards are literal
    assert [a.id for a in store.search("show 100")][:3] == [1000, 1001, 1002]  # by popularity, as before
    _one_error_line(*trained.cli("similar", "caf\udcc3")[::2], "is not UTF-8 text")


@pytest.mark.postgres
def test_titles_match_on_a_postgres_database_whose_lower_is_ascii_only(postgres_url: str) -> None:
    admin = make_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"kitsu_c_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LC_CTYPE 'C' LC_COLLATE 'C'"))
    try:
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT lower('É')")).scalar() == "É"  # the case this is about
        _anime(engine, {1: "École", 2: "l'école", 3: "Ecole"})
        assert [a.id for a in StoreReader(engine).search("ÉCOLE")] == [1, 2]
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _anime(engine: Engine, titles: dict[int, str]) -> None:
    upsert(engine, Anime.__table__, [{"id": a, "canonical_title": t, "slug": f"a{a}", "subtype": "TV",  # type: ignore[attr-defined]
                                      "popularity_rank": a, "nsfw": False, "fetched_at": NOW}
                                     for a, t in titles.items()])


def _cut(path: Path) -> Callable[[int], None]:
    whole = path.read_bytes()
    return lambda size: path.write_bytes(whole[:size])


def test_truncated_model_files_are_one_line_everywhere(trained: Trained) -> None:
    from recommender.registry import load_model

    folder = trained.model_dir / trained.version
    for name in ("als.npz", "ids.npz", "meta.json"):
        cut, size = _cut(folder / name), (folder / name).stat().st_size
        for at in sorted({0, 1, 30, 64, 200, size // 3, size // 2, size - 200, size - 3}):
            cut(at)
            with pytest.raises(RecommenderError) as caught:
                load_model(trained.model_dir)
            assert len(str(caught.value).splitlines()) == 1, (name, at)
        for command in (("user", "1"), ("similar", "1000"), ("evaluate",) if name == "meta.json" else ("user", "2")):
            _one_error_line(*trained.cli(*command)[::2], "unreadable")
        cut(size)
    assert trained.cli("user", "1")[0] == 0


def _break(trained: Trained) -> None:
    folder = trained.model_dir / trained.version
    model = ALS.load(folder)
    assert isinstance(model, ALS)
    model.item_factors = model.item_factors.copy()
    model.item_factors[3] = np.nan  # what absurd weights used to make
    model.save(folder)


def test_a_model_with_nan_factors_says_it_is_broken(trained: Trained, tmp_path: Path,
                                                    add_entries: Callable[..., None]) -> None:
    out = tmp_path / "recs.parquet"
    assert trained.cli("batch", "--out", str(out))[0] == 0
    good = out.read_bytes()
    _break(trained)
    add_entries(501, [1000, 1003, 1006])
    for command in (("user", "1"), ("user", "1", "--explain"), ("user", "501"), ("similar", "1000"),
                    ("similar", "1001"), ("batch", "--out", str(out))):
        _one_error_line(*trained.cli(*command)[::2], "is broken", "retrain")
    assert out.read_bytes() == good
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from recommender.serving.holder import ModelHolder
    from recommender.webapp import create_app

    holder = ModelHolder(trained.model_dir, None, StoreReader.open(trained.url), interval=60)
    with TestClient(create_app(holder), raise_server_exceptions=False) as client:
        response = client.get("/health")
        assert response.status_code == 503 and "is broken" in response.json()["error"]
