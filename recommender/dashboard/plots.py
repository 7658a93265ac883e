"""The figures the pages show: the k sweep drawn by the server from the stored run (so it always
matches the run shown), and the PNGs that `recommend train` and `kitsu-ingest segment-users` wrote
(the search history, parameter effects and grid heatmap beside a model; the tiers' pair plot and the
clusters on two components in the segments folder), read only under their known names.

Drawing goes through kitsu_ingest's own plotting (pyplot, which is not thread-safe): one lock, and
each figure is drawn once per run and kept (a few tens of kilobytes).
"""

from __future__ import annotations

import math
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["MODEL_PLOTS", "SEGMENT_PLOTS", "model_plots", "segment_plots", "sweep_png"]

MODEL_PLOTS = {"history": "history.png", "effects": "effects.png", "heatmap": "heatmap.png"}
"""What `recommend train` saves beside a model after a search (`recommender.reports`)."""
SEGMENT_PLOTS = {"tiers": "tiers_pairplot.png", "clusters": "clusters_pca.png"}
"""What `kitsu-ingest segment-users` writes in its plot folder (`kitsu_ingest.segment.plots`)."""

_LOCK = threading.Lock()
_DRAWN: dict[int, bytes] = {}
_KEPT = 16


def model_plots(folder: Path) -> dict[str, Path]:
    """The report PNGs saved beside a model version, by name."""
    return {name: folder / file for name, file in MODEL_PLOTS.items() if (folder / file).is_file()}


def segment_plots(folder: Path) -> dict[str, Path]:
    """The PNGs of the last `kitsu-ingest segment-users` in `folder`, by name."""
    return {name: folder / file for name, file in SEGMENT_PLOTS.items() if (folder / file).is_file()}


def sweep_png(run_id: int, sweep: list[dict[str, Any]], chosen: int) -> bytes | None:
    """The k sweep of segmentation run `run_id` (inertia, silhouette, Davies-Bouldin against k) as a
    PNG, drawn once; None when the run swept nothing."""
    if not sweep:
        return None
    with _LOCK:
        if run_id not in _DRAWN:
            from kitsu_ingest.segment.clusters import SweepRow
            from kitsu_ingest.segment.plots import sweep_plot

            rows = [SweepRow(int(row["k"]), *(math.nan if row.get(key) is None else float(row[key]) for key in
                                               ("inertia", "silhouette", "davies_bouldin", "seconds")))
                    for row in sweep]
            with tempfile.TemporaryDirectory() as scratch:
                _DRAWN[run_id] = sweep_plot(Path(scratch) / "k_sweep.png", rows, chosen).read_bytes()
            while len(_DRAWN) > _KEPT:
                del _DRAWN[next(iter(_DRAWN))]
        return _DRAWN[run_id]
