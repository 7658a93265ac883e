"""Rich tables for the terminal: the best configurations, models by metrics, saved models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from recommender.evaluation.grid import PARAMS
from recommender.evaluation.metrics import METRIC_NAMES, PRIMARY_METRIC, metric_key
from recommender.models.als import ALS_PARAMS

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["metrics_table", "models_table", "top_table"]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def top_table(results: Sequence[Mapping[str, Any]], k: int, n: int = 10) -> Table:
    """The `n` best configurations on validation."""
    from rich.table import Table

    from recommender.reports import results_frame

    frame = results_frame(results, k).head(n)
    metrics = [PRIMARY_METRIC, *(m for m in METRIC_NAMES if m != PRIMARY_METRIC), "coverage"]
    columns = [*PARAMS, *(metric_key(m, k) for m in metrics), "fit_seconds"]
    table = Table(title=f"top {len(frame)} of {len(results)} configurations (validation)")
    for column in columns:
        table.add_column(column, justify="left" if column == "transform" else "right")
    for row in frame.to_dict("records"):
        table.add_row(*(_fmt(row[c]) for c in columns))
    return table


def metrics_table(figures: Mapping[str, Mapping[str, float]], title: str) -> Table:
    """Models (rows) by metrics (columns)."""
    from rich.table import Table

    names = [m for m in next(iter(figures.values())) if m != "users"]
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
        key = metric_key(PRIMARY_METRIC, card["config"].get("k", 10))
        test = card["metrics"]["test"]
        model = test.get(card.get("family", "als"), {}).get(key, float("nan"))
        pop = test.get("popularity", {}).get(key, float("nan"))
        table.add_row("*" if card["latest"] else "", card["version"], card.get("created_at", "")[:19],
                      " x ".join(map(str, card.get("shape", []))), _short_params(card.get("params", {})),
                      f"{model:.4f}", f"{model / pop:.2f}x" if pop else "-")
    return table
