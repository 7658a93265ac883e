"""Reports of a training run saved beside the model: every configuration scored (CSV), the search's
history (best so far by trial), each parameter's effect per family, and for a grid the heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.evaluation.metrics import PRIMARY_METRIC, metric_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["draw_effects", "draw_heatmap", "draw_history", "results_frame", "write_reports", "write_results_csv"]

_SKIP = {"trial", "family", "state", "fit_seconds", "users", "transform", "bm25"}


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
    frame = results_frame(results, k)
    if "family" in frame:
        frame = frame[frame["family"] == "als"]
    pivot = (frame
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


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_history(results: Sequence[Mapping[str, Any]], k: int, path: Path) -> Path:
    """PNG of each trial's best validation figure and the best so far, trial by trial."""
    plt = _pyplot()
    metric = metric_key(PRIMARY_METRIC, k)
    frame = results_frame(results, k)
    trials = frame.dropna(subset=["trial"]).groupby("trial")[metric].max().sort_index()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(trials.index, trials.to_numpy(), "o", alpha=0.5, label="trial")
    ax.plot(trials.index, trials.cummax().to_numpy(), "-", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("search history")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_effects(results: Sequence[Mapping[str, Any]], k: int, path: Path) -> Path:
    """PNG of the validation figure against each numeric parameter, one row of panels per family."""
    plt = _pyplot()
    metric = metric_key(PRIMARY_METRIC, k)
    frame = results_frame(results, k)
    panels = []
    for family, group in frame.groupby("family", sort=True):
        for column in group.columns:
            if column in _SKIP or column.startswith(tuple(f"{m}@" for m in ("precision", "recall", "map", "ndcg",
                                                                               "coverage"))):
                continue
            values = group[column].dropna()
            if values.nunique() > 1 and values.dtype.kind in "if":
                panels.append((family, column, group.loc[values.index]))
    columns = 3
    rows = max(1, -(-len(panels) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for ax, (family, column, group) in zip(axes.ravel(), panels):
        ax.scatter(group[column], group[metric], s=12, alpha=0.6)
        positive = (group[column] > 0).all()
        if positive and group[column].max() / max(group[column].min(), 1e-12) > 20:
            ax.set_xscale("log")
        ax.set_title(f"{family}: {column}", fontsize=9)
        ax.set_ylabel(metric, fontsize=8)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_reports(results: Sequence[Mapping[str, Any]], k: int, folder: Path) -> dict[str, Path]:
    """results.csv, history.png, effects.png and (for a grid of ALS) heatmap.png in `folder`."""
    files = {"results.csv": write_results_csv(results, k, folder / "results.csv")}
    frame = results_frame(results, k)
    if frame.get("trial") is not None and frame["trial"].notna().sum() > 1:
        files["history.png"] = draw_history(results, k, folder / "history.png")
        files["effects.png"] = draw_effects(results, k, folder / "effects.png")
    als = frame[frame["family"] == "als"] if "family" in frame else frame
    if len(als) and "factors" in als and als["factors"].nunique() <= 12 and als["regularization"].nunique() <= 12:
        files["heatmap.png"] = draw_heatmap(results, k, folder / "heatmap.png")
    return files
