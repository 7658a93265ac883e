"""Reports of a training run: the results table (CSV, top rows), the heatmap, metric tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

__all__ = ["draw_heatmap", "metrics_table", "results_frame", "top_table", "write_results_csv"]

PARAM_COLUMNS = ("transform", "bm25", "factors", "regularization", "alpha", "iterations")


def results_frame(results: Sequence[Mapping[str, Any]], k: int) -> pd.DataFrame:
    """Every configuration, best validation NDCG@k first."""
    import pandas as pd

    frame = pd.DataFrame(list(results))
    return frame.sort_values(f"ndcg@{k}", ascending=False, kind="stable").reset_index(drop=True)


def write_results_csv(results: Sequence[Mapping[str, Any]], k: int, path: Path) -> Path:
    results_frame(results, k).to_csv(path, index=False, float_format="%.6g")
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def top_table(results: Sequence[Mapping[str, Any]], k: int, n: int = 10) -> Table:
    """A rich table of the `n` best configurations on validation."""
    from rich.table import Table

    frame = results_frame(results, k).head(n)
    columns = [*PARAM_COLUMNS, f"ndcg@{k}", f"precision@{k}", f"recall@{k}", f"map@{k}",
               f"coverage@{k}", "fit_seconds"]
    table = Table(title=f"top {len(frame)} of {len(results)} configurations (validation)")
    for column in columns:
        table.add_column(column, justify="left" if column == "transform" else "right")
    for row in frame.to_dict("records"):
        table.add_row(*(_fmt(row[c]) for c in columns))
    return table


def metrics_table(figures: Mapping[str, Mapping[str, float]], title: str) -> Table:
    """A rich table of models (rows) by metrics (columns)."""
    from rich.table import Table

    names = [m for m in next(iter(figures.values())) if m != "users"]
    table = Table(title=title)
    table.add_column("model")
    for name in names:
        table.add_column(name, justify="right")
    for model, values in figures.items():
        table.add_row(model, *(_fmt(values.get(name, float("nan"))) for name in names))
    return table


def draw_heatmap(results: Sequence[Mapping[str, Any]], k: int, path: Path) -> Path:
    """PNG of the best validation NDCG@k per (factors, regularization), over the other axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = f"ndcg@{k}"
    pivot = (results_frame(results, k)
             .pivot_table(index="factors", columns="regularization", values=metric, aggfunc="max")
             .sort_index().sort_index(axis=1))
    fig, ax = plt.subplots(figsize=(1.2 * pivot.shape[1] + 2.5, 0.8 * pivot.shape[0] + 1.8))
    image = ax.imshow(pivot.to_numpy(), cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(pivot.shape[1]), [f"{c:g}" for c in pivot.columns])
    ax.set_yticks(range(pivot.shape[0]), [str(i) for i in pivot.index])
    ax.set_xlabel("regularization")
    ax.set_ylabel("factors")
    ax.set_title(f"validation {metric} (best over the other axes)")
    top = float(pivot.max().max())
    for (i, j), value in _cells(pivot):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center",
                color="black" if value > 0.7 * top else "white", fontsize=8)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _cells(pivot: pd.DataFrame) -> list[tuple[tuple[int, int], float]]:
    values = pivot.to_numpy()
    return [((i, j), float(values[i, j])) for i in range(values.shape[0])
            for j in range(values.shape[1]) if values[i, j] == values[i, j]]
