"""The ranges `segment-users` accepts, in one place: the CLI's click types and SegmentOptions'
own check both use them (this module stays light: the CLI imports it before anything heavy)."""

from __future__ import annotations

__all__ = ["MAX_DIMS", "MAX_SEED", "MIN_SAMPLE"]

MAX_DIMS = 1000
"""Most TruncatedSVD dimensions (fewer are used when the data has fewer)."""
MAX_SEED = 2**32 - 1
"""Largest seed numpy's legacy generators (scikit-learn's random_state) accept; seeds are >= 0."""
MIN_SAMPLE = 10
"""Fewest users in the silhouette and KMeans fit samples."""
