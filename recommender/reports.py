"""Reports of a training run saved beside the model: the results CSV and the heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.evaluation.metrics import PRIMARY_METRIC, metric_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["draw_heatmap", "results_frame", "write_reports", "write_results_csv"]


def results_frame(results: Sequence[Mapping[str, Any]], k: int) -> pd.DataFrame:
    """Every configuration, best validation primary metric first."""
    import pandas as pd

    frame = pd.DataFrame(list(results))
    return frame.sort_values(metric_key(PRIMARY_METRIC, k), ascending=False, kind="stable").reset_index(drop=True)


def write_results_csv(results: Sequence[Mapping[str, Any]], k: int, path: Path) -> Path:
    results_frame(results, k).to_csv(path, index=False, float_format="%.6g")
    return path


def draw_heatmap(results: Sequence[Mapping[str, Any]], k: int, path: Path) -> Path:
    """PNG of the best validation primary metric per (factors, regularization), over the other axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = metric_key(PRIMARY_METRIC, k)
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


def write_reports(results: Sequence[Mapping[str, Any]], k: int, folder: Path) -> dict[str, Path]:
    """results.csv and heatmap.png written into `folder`; {file name: path}."""
    return {"results.csv": write_results_csv(results, k, folder / "results.csv"),
            "heatmap.png": draw_heatmap(results, k, folder / "heatmap.png")}
