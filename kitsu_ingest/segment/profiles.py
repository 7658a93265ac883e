"""What each cluster is: size, library length, status mix, its most characteristic anime."""

from __future__ import annotations

import math

import numpy as np

from kitsu_ingest.segment.features import Activity, super_chunks
from kitsu_ingest.store.packed import FAVORITE_CODE, STATUS_CODES, Events

__all__ = ["cluster_item_counts", "cluster_profiles"]


def cluster_item_counts(events: Events, user_labels: np.ndarray, k: int) -> np.ndarray:
    """k x anime: how many members of each cluster have the anime in their library.

    `user_labels` gives every user row its cluster, -1 for none.
    """
    counts = np.zeros(k * events.n_items, dtype=np.int64)
    for rows, cols, codes in super_chunks(events):
        lab = user_labels[rows]
        keep = (lab >= 0) & (codes < FAVORITE_CODE)
        counts += np.bincount(lab[keep].astype(np.int64) * events.n_items + cols[keep],
                              minlength=len(counts))
    return counts.reshape(k, events.n_items)


def cluster_profiles(
    events: Events, act: Activity, user_labels: np.ndarray, k: int, titles: dict[int, str],
    *, top: int = 5,
) -> list[dict[str, object]]:
    """One profile per cluster. The characteristic anime maximise share x ln(lift), where share
    is the members' share having the anime and lift that share over all clustered users'; an anime
    needs at least max(2, 1% of the members) to count."""
    counts = cluster_item_counts(events, user_labels, k)
    clustered = user_labels >= 0
    sizes = np.bincount(user_labels[clustered], minlength=k)
    overall = counts.sum(axis=0) / max(int(clustered.sum()), 1)
    entries = act.entries
    status = act.counts[:, : len(STATUS_CODES)]
    profiles = []
    for c in range(k):
        members = user_labels == c
        size = int(sizes[c])
        share = counts[c] / max(size, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(overall > 0, share / overall, 0.0)
            score = np.where(lift > 1, share * np.log(lift), 0.0)
        score[counts[c] < max(2, math.ceil(0.01 * size))] = 0.0
        best = [int(i) for i in np.argsort(-score, kind="stable")[:top] if score[i] > 0]
        mix = status[members].sum(axis=0)
        profiles.append({
            "cluster": c,
            "size": size,
            "share": size / max(int(clustered.sum()), 1),
            "median_entries": float(np.median(entries[members])) if size else 0.0,
            "status_mix": {s: float(v / max(mix.sum(), 1)) for s, v in zip(STATUS_CODES, mix)},
            "top_anime": [{"anime_id": i, "title": titles.get(i, f"anime {i}"),
                           "share": round(float(share[i]), 4), "lift": round(float(lift[i]), 2)}
                          for i in best],
        })
    return profiles
