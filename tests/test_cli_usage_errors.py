"""A bad option value is one line on stderr and exit status 2, on both commands, like every error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kitsu_ingest.cli import main as kitsu_ingest
from recommender.cli import main as recommend


@pytest.mark.parametrize(("command", "args", "named"), [
    (kitsu_ingest, ["crawl", "--rate", "inf"], "--rate"),
    (kitsu_ingest, ["segment-users", "--dims", "-3"], "--dims"),
    (kitsu_ingest, ["nonsense"], "nonsense"),
    (recommend, ["train", "-k", "100000"], "--k"),
    (recommend, ["user", "1", "--bogus"], "--bogus"),
    (recommend, ["batch", "-n", "0", "--out", "x.parquet"], "-n"),
])
def test_a_bad_option_is_one_line(command, args: list[str], named: str) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(command, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and named in lines[0] and "--help" in lines[0]
