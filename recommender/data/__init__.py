"""Interactions and how they are made: event strengths, files, the store, splits.

    events        statuses and favourites -> strengths; confidence transforms; weights files
    interactions  Interactions: a users x items CSR of strengths with its id maps
    files         CSV/TSV/Parquet files of interactions
    store         the one reader of the kitsu-ingest store
    sources       a file or the store, and its description in a model card
    splits        seeded holdout, leave-k-out and temporal splits
    ids           ids from text (parse_id), user text in messages (shown), positions in id arrays
"""

from kitsu_ingest.lazy import lazy_exports

_EXPORTS = {
    "CONFIDENCE_PARAMS": "events", "DEFAULT_WEIGHTS": "events", "EventWeights": "events",
    "MAX_EVENT_WEIGHT": "events", "MAX_STRENGTH": "files",
    "TRANSFORMS": "events", "apply_confidence": "events", "event_strengths": "events",
    "load_weights": "events",
    "Interactions": "interactions", "from_frame": "interactions",
    "FileSpec": "files", "load_file": "files",
    "AnimeInfo": "store", "StoreReader": "store", "UserEvents": "store",
    "Source": "sources", "describe_source": "sources", "load_interactions": "sources",
    "source_from_dict": "sources",
    "SPLITS": "splits", "Split": "splits", "holdout": "splits", "leave_k_out": "splits",
    "make_split": "splits", "temporal": "splits",
    "IdIndex": "ids", "MAX_ID": "ids", "id_array": "ids", "parse_id": "ids", "shown": "ids",
}

__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
