"""The models page shows every figure's interval and the paired test of the margin; a card saved
before intervals existed still shows, without them."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from html import unescape
from pathlib import Path

with warnings.catch_warnings():  # starlette's notice about httpx, the client it is built on
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from .conftest import Site


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _models_page(site: Site, model_dir: Path | None = None) -> str:
    with TestClient(site.app(model_dir=model_dir), raise_server_exceptions=False) as client:
        response = client.get("/dashboard/models")
    assert response.status_code == 200 and "Traceback" not in response.text
    return _text(response.text)


def _interval(bounds: list[float], style: str = "{:.4f}") -> str:
    return f"[{style.format(bounds[0])}, {style.format(bounds[1])}]"


def test_every_figure_of_the_card_shows_its_interval(site: Site) -> None:
    card = site.card
    text = _models_page(site)
    for name, figures in card.test.items():
        for metric, bounds in card.intervals["test"][name].items():
            assert f"{figures[metric]:.4f} {_interval(bounds)}" in text, (name, metric)
    for metric, bounds in card.intervals["validation"][card.family].items():
        assert f"{metric} {card.validation[metric]:.4f} {_interval(bounds)}" in text
    for name in card.families:
        for part in ("validation", "test"):
            assert _interval(card.intervals[part][name][card.primary]) in text
    tested = card.margin_test
    verdict = "within noise" if tested["within_noise"] else "beyond noise"
    assert (f"{card.family} - {tested['runner_up']} (the runner-up), on the same users: validation "
            f"{tested['validation']['difference']:+.4f} {card.primary}, 95% interval "
            f"{_interval(tested['validation']['interval'], '{:+.4f}')}: {verdict}") in text
    assert "Rule: within noise: the paired bootstrap 95% interval" in text


def test_a_card_saved_before_intervals_shows_without_them(site: Site, tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(site.model_dir, models)
    meta = models / site.version / "meta.json"
    document = json.loads(meta.read_text())
    del document["intervals"], document["margin_test"]
    meta.write_text(json.dumps(document))
    text = _models_page(site, models)
    assert f"Model card: {site.version}" in text and "paired test" not in text and "95% interval" not in text
    for name, figures in site.card.test.items():
        assert f"{figures[site.card.primary]:.4f}" in text, name
