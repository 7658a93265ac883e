"""Text from outside (crawled titles, version folder names, file keys) never reaches a terminal
raw: an OSC sequence in a title would set the terminal's title, a bidi override reorder a line."""

from __future__ import annotations

import shutil

from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.engine import Engine

from kitsu_ingest.store.models import Anime
from kitsu_ingest.terminal import rich_text, terminal_text
from tests.serve.conftest import ITEMS, Trained

HOSTILE = "Evil \x1b]0;owned\x07 \u202eTitle\x1b[2J"


def test_control_characters_are_shown_as_escapes() -> None:
    assert terminal_text(HOSTILE) == "Evil \\x1b]0;owned\\x07 \\u202eTitle\\x1b[2J"
    assert terminal_text("Shingeki no Kyojin: 進撃") == "Shingeki no Kyojin: 進撃"  # text is left alone
    assert rich_text("[red]x[/]") == "\\[red]x\\[/]"


def _hostile_titles(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(update(Anime).values(canonical_title=HOSTILE))  # type: ignore[arg-type]


def test_recommend_user_and_similar_print_no_escape_sequence(trained: Trained) -> None:
    _hostile_titles(trained.engine)
    for args in (["user", "4", "--explain"], ["similar", str(ITEMS[3])]):
        code, out, err = trained.cli(*args)
        assert code == 0, err
        assert "\x1b" not in out and "\u202e" not in out and "\\x1b]0;owned" in out


def test_recommend_user_json_keeps_the_title_as_it_is(trained: Trained) -> None:
    import json

    _hostile_titles(trained.engine)
    code, out, _ = trained.cli("user", "4", "--json")
    assert code == 0 and json.loads(out)["items"][0]["title"] == HOSTILE


def test_recommend_models_escapes_folder_names(trained: Trained) -> None:
    from recommender.cli import main

    shutil.copytree(trained.model_dir / trained.version, trained.model_dir / "evil\x1b]0;owned\x07")
    outcome = CliRunner().invoke(main, ["models", "--model-dir", str(trained.model_dir)])
    assert outcome.exit_code == 0, outcome.stderr
    assert "\x1b" not in outcome.stdout and "evil" in outcome.stdout
