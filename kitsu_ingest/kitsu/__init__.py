"""Talking to the Kitsu API: its configuration, an async client and JSON:API parsing."""

from __future__ import annotations

from kitsu_ingest.kitsu.client import ClientStats, KitsuClient
from kitsu_ingest.kitsu.config import ApiConfig
from kitsu_ingest.kitsu.jsonapi import MISSING, Document, linkage, parse_document, query_of
from kitsu_ingest.kitsu.ratelimit import AdaptiveRate

__all__ = [
    "MISSING",
    "AdaptiveRate",
    "ApiConfig",
    "ClientStats",
    "Document",
    "KitsuClient",
    "linkage",
    "parse_document",
    "query_of",
]
