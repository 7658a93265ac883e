"""Ground truth: exactly what the emulator serves per user, to prove a crawl complete and exact."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from kitsu_ingest.emulator.documents import isos
from kitsu_ingest.emulator.population import FAVORITE_TYPES, STATUSES, Population

__all__ = ["EntryTruth", "UserTruth", "ground_truth", "user_truth"]


@dataclass(frozen=True)
class EntryTruth:
    """One visible library entry as served to an anonymous caller."""

    id: int
    anime_id: int | None
    """None for NSFW anime (the entry's `anime.data` is null); see `related_anime_id`."""
    related_anime_id: int
    """What `/library-entries/{id}/anime` returns."""
    status: str
    progress: int
    rating_twenty: int | None
    reconsume_count: int
    created_at: str
    updated_at: str
    progressed_at: str | None
    started_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class UserTruth:
    """A user's visible entries (id order), favourites by item type (favRank order) and counters."""

    user_id: int
    name: str
    entries: tuple[EntryTruth, ...]
    favorites: dict[str, tuple[int, ...]]
    """Item type (Anime, Manga, Character, Person) -> item ids; every type is present."""
    favorite_ids: tuple[int, ...]
    status_counts: dict[str, int]
    """As in `meta.statusCounts` (keys current, planned, completed, onHold, dropped; zeros omitted)."""
    private_entries: int
    """Entries hidden from anonymous callers (not in `entries`, not in `meta.count`)."""
    ratings_count: int
    """Profile counters, computed over the whole library including private entries."""
    favorites_count: int
    life_spent_on_anime: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def user_truth(population: Population, user_id: int) -> UserTruth | None:
    """What the emulator serves for one user at the population's day (None for a deleted or unknown id)."""
    user = population.get(user_id)
    if user is None:
        return None
    lib, cat = user.library, population.catalogue
    rows = (~lib.private).nonzero()[0]
    dates = {name: isos(getattr(lib, name)[rows])
             for name in ("created", "updated", "progressed", "started", "finished")}
    entries = []
    for j, r in enumerate(rows.tolist()):
        aid = int(cat.ids[lib.anime[r]])
        entries.append(EntryTruth(
            id=int(lib.ids[r]), anime_id=None if cat.nsfw[lib.anime[r]] else aid, related_anime_id=aid,
            status=STATUSES[lib.status[r]], progress=int(lib.progress[r]),
            rating_twenty=int(lib.rating[r]) or None, reconsume_count=int(lib.reconsume_count[r]),
            created_at=str(dates["created"][j]), updated_at=str(dates["updated"][j]),
            progressed_at=dates["progressed"][j], started_at=dates["started"][j],
            finished_at=dates["finished"][j],
        ))
    favs = {kind: tuple(f.item_id for f in sorted(user.favorites, key=lambda f: f.rank)
                        if f.item_type == kind) for kind in FAVORITE_TYPES}
    counts: dict[str, int] = {}
    for e in entries:
        key = "onHold" if e.status == "on_hold" else e.status
        counts[key] = counts.get(key, 0) + 1
    order = ("current", "planned", "completed", "onHold", "dropped")
    return UserTruth(
        user_id=user.id, name=user.name, entries=tuple(entries), favorites=favs,
        favorite_ids=tuple(f.id for f in user.favorites),
        status_counts={k: counts[k] for k in order if k in counts},
        private_entries=int(lib.private.sum()), ratings_count=user.counters["ratingsCount"],
        favorites_count=user.counters["favoritesCount"],
        life_spent_on_anime=user.counters["lifeSpentOnAnime"],
    )


def ground_truth(users: int, seed: int, user_ids: Iterable[int] | None = None,
                 population: Population | None = None, *, day: int = 0, churn: float = 0.01,
                 growth: float = 0.001) -> Iterator[UserTruth]:
    """Truth per existing user at the end of `day`, in id order (all users, those registered after
    day 0 included, or only those of `user_ids` that exist).

    Streams: memory stays flat even for a million users. Pass `population` to reuse one (its day,
    churn and growth then hold).
    """
    pop = population or Population(users, seed, cache_size=64, day=day, churn=churn, growth=growth)
    ids = pop.user_ids.tolist() if user_ids is None else sorted({int(u) for u in user_ids})
    for uid in ids:
        truth = user_truth(pop, uid)
        if truth is not None:
            yield truth
