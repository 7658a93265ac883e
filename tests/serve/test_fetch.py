"""`recommend user ID --fetch`: a user missing from the store is crawled (in-process emulator)
and folded in; a user Kitsu does not have is one line and exit 2."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from kitsu_ingest.crawl import CrawlPlan, crawl
from kitsu_ingest.emulator import EmulatorConfig, create_app, ground_truth
from kitsu_ingest.kitsu import KitsuClient
from recommender.cli import main

from .conftest import train_model

POPULATION, SEED = 600, 3


def _crawl_sample(engine: Engine, users: tuple[int, ...]) -> None:
    app = create_app(EmulatorConfig(users=POPULATION, seed=SEED))

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        client = KitsuClient("http://kitsu.test/api/edge", transport=transport, rate=None)
        async with client:
            await crawl(engine, client, CrawlPlan(users=users))

    asyncio.run(go())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fetch_crawls_then_folds_in(store: Engine, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    truths = [t for t in ground_truth(POPULATION, SEED, user_ids=range(1, 200))
              if len(t.entries) >= 5]
    sample, newcomer = tuple(t.user_id for t in truths[:40]), truths[45].user_id
    _crawl_sample(store, sample)
    models = tmp_path / "models"
    train_model(store, models)
    url = store.url.render_as_string(hide_password=False)
    monkeypatch.setenv("KITSU_RATE", "0")
    base = ["--database-url", url, "--model-dir", str(models), "--json"]

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, ["user", *args, *base])
        return result.exit_code, result.stdout, result.stderr

    code, _, err = run(str(newcomer))
    assert code == 2 and "--fetch" in err
    emulated = ["--fetch", "--emulator", "--emulator-users", str(POPULATION),
                "--emulator-seed", str(SEED)]
    code, out, err = run(str(newcomer), "-n", "5", *emulated)
    assert code == 0, err
    assert f"fetching user {newcomer}" in err

    body = json.loads(out)
    assert body["source"] == "folded-in" and len(body["items"]) == 5
    code, out, _ = run(str(newcomer), "-n", "5")  # now in the store: no fetch needed
    assert code == 0 and json.loads(out)["items"] == body["items"]
    code, _, err = run("999999", *emulated)
    assert code == 2 and err.strip().splitlines()[-1] == (
        "error: user 999999 does not exist on Kitsu (http://kitsu.emulator/api/edge)")
