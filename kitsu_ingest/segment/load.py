"""Reading the store for segmentation: the anime (titles, categories). User counters and every
library entry and favourite come from the store's packed reader (`kitsu_ingest.store.packed`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from kitsu_ingest.store.models import Anime

__all__ = ["AnimeInfo", "load_anime"]


@dataclass(frozen=True)
class AnimeInfo:
    """Titles and category lists of the anime in the store, by anime id."""

    titles: dict[int, str]
    categories: dict[int, list[str]]


def load_anime(engine: Engine) -> AnimeInfo:
    """Titles (canonical, else the slug) and categories of every anime in the store."""
    query = select(Anime.id, Anime.canonical_title, Anime.slug, Anime.categories)  # type: ignore[call-overload]
    titles, categories = {}, {}
    with engine.connect() as conn:
        for anime_id, title, slug, cats in conn.execute(query):
            titles[int(anime_id)] = title or slug or f"anime {anime_id}"
            categories[int(anime_id)] = list(cats or [])
    return AnimeInfo(titles, categories)
