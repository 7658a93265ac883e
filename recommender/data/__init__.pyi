"""Typed, lazily loaded exports (lazy_loader reads this stub; mypy and editors too)."""

from .events import (
    CONFIDENCE_PARAMS as CONFIDENCE_PARAMS,
)
from .events import (
    DEFAULT_WEIGHTS as DEFAULT_WEIGHTS,
)
from .events import (
    MAX_EVENT_WEIGHT as MAX_EVENT_WEIGHT,
)
from .events import (
    TRANSFORMS as TRANSFORMS,
)
from .events import (
    EventWeights as EventWeights,
)
from .events import (
    apply_confidence as apply_confidence,
)
from .events import (
    event_strengths as event_strengths,
)
from .events import (
    load_weights as load_weights,
)
from .files import MAX_STRENGTH as MAX_STRENGTH
from .files import FileSpec as FileSpec
from .files import load_file as load_file
from .ids import MAX_ID as MAX_ID
from .ids import IdIndex as IdIndex
from .ids import id_array as id_array
from .ids import parse_id as parse_id
from .ids import shown as shown
from .interactions import Interactions as Interactions
from .interactions import from_frame as from_frame
from .sources import (
    Source as Source,
)
from .sources import (
    describe_source as describe_source,
)
from .sources import (
    load_interactions as load_interactions,
)
from .sources import (
    source_from_dict as source_from_dict,
)
from .splits import (
    SPLITS as SPLITS,
)
from .splits import (
    Split as Split,
)
from .splits import (
    holdout as holdout,
)
from .splits import (
    leave_k_out as leave_k_out,
)
from .splits import (
    make_split as make_split,
)
from .splits import (
    temporal as temporal,
)
from .store import AnimeInfo as AnimeInfo
from .store import StoreReader as StoreReader
from .store import UserEvents as UserEvents

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
    "event_strengths",
    "from_frame",
    "holdout",
    "id_array",
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
