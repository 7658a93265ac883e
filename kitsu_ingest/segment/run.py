"""The whole segmentation: tiers and clusters of every user, plots, written back to the store."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from threadpoolctl import threadpool_limits

from kitsu_ingest.laps import Laps
from kitsu_ingest.segment import clusters as cl
from kitsu_ingest.segment.errors import ConfigError, SegmentError
from kitsu_ingest.segment.features import FeatureSpec, activity, build_features
from kitsu_ingest.segment.limits import MAX_DIMS, MAX_SEED, MIN_SAMPLE
from kitsu_ingest.segment.load import load_anime
from kitsu_ingest.segment.profiles import cluster_profiles
from kitsu_ingest.segment.store import save_run
from kitsu_ingest.segment.tiers import BIN_RULES, TIER_LABELS, assign_tiers
from kitsu_ingest.store.packed import load_events, load_users

__all__ = ["Progress", "SegmentOptions", "SegmentReport", "segment_users"]

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total) as work advances."""


@dataclass(frozen=True)
class SegmentOptions:
    bins: str = "equal"
    ks: tuple[int, ...] = tuple(range(2, 13))
    features: FeatureSpec = field(default_factory=FeatureSpec)
    silhouette_sample: int = 5000
    fit_sample: int = 100_000
    out_dir: Path | None = Path("reports/segments")
    workers: int = 2
    """Store reads in flight."""
    threads: int = 1
    """OpenMP/BLAS threads of the k sweep: their spin-waits make two threads 3x slower than one
    on a busy 2-core machine (measured); raise it on a machine of your own."""

    def as_dict(self) -> dict[str, Any]:
        spec = self.features
        return {"bins": self.bins, "k": list(self.ks), "features": list(spec.blocks),
                "svd_dims": spec.dims, "svd_sample": spec.svd_sample, "seed": spec.seed,
                "top_categories": spec.top_categories, "silhouette_sample": self.silhouette_sample,
                "fit_sample": self.fit_sample, "threads": self.threads,
                "k_rule": "best silhouette"}


@dataclass
class SegmentReport:
    run_id: int
    users: int
    excluded: int
    tiers: dict[str, int]
    edges: list[float]
    entries: int
    clustered: int
    k: int
    sweep: list[cl.SweepRow]
    notes: list[str]
    profiles: list[dict[str, Any]]
    svd_explained: float | None
    plots: list[str]
    seconds: dict[str, float]
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["sweep"] = [r.as_dict() for r in self.sweep]
        return out


def _validate(options: SegmentOptions) -> None:
    if options.bins not in BIN_RULES:
        raise ConfigError(f"unknown bin rule {options.bins!r}; use one of: {', '.join(BIN_RULES)}")
    if options.silhouette_sample < MIN_SAMPLE or options.fit_sample < MIN_SAMPLE:
        raise ConfigError(f"--sample-silhouette and the fit sample must be at least {MIN_SAMPLE}")
    if not 1 <= options.features.dims <= MAX_DIMS:
        raise ConfigError(f"--dims must be between 1 and {MAX_DIMS}, not {options.features.dims}")
    if not 0 <= options.features.seed <= MAX_SEED:
        raise ConfigError(f"--seed must be between 0 and {MAX_SEED}, not {options.features.seed}")


def segment_users(engine: Engine, options: SegmentOptions = SegmentOptions(),
                  progress: Progress | None = None) -> SegmentReport:
    """Tiers and clusters of every user of the store, recorded as a new run."""
    _validate(options)
    say = progress or (lambda stage, done, total: None)
    lap = Laps()
    seconds = lap.seconds

    say("reading users", 0, 1)
    users = load_users(engine)
    tiers = assign_tiers(users.life, users.ratings, users.favorites, options.bins)
    lap("tiers")
    events = load_events(engine, users, workers=options.workers,
                         on_progress=lambda d, t: say("reading libraries", d, t))
    if events.nnz == 0:
        raise SegmentError("the store has no library entries to cluster: crawl libraries first")
    act = activity(events)
    active = act.active
    if max(options.ks) > len(active):
        raise SegmentError(
            f"k={max(options.ks)} is more than the {len(active):,} users with a library to cluster")
    lap("read")
    say("features", 0, 1)
    anime = load_anime(engine)
    feats = build_features(events, act, anime.categories, options.features)
    lap("features")
    table, centres = [], {}
    with threadpool_limits(options.threads):
        for i, k in enumerate(options.ks):
            say("k sweep", i, len(options.ks))
            rows, found = cl.sweep(feats.matrix, (k,), seed=options.features.seed,
                                   fit_sample=options.fit_sample,
                                   silhouette_sample=options.silhouette_sample)
            table += rows
            centres.update(found)
        say("k sweep", len(options.ks), len(options.ks))
        k = cl.choose_k(table)
        labels, _ = cl.assign(feats.matrix, centres[k])
    user_labels = np.full(len(users), -1, dtype=np.int32)
    user_labels[feats.rows] = labels
    lap("clusters")
    say("profiles", 0, 1)
    profiles = cluster_profiles(events, act, user_labels, k, anime.titles)
    lap("profiles")
    plots = _plots(options, users, tiers, table, k, feats.matrix, labels, say)
    lap("plots")
    report_counts = tiers.counts()
    params = {**options.as_dict(), "edges": list(tiers.edges), "chosen_k": k,
              "feature_columns": feats.columns}
    summary = {"users": len(users), "excluded": tiers.excluded, "tiers": report_counts,
               "clustered": len(feats.rows), "entries": events.nnz,
               "sweep": [r.as_dict() for r in table], "notes": cl.explain(table, k),
               "profiles": profiles}
    say("writing", 0, 1)
    tier_names = [TIER_LABELS[t] if t >= 0 else None for t in tiers.tier.tolist()]
    run_id = save_run(engine, bins=options.bins, k=k, params=params, summary=summary,
                      user_ids=users.ids, scores=tiers.score, tiers=tier_names,
                      clusters=user_labels)
    lap("write")
    return SegmentReport(
        run_id=run_id, users=len(users), excluded=tiers.excluded, tiers=report_counts,
        edges=list(tiers.edges), entries=events.nnz, clustered=len(feats.rows), k=k, sweep=table,
        notes=cl.explain(table, k), profiles=profiles, svd_explained=feats.svd_explained, plots=plots, seconds=seconds,
        params=params)


def _plots(options: SegmentOptions, users: Any, tiers: Any, table: list[cl.SweepRow], k: int,
           matrix: np.ndarray, labels: np.ndarray, say: Progress) -> list[str]:
    if options.out_dir is None:
        return []
    from kitsu_ingest.segment import plots

    out = Path(options.out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the plot folder {out}: {exc.strerror}") from None
    seed = options.features.seed
    say("plots", 0, 3)
    kept = tiers.included
    metrics = {"log1p(lifeSpentOnAnime)": np.log1p(users.life[kept]),
               "log1p(ratingsCount)": np.log1p(users.ratings[kept]),
               "log1p(favoritesCount)": np.log1p(users.favorites[kept]),
               "interaction_score": tiers.score[kept]}
    try:
        paths = [plots.tier_pairplot(out / "tiers_pairplot.png", metrics, tiers.tier[kept], seed=seed)]
        say("plots", 1, 3)
        paths.append(plots.sweep_plot(out / "k_sweep.png", table, k))
        say("plots", 2, 3)
        paths.append(plots.pca_scatter(out / "clusters_pca.png", matrix, labels, seed=seed))
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise  # the CLI says "disk full"
        raise ConfigError(f"cannot write the plots in {out}: {exc.strerror or exc}") from None
    say("plots", 3, 3)
    return [str(p) for p in paths]
