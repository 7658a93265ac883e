"""PNG figures: the tiers' pair plot, the k sweep, the clusters on two principal components."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kitsu_ingest.outputs import written_whole
from kitsu_ingest.segment.clusters import SweepRow
from kitsu_ingest.segment.tiers import TIER_LABELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["pca_scatter", "sweep_plot", "tier_pairplot"]

_TIER_COLOURS = ("#4c78a8", "#f58518", "#e45756")


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported on first use: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: Path, title: str) -> Path:
    import matplotlib.pyplot as plt

    fig.suptitle(title)
    fig.tight_layout()
    try:
        with written_whole(path) as partial:
            fig.savefig(partial, dpi=90)
    finally:
        plt.close(fig)
    return path


def _subsample(n: int, most: int, seed: int) -> np.ndarray:
    if n <= most:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=most, replace=False))


def tier_pairplot(path: Path, metrics: dict[str, np.ndarray], tier: np.ndarray, *, seed: int = 0,
                  most: int = 20_000) -> Path:
    """Pair plot of the metrics (log1p of the counters, the score as is), coloured by tier."""
    plt = _pyplot()
    pick = _subsample(len(tier), most, seed)
    names = list(metrics)
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(2.6 * n, 2.6 * n))
    for i, row in enumerate(names):
        for j, col in enumerate(names):
            ax = axes[i][j]
            for t, label in enumerate(TIER_LABELS):
                sel = pick[tier[pick] == t]
                if i == j:
                    ax.hist(metrics[col][sel], bins=40, alpha=0.6, color=_TIER_COLOURS[t], label=label)
                else:
                    ax.scatter(metrics[col][sel], metrics[row][sel], s=2, alpha=0.3,
                               color=_TIER_COLOURS[t], label=label, rasterized=True)
            if i == n - 1:
                ax.set_xlabel(col, fontsize=8)
            if j == 0:
                ax.set_ylabel(row, fontsize=8)
            ax.tick_params(labelsize=6)
    axes[0][0].legend(fontsize=7, markerscale=4)
    return _save(fig, path, f"Engagement tiers ({len(pick):,} of {len(tier):,} users shown)")


def sweep_plot(path: Path, table: list[SweepRow], chosen: int) -> Path:
    """Inertia, silhouette and Davies-Bouldin against k, the chosen k marked."""
    plt = _pyplot()
    ks = [r.k for r in table]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, (name, values) in zip(axes, (
        ("inertia (lower is tighter)", [r.inertia for r in table]),
        ("silhouette (higher is better)", [r.silhouette for r in table]),
        ("Davies-Bouldin (lower is better)", [r.davies_bouldin for r in table]),
    )):
        ax.plot(ks, values, marker="o")
        ax.axvline(chosen, color="grey", linestyle="--")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("k")
    return _save(fig, path, f"KMeans sweep (chosen k = {chosen})")


def pca_scatter(path: Path, features: np.ndarray, labels: np.ndarray, *, seed: int = 0,
                most: int = 20_000) -> Path:
    """The users on the features' first two principal components, coloured by cluster."""
    from sklearn.decomposition import PCA

    plt = _pyplot()
    pick = _subsample(len(features), most, seed)
    xy = PCA(n_components=2, random_state=seed).fit_transform(features[pick])
    fig, ax = plt.subplots(figsize=(7, 6))
    k = int(labels.max()) + 1
    cmap = plt.get_cmap("tab20" if k > 10 else "tab10")
    for c in range(k):
        sel = labels[pick] == c
        ax.scatter(xy[sel, 0], xy[sel, 1], s=3, alpha=0.4, color=cmap(c % cmap.N), label=f"{c}",
                   rasterized=True)
    ax.legend(title="cluster", fontsize=7, markerscale=4, loc="best")
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    return _save(fig, path, f"Clusters on 2 principal components ({len(pick):,} of "
                            f"{len(features):,} users)")
