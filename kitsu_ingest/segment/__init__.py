"""Engagement tiers and behavioural clusters of the store's users (`kitsu-ingest segment-users`).

    load       the store -> user counters, anime, compact COO chunks of every entry and favourite
    tiers      interaction score and low / medium / high tiers (the original study's)
    features   SVD taste embedding, category affinity, status mix
    clusters   KMeans k sweep (inertia, silhouette, Davies-Bouldin), labels
    profiles   per-cluster size, library length, status mix, characteristic anime
    plots      pair plot, sweep plot, PCA scatter (PNG)
    store      runs and per-user results in the store; `load_cluster_labels` for the recommender
    run        the whole pipeline, callable from Python (`segment_users`)
    limits     the ranges of its options (dimensions, seeds, samples)
"""

from __future__ import annotations

from kitsu_ingest.segment.clusters import SweepRow, assign, choose_k, explain, parse_k, sweep
from kitsu_ingest.segment.errors import SegmentError
from kitsu_ingest.segment.features import FEATURE_BLOCKS, Features, FeatureSpec, parse_features
from kitsu_ingest.segment.run import SegmentOptions, SegmentReport, segment_users
from kitsu_ingest.segment.store import ClusterLabels, latest_run_id, load_cluster_labels
from kitsu_ingest.segment.tiers import BIN_RULES, TIER_LABELS, TierResult, assign_tiers, interaction_score
from kitsu_ingest.store.packed import Events, UserCounters, load_events, load_users

__all__ = [
    "BIN_RULES", "FEATURE_BLOCKS", "TIER_LABELS", "ClusterLabels", "Events", "FeatureSpec",
    "Features", "SegmentError", "SegmentOptions", "SegmentReport", "SweepRow", "TierResult",
    "UserCounters", "assign", "assign_tiers", "choose_k", "explain", "interaction_score",
    "latest_run_id",
    "load_cluster_labels", "load_events", "load_users", "parse_features", "parse_k",
    "segment_users", "sweep",
]
