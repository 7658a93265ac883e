"""Errors of `kitsu-ingest segment-users` (one-line messages; the CLI exits 2)."""

from __future__ import annotations

from kitsu_ingest.errors import ConfigError, KitsuIngestError

__all__ = ["ConfigError", "SegmentError"]


class SegmentError(KitsuIngestError):
    """The store holds too little to segment (no users, no libraries, fewer users than k)."""
