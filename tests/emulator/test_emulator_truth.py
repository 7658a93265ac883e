"""Ground truth equals what the endpoints serve, entry by entry and favourite by favourite."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kitsu_ingest.emulator import HEAVY_USER, ground_truth
from kitsu_ingest.emulator.cli import emulator


def _crawl_user(api, uid: int) -> tuple[list[dict], dict[str, list[int]], dict]:
    docs = api.crawl(f"/library-entries?filter[userId]={uid}&filter[kind]=anime&include=anime&page[limit]=500")
    entries = [e for d in docs for e in d["data"]]
    favs: dict[str, list[int]] = {}
    for kind in ("Anime", "Manga", "Character", "Person"):
        pages = api.crawl(f"/favorites?filter[userId]={uid}&filter[itemType]={kind}&include=item&page[limit]=20")
        favs[kind] = [int(f["relationships"]["item"]["data"]["id"]) for d in pages for f in d["data"]]
    return entries, favs, docs[0]["meta"]


def test_truth_equals_a_crawl(api, population, sample_users) -> None:
    uids = sorted({HEAVY_USER, *sample_users.values(), *population.user_ids[:5].tolist()})
    # user 1 is deleted for seed 7
    truths = {t.user_id: t for t in ground_truth(population.size, population.seed, [*uids, 1])}
    assert sorted(truths) == uids
    for uid in uids:
        truth = truths[uid]
        entries, favs, meta = _crawl_user(api, uid)
        assert [int(e["id"]) for e in entries] == [e.id for e in truth.entries]
        for served, expected in zip(entries, truth.entries):
            data = served["relationships"]["anime"]["data"]
            assert (int(data["id"]) if data else None) == expected.anime_id
            attrs = served["attributes"]
            assert (attrs["status"], attrs["progress"], attrs["ratingTwenty"], attrs["updatedAt"],
                    attrs["finishedAt"]) == (expected.status, expected.progress, expected.rating_twenty,
                                             expected.updated_at, expected.finished_at)
        assert favs == {k: list(v) for k, v in truth.favorites.items()}
        assert meta["count"] == len(truth.entries) and meta["statusCounts"] == truth.status_counts
        profile = api.json(f"/users/{uid}")["data"]["attributes"]
        assert profile["ratingsCount"] == truth.ratings_count
        assert profile["favoritesCount"] == truth.favorites_count == sum(map(len, truth.favorites.values()))
        assert profile["lifeSpentOnAnime"] == truth.life_spent_on_anime


def test_truth_cli_writes_json_lines(tmp_path) -> None:
    out = tmp_path / "truth.jsonl"
    result = CliRunner().invoke(emulator, ["truth", "--users", "50", "--seed", "7",
                                           "--user-ids", f"2,4,{HEAVY_USER}", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["user_id"] for r in rows] == [2, 4, HEAVY_USER]
    assert set(rows[-1]["favorites"]) == {"Anime", "Manga", "Character", "Person"}
    everyone = CliRunner().invoke(emulator, ["truth", "--users", "30", "--seed", "7"])
    assert len(everyone.output.splitlines()) == 30


def test_cli_rejects_bad_options() -> None:
    from kitsu_ingest.cli import main

    result = CliRunner().invoke(main, ["emulator", "truth", "--users", "-1"])
    assert result.exit_code == 2 and "error: --users must be at least 1" in result.output
    result = CliRunner().invoke(main, ["emulator", "--latency", "fast"])
    assert result.exit_code == 2 and "latency" in result.output
    result = CliRunner().invoke(main, ["emulator", "--p-5xx", "2"])
    assert result.exit_code == 2
    help_text = CliRunner().invoke(main, ["emulator", "--help"]).output
    assert "--rate-limit" in help_text and "truth" in help_text


def test_cli_refuses_a_busy_port() -> None:
    import socket

    from kitsu_ingest.cli import main

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(main, ["emulator", "--port", str(port), "--users", "10"])
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.output


def test_truth_into_a_folder_that_does_not_exist_is_one_line(tmp_path) -> None:
    from kitsu_ingest.cli import main

    result = CliRunner().invoke(main, ["emulator", "truth", "--users", "5", "--out", str(tmp_path / "no" / "x")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip() == f"error: cannot write {tmp_path / 'no' / 'x'}: No such file or directory"


def test_truth_is_written_whole_or_not_at_all(tmp_path, monkeypatch) -> None:
    from kitsu_ingest.emulator import cli

    out = tmp_path / "truth.jsonl"
    out.write_text("the previous export\n")
    real = cli.ground_truth

    def dies_after_one_user(*args, **kwargs):
        yield next(real(*args, **kwargs))
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "ground_truth", dies_after_one_user)
    result = CliRunner().invoke(emulator, ["truth", "--users", "20", "--out", str(out)])
    assert result.exit_code != 0
    assert out.read_text() == "the previous export\n" and [p.name for p in tmp_path.iterdir()] == ["truth.jsonl"]


def test_population_bounds() -> None:
    from kitsu_ingest.cli import main
    from kitsu_ingest.emulator import Population
    from kitsu_ingest.errors import ConfigError

    for args in (["emulator", "--users", str(10**12)], ["emulator", "truth", "--users", str(10**12)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2
        assert result.stderr.strip() == "error: --users must be at most 100,000,000, what the emulator can hold " \
                                        "in memory (got 1,000,000,000,000)"
    result = CliRunner().invoke(main, ["emulator", "truth", "--users", "5", "--seed", "-1"])
    assert result.exit_code == 2 and "Invalid value for '--seed'" in result.stderr
    for users, seed in ((0, 7), (10**12, 7), (5, -1)):
        with pytest.raises(ConfigError):
            Population(users, seed)
