"""Rich tables for the terminal: the best configurations, models by metrics (with their 95%
intervals), saved models, and the line saying which family is kept and how sure that is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kitsu_ingest.terminal import rich_text
from recommender.evaluation.metrics import METRIC_NAMES, PRIMARY_METRIC, metric_key
from recommender.models.als import ALS_PARAMS

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["families_table", "margin_line", "metrics_table", "models_table", "top_table"]

Intervals = Mapping[str, Mapping[str, Sequence[float]]]
"""{model: {metric: [low, high]}}, as a model card's `intervals["test"]` holds them."""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _interval(interval: Sequence[float] | None) -> str:
    """[low, high] as "[0.1234, 0.1456]"; "" when there is none."""
    return f"[{interval[0]:.4f}, {interval[1]:.4f}]" if interval else ""


def _with_interval(value: Any, interval: Sequence[float] | None) -> str:
    """A figure and, on a second, dim line, its interval."""
    return _fmt(value) + (f"\n[dim]{_interval(interval)}[/]" if interval else "")


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


def families_table(families: Mapping[str, Mapping[str, Any]], kept: str, k: int,
                   intervals: Mapping[str, Intervals] | None = None) -> Table:
    """Each family's best configuration: validation and test figures with their 95% intervals
    (`intervals`: a card's, by "validation" and "test"), the one kept marked."""
    from rich.table import Table

    key = metric_key(PRIMARY_METRIC, k)
    table = Table(title=f"families: best on validation, then test ({key}, 95% intervals)")
    for column in ("", "family", "validation", "95% interval", "test", "95% interval", "configuration"):
        table.add_column(column, justify="left" if column in ("", "family", "configuration") else "right")
    ranked = sorted(families.items(), key=lambda item: -item[1]["validation"].get(key, 0.0))
    for name, family in ranked:
        shown = _configuration(family["params"])
        around = [_interval((intervals or {}).get(part, {}).get(name, {}).get(key)) for part in ("validation", "test")]
        table.add_row("*" if name == kept else "", name, _fmt(family["validation"].get(key, float("nan"))), around[0],
                      _fmt(family.get("test", {}).get(key, float("nan"))), around[1], shown)
    return table


def metrics_table(figures: Mapping[str, Mapping[str, float]], title: str, intervals: Intervals | None = None) -> Table:
    """Models (rows) by metrics (columns); with `intervals`, each figure's 95% interval under it."""
    from rich.table import Table

    names = [m for m in next(iter(figures.values()), {}) if m != "users"]
    table = Table(title=title + (" and 95% intervals" if intervals else ""))
    table.add_column("model")
    for name in names:
        table.add_column(name, justify="right")
    for model, values in figures.items():
        around = (intervals or {}).get(model, {})
        table.add_row(model, *(_with_interval(values.get(name, float("nan")), around.get(name)) for name in names))
    return table


def margin_line(kept: str, margin: float | None, tested: Mapping[str, Any] | None) -> str:
    """Which family is kept, its margin over the runner-up on validation, and whether the paired
    test puts that margin within noise (a card's `margin` and `margin_test`)."""
    line = f"kept: {kept}"
    if margin is not None:
        line += f", {margin:+.1%} over the runner-up on validation"
    if not tested:
        return line
    runner_up, validation = tested["runner_up"], tested["validation"]
    if validation.get("interval"):
        low, high = validation["interval"]
        line += (f" ({runner_up}: {validation['difference']:+.4f} {tested['metric']}, paired 95% interval "
                 f"{low:+.4f} to {high:+.4f}: {'within noise' if tested['within_noise'] else 'beyond noise'})")
    sizes, best, cheapest = tested.get("model_bytes", {}), tested["best_on_validation"], tested.get(
        "cheapest_within_noise")
    if tested.get("kept_for_cost"):
        line += (f"; kept over {best}, the best on validation, as the cheapest to serve within noise of it "
                 f"({_megabytes(sizes.get(kept))} against {_megabytes(sizes.get(best))})")
    elif cheapest and cheapest != kept:
        line += (f"; {cheapest} is within noise of it and cheaper to serve ({_megabytes(sizes.get(cheapest))} "
                 f"against {_megabytes(sizes.get(kept))})")
    return line


def _megabytes(size: int | None) -> str:
    return f"{size / 1e6:.2f} MB" if size is not None else "?"


def _short_params(params: Mapping[str, Any]) -> str:
    short = {"factors": "f", "regularization": "reg", "alpha": "a", "iterations": "it"}
    parts = [f"{short[key]}={params[key]:g}" for key in ALS_PARAMS if key in params]
    parts.append(str(params.get("transform", "")) + ("+bm25" if params.get("bm25") else ""))
    return " ".join(parts)


def models_table(saved: Sequence[Mapping[str, Any]], title: str) -> Table:
    """Saved models (cards as JSON, `latest` marked): shape, parameters, test figure (± half its 95%
    interval, to fit a narrow terminal) against popularity."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("", "version", "created", "users x items", "params", f"test {PRIMARY_METRIC}", "vs pop"):
        table.add_column(column, no_wrap=column == "version")  # a version is copied whole
    for card in saved:
        if "error" in card:
            table.add_row("*" if card.get("latest") else "", rich_text(card["version"]), "", "",
                          rich_text(f"unreadable: {card['error']}"), "-", "-")
            continue
        key = metric_key(PRIMARY_METRIC, card["config"].get("k", 10))
        test = card["metrics"]["test"]
        model = test.get(card.get("family", "als"), {}).get(key, float("nan"))
        pop = test.get("popularity", {}).get(key, float("nan"))
        interval = (card.get("intervals") or {}).get("test", {}).get(card.get("family", "als"), {}).get(key)
        table.add_row("*" if card["latest"] else "", rich_text(card["version"]),
                      rich_text(card.get("created_at", "")[:19]),
                      " x ".join(map(str, card.get("shape", []))), _short_params(card.get("params", {})),
                      f"{model:.4f}" + (f"\n[dim]±{(interval[1] - interval[0]) / 2:.3f}[/]" if interval else ""),
                      f"{model / pop:.2f}x" if pop else "-")
    return table
