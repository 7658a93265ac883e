"""The search's live view (per family: trials, pruned, best; the time left) and the tables' intervals."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

from rich.console import Console

from recommender.cli.progress import SearchView
from recommender.cli.tables import families_table, margin_line, metrics_table, models_table


def _trial(state: str, family: str | None, *values: float) -> Any:
    rows = [{"trial": 0, "family": family, "ndcg@10": v, "precision@10": 0.0} for v in values]
    return SimpleNamespace(state=SimpleNamespace(name=state), params={"family": family} if family else {},
                           user_attrs={"rows": rows})


def _shown(renderable: Any, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_live_view_counts_each_familys_trials_pruned_and_best() -> None:
    clock = _Clock()
    view = SearchView(None, seconds=60, trials=None, show=False, clock=clock)
    view.on_trial(None, _trial("COMPLETE", "als", 0.10, 0.20))  # ALS: one row per checkpoint
    view.on_trial(None, _trial("PRUNED", "als", 0.05))
    view.on_trial(None, _trial("COMPLETE", "itemknn", 0.15))
    view.on_trial(None, _trial("PRUNED", "popularity"))  # pruned before scoring anything
    clock.now += 20
    assert {name: (p.done, p.pruned, p.best) for name, p in view.families.items()} == {
        "als": (2, 1, 0.20), "itemknn": (1, 0, 0.15), "popularity": (1, 1, None)}
    assert view.best == (0.20, "als") and view.seconds_left() == 40
    text = _shown(view)
    assert "search: 4 trials (2 pruned), best 0.2000 (als), 40 s left" in text
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines()[1:] if line.strip()}
    assert lines["als"] == ["2", "1", "0.2000"] and lines["popularity"] == ["1", "1", "-"]
    assert lines["family"][-1] == "ndcg@10"
    assert view.summary() == "4 trials here, 2 pruned (als 2, itemknn 1, popularity 1)"


def test_a_search_of_one_family_names_it_from_its_rows_and_times_the_trials_left() -> None:
    clock = _Clock()
    view = SearchView(None, seconds=None, trials=10, show=False, clock=clock)
    assert view.seconds_left() is None
    view.on_trial(None, _grid_trial("COMPLETE", 0.3))
    view.on_trial(None, _grid_trial("PRUNED"))  # no family parameter, no rows: the one family seen
    clock.now += 8
    assert set(view.families) == {"als"} and view.families["als"].done == 2
    assert view.seconds_left() == 32  # 8 trials left at 4 s each
    assert "search: 2 of 10 trials (1 pruned)" in _shown(view)


def _grid_trial(state: str, *values: float) -> Any:
    trial = _trial(state, None, *values)
    for row in trial.user_attrs["rows"]:
        row["family"] = "als"
    return trial


def test_the_live_view_shows_on_a_terminal() -> None:
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    with SearchView(console, seconds=30, trials=None) as view:
        view.on_trial(None, _trial("COMPLETE", "ease", 0.25))
    assert "ease" in console.file.getvalue()  # type: ignore[attr-defined]


INTERVALS = {"validation": {"als": {"ndcg@10": [0.18, 0.22]}}, "test": {"als": {"ndcg@10": [0.19, 0.23],
                                                                               "auc": [0.80, 0.84]}}}


def test_tables_show_each_figure_with_its_interval() -> None:
    families = {"als": {"params": {"factors": 8}, "validation": {"ndcg@10": 0.2}, "test": {"ndcg@10": 0.21}},
                "popularity": {"params": {}, "validation": {"ndcg@10": 0.1}, "test": {"ndcg@10": 0.09}}}
    shown = _shown(families_table(families, "als", 10, INTERVALS), 160)
    assert "[0.1800, 0.2200]" in shown and "[0.1900, 0.2300]" in shown
    test = {"als": {"ndcg@10": 0.21, "auc": 0.82, "coverage@10": 0.5}, "popularity": {"ndcg@10": 0.09}}
    shown = _shown(metrics_table(test, "test", INTERVALS["test"]), 160)
    assert "test and 95% intervals" in shown and "[0.8000, 0.8400]" in shown
    assert "[" not in _shown(metrics_table(test, "test"), 160)
    card = {"version": "v1", "latest": True, "family": "als", "config": {"k": 10}, "shape": [3, 4],
            "params": {"factors": 8}, "metrics": {"test": test}, "intervals": INTERVALS}
    listed = _shown(models_table([card, {**card, "intervals": {}}], "models"), 160)
    assert listed.count("0.2100") == 2 and listed.count("±0.020") == 1


def test_the_kept_line_says_whether_the_margin_is_within_noise_and_why_a_cheaper_family_is_kept() -> None:
    tested = {"runner_up": "ease", "metric": "ndcg@10", "within_noise": True, "kept_for_cost": True,
              "best_on_validation": "ease", "validation": {"difference": -0.002, "interval": [-0.01, 0.006]},
              "model_bytes": {"itemknn": 2_000_000, "ease": 100_000_000}}
    line = margin_line("itemknn", -0.01, tested)
    assert line.startswith("kept: itemknn, -1.0% over the runner-up on validation (ease: -0.0020 ndcg@10, "
                           "paired 95% interval -0.0100 to +0.0060: within noise)")
    assert "the cheapest to serve within noise of it (2.00 MB against 100.00 MB)" in line
    beyond = {**tested, "within_noise": False, "kept_for_cost": False,
              "validation": {"difference": 0.02, "interval": [0.01, 0.03]}}
    assert margin_line("als", 0.1, beyond).endswith("+0.0100 to +0.0300: beyond noise)")
    named = {**tested, "kept_for_cost": False, "best_on_validation": "itemknn", "cheapest_within_noise": "ease",
             "model_bytes": {"itemknn": 3_000_000, "ease": 1_000_000}}
    assert margin_line("itemknn", 0.01, named).endswith(
        "; ease is within noise of it and cheaper to serve (1.00 MB against 3.00 MB)")
    assert margin_line("als", None, None) == "kept: als"
