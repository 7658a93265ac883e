"""Typed, lazily loaded exports: lazy_loader reads this stub at import time, mypy and editors too."""

from .events import (
    CONFIDENCE_PARAMS,
    DEFAULT_WEIGHTS,
    MAX_EVENT_WEIGHT,
    TRANSFORMS,
    EventWeights,
    apply_confidence,
    frame_columns,
    from_events,
    kind_strengths,
    load_weights,
)
from .files import MAX_STRENGTH, FileSpec, load_file
from .ids import MAX_ID, IdIndex, id_array, parse_id, shown
from .interactions import Interactions, from_frame
from .sources import Source, describe_source, load_interactions, source_from_dict
from .splits import SPLITS, Split, holdout, leave_k_out, make_split, temporal
from .store import AnimeInfo, StoreReader, UserEvents

__all__ = [
    "CONFIDENCE_PARAMS",
    "DEFAULT_WEIGHTS",
    "MAX_EVENT_WEIGHT",
    "MAX_ID",
    "MAX_STRENGTH",
    "SPLITS",
    "TRANSFORMS",
    "AnimeInfo",
    "EventWeights",
    "FileSpec",
    "IdIndex",
    "Interactions",
    "Source",
    "Split",
    "StoreReader",
    "UserEvents",
    "apply_confidence",
    "describe_source",
    "frame_columns",
    "from_events",
    "from_frame",
    "holdout",
    "id_array",
    "kind_strengths",
    "leave_k_out",
    "load_file",
    "load_interactions",
    "load_weights",
    "make_split",
    "parse_id",
    "shown",
    "source_from_dict",
    "temporal",
]
