"""Rich tables for the terminal: the best configurations, models by metrics, saved models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kitsu_ingest.terminal import rich_text
from recommender.evaluation.metrics import METRIC_NAMES, PRIMARY_METRIC, metric_key
from recommender.models.als import ALS_PARAMS

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["families_table", "metrics_table", "models_table", "top_table"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _configuration(row: Mapping[str, Any]) -> str:
    """A configuration's parameters in a few words (confidence first)."""
    from recommender.evaluation.spaces import confidence_of, model_params

    shown = {p: v for p, v in model_params(row).items() if p in _SHOWN and v == v and v is not None}
    return " ".join([confidence_of(row), *(f"{_SHORT.get(p, p)}={_fmt(v)}" for p, v in shown.items())])


_SHORT = {"factors": "f", "regularization": "reg", "alpha": "a", "iterations": "it", "neighbours": "k"}
_SHOWN = ("factors", "regularization", "alpha", "iterations", "kind", "neighbours", "max_items", "min_support")


def top_table(results: Sequence[Mapping[str, Any]], k: int, n: int = 10) -> Table:
    """The `n` best configurations on validation: family, parameters, figures."""
    from rich.table import Table

    from recommender.reports import results_frame

    frame = results_frame(results, k).head(n)
    metrics = [PRIMARY_METRIC, *(m for m in METRIC_NAMES if m != PRIMARY_METRIC), "coverage"]
    figures = [metric_key(m, k) for m in metrics]
    table = Table(title=f"top {len(frame)} of {len(results)} configurations (validation)")
    for column in ("family", "configuration", *figures, "fit s"):
        table.add_column(column, justify="left" if column in ("family", "configuration") else "right")
    for row in frame.to_dict("records"):
        table.add_row(str(row.get("family", "als")), _configuration(row), *(_fmt(row[c]) for c in figures),
                      f"{row['fit_seconds']:.1f}")
    return table


def families_table(families: Mapping[str, Mapping[str, Any]], kept: str, k: int) -> Table:
    """Each family's best configuration: validation and test figures, the one kept marked."""
    from rich.table import Table

    key = metric_key(PRIMARY_METRIC, k)
    table = Table(title=f"families: best on validation, then test ({key})")
    for column in ("", "family", "validation", "test", "configuration"):
        table.add_column(column, justify="right" if column in ("validation", "test") else "left")
    ranked = sorted(families.items(), key=lambda item: -item[1]["validation"].get(key, 0.0))
    for name, family in ranked:
        shown = _configuration(family["params"])
        table.add_row("*" if name == kept else "", name, _fmt(family["validation"].get(key, float("nan"))),
                      _fmt(family.get("test", {}).get(key, float("nan"))), shown)
    return table


def metrics_table(figures: Mapping[str, Mapping[str, float]], title: str) -> Table:
    """Models (rows) by metrics (columns)."""
    from rich.table import Table

    names = [m for m in next(iter(figures.values()), {}) if m != "users"]
    table = Table(title=title)
    table.add_column("model")
    for name in names:
        table.add_column(name, justify="right")
    for model, values in figures.items():
        table.add_row(model, *(_fmt(values.get(name, float("nan"))) for name in names))
    return table


def _short_params(params: Mapping[str, Any]) -> str:
    short = {"factors": "f", "regularization": "reg", "alpha": "a", "iterations": "it"}
    parts = [f"{short[key]}={params[key]:g}" for key in ALS_PARAMS if key in params]
    parts.append(str(params.get("transform", "")) + ("+bm25" if params.get("bm25") else ""))
    return " ".join(parts)


def models_table(saved: Sequence[Mapping[str, Any]], title: str) -> Table:
    """Saved models (cards as JSON, `latest` marked): shape, parameters, test figure against popularity."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("", "version", "created", "users x items", "params", f"test {PRIMARY_METRIC}", "vs pop"):
        table.add_column(column)
    for card in saved:
        if "error" in card:
            table.add_row("*" if card.get("latest") else "", rich_text(card["version"]), "", "",
                          rich_text(f"unreadable: {card['error']}"), "-", "-")
            continue
        key = metric_key(PRIMARY_METRIC, card["config"].get("k", 10))
        test = card["metrics"]["test"]
        model = test.get(card.get("family", "als"), {}).get(key, float("nan"))
        pop = test.get("popularity", {}).get(key, float("nan"))
        table.add_row("*" if card["latest"] else "", rich_text(card["version"]),
                      rich_text(card.get("created_at", "")[:19]),
                      " x ".join(map(str, card.get("shape", []))), _short_params(card.get("params", {})),
                      f"{model:.4f}", f"{model / pop:.2f}x" if pop else "-")
    return table
