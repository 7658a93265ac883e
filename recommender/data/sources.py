"""Where interactions come from: a file (`FileSpec`) or the store (`None`), and their description
in a model card (`{"kind": "file", ...}` or `{"kind": "store", "url": masked URL}`)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from recommender.data.events import EventWeights, frame_columns, from_events
from recommender.data.files import FileSpec, load_file
from recommender.data.ids import shown
from recommender.data.interactions import Interactions
from recommender.errors import DataError

if TYPE_CHECKING:

    from recommender.data.store import StoreReader

OTHER = "other"
"""The kind of a stored entry whose status is none of Kitsu's five (`StoreReader.event_columns`)."""

__all__ = ["Source", "describe_source", "load_interactions", "source_from_dict"]

Source = FileSpec | None
"""A file, or None for the store."""


def load_interactions(source: Source, weights: EventWeights | None = None, *, store: StoreReader | None = None,
                      min_user_items: int = 1, min_item_users: int = 1, kinds: bool = False,
                      times: bool = False) -> Interactions:
    """Interactions from a file, or (source None) from the store's library entries and favourites.

    With `kinds`, each pair keeps its count of events of each kind, for learning their weights.
    With `times` (a temporal split needs them), the store's events are read with their times,
    row by row (about 0.3M rows/s); without, as typed columns (`StoreReader.event_columns`).
    """
    filters = {"min_user_items": min_user_items, "min_item_users": min_item_users}
    if source is not None:
        return load_file(source, weights, kinds=kinds, **filters)
    if store is None:
        raise DataError("no store to read the interactions from")
    columns = None if times else store.event_columns()
    if columns is None or (columns.codes == columns.kinds.index(OTHER)).any():  # a status to name, or times
        columns = frame_columns(*store.interaction_frames())
    return from_events(columns, weights or EventWeights(), kinds=kinds, **filters)


def describe_source(source: Source, store_url: str | None = None, read_at: datetime | None = None) -> dict[str, Any]:
    """The source as JSON for a model card (a store URL with its password masked, and when the
    store was read: what `recommend refresh` folds in is what changed after)."""
    if source is not None:
        return source.as_dict()
    from kitsu_ingest.store.engine import describe_url

    return {"kind": "store", **({"url": describe_url(store_url)} if store_url else {}),
            **({"read_at": read_at.isoformat(timespec="seconds")} if read_at else {})}


def source_from_dict(described: dict[str, Any]) -> Source:
    """The inverse of `describe_source` (a store is read from the current DATABASE_URL); a
    malformed description (from a hand-edited or damaged model card) is a DataError."""
    if described.get("kind") != "file":
        return None
    known = {f.name for f in fields(FileSpec)}
    given = {k: v for k, v in described.items() if k != "kind"}
    if not isinstance(given.get("path"), str) or set(given) - known or \
            not all(v is None or isinstance(v, str) for v in given.values()):
        raise DataError(f"the model card's file source is malformed: {shown(given, 120)}")
    return FileSpec(**given)
