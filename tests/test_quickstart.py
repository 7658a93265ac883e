"""The README's first command, on a tiny emulator population: db upgrade, crawl a sample and user
70211, segment, train (the default search over every family, on a short budget), and
`recommend user 70211` prints ten titled anime, whichever family the search keeps."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kitsu_ingest.cli import main as kitsu_ingest
from recommender.cli import main as recommend

EMULATOR = ["--emulator", "--emulator-users", "400", "--emulator-seed", "5", "--rate", "0"]


def _run(cli: object, *args: str) -> str:
    outcome = CliRunner().invoke(cli, list(args))  # type: ignore[arg-type]
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    assert outcome.exit_code == 0, (args, outcome.stderr)
    return outcome.stdout


@pytest.mark.slow
def test_the_quickstart_ends_in_ten_titled_anime_for_user_70211(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'kitsu.db'}")
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.chdir(tmp_path)
    _run(kitsu_ingest, "db", "upgrade")
    _run(kitsu_ingest, "crawl", "--sample", "300", *EMULATOR, "--quiet")
    _run(kitsu_ingest, "crawl", "--users", "70211", *EMULATOR, "--quiet")
    _run(kitsu_ingest, "segment-users", "--no-plots")
    trained = json.loads(_run(recommend, "train", "--budget", "10", "--trials", "8", "--json"))
    printed = _run(recommend, "user", "70211")
    rows = [line for line in printed.splitlines() if re.match(r"\s+\d+\s+\d+\s", line)]
    assert len(rows) == 10, printed
    assert not any("not in the store" in row for row in rows), printed
    as_json = json.loads(_run(recommend, "user", "70211", "--json"))
    assert as_json["version"] == trained["version"] and all(item["title"] for item in as_json["items"])
