"""The world after day 0 (pure): who is active on a day, what an active user does, who registers.

Every draw comes from (seed, uid, day): `active` is a vectorised hash, an active user's moves come
from `numpy.random.default_rng((seed, uid, day, 1))`. Times are whole milliseconds inside the day,
so a timestamp read back from its ISO form (`filter[since]`) is the same float.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from kitsu_ingest.emulator.catalogue import Catalogue
from kitsu_ingest.emulator.model import EMPTY_LIBRARY, ENTRY_STRIDE, NOW, Library, User, mix

__all__ = ["MAX_DAY", "DayResult", "History", "active", "active_share", "apply_day", "registration_times",
           "registrations_per_day", "replay"]

MAX_DAY = 3650
"""The latest day the emulator models (ten years after day 0)."""
_MIN_ACTIVE = 0.02
_DELETE = 0.02
_ADD_MEAN = 2.0
_MS_DAY = 86_400_000
_NOW_MS = round(NOW * 1000)
_ACTIVE_SALT, _SIGNUP_SALT = 0x5A17, 0x51C9


def _unit(h: np.ndarray) -> np.ndarray:
    """Hashes -> uniform floats in [0, 1)."""
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def active_share(churn: float) -> float:
    """Share of users active on a day: twice `churn`, at least 2% (nobody when churn is 0)."""
    return 0.0 if churn <= 0 else min(1.0, max(_MIN_ACTIVE, 2 * churn))


def active(uids: np.ndarray | int, days: np.ndarray | int, seed: int, churn: float) -> np.ndarray:
    """Whether each user is active on each day (uids and days broadcast against each other)."""
    x = (np.asarray(uids, dtype=np.uint64) << np.uint64(16)) | np.asarray(days, dtype=np.uint64)
    return _unit(mix(x, seed ^ _ACTIVE_SALT)) < active_share(churn)


def registrations_per_day(users: int, growth: float) -> int:
    """New users per day: ceil(growth * users)."""
    return math.ceil(growth * users)


def registration_times(ids: np.ndarray, seed: int, per_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Registration day (1..) and time of the new users `ids` (in id order): `per_day` a day, in id order."""
    pos = np.arange(len(ids))
    days, slot = pos // max(per_day, 1) + 1, pos % max(per_day, 1)
    offset = np.floor((slot + _unit(mix(ids, seed ^ _SIGNUP_SALT))) * (_MS_DAY - 2) / max(per_day, 1))
    return days, (_NOW_MS + (days - 1) * _MS_DAY + 1 + offset.astype(np.int64)) / 1000.0


def _times(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    """n instants (ms precision) strictly inside day k."""
    return (_NOW_MS + (k - 1) * _MS_DAY + 1 + rng.integers(0, _MS_DAY - 2, size=n)) / 1000.0


class History(NamedTuple):
    """A user at the end of a day, and the visible entries it deleted on the days replayed."""

    user: User
    deleted_on: np.ndarray
    """The day of each deletion."""
    deleted_created: np.ndarray
    """The createdAt of each deleted entry (epoch seconds)."""


def replay(user: User, days: list[int], seed: int, edit_share: float, catalogue: Catalogue,
           pick: Callable[[np.random.Generator, int], np.ndarray], private_rate: float) -> History:
    """The user after its active `days` (ascending; day k draws from (seed, uid, k)): library, latest
    change (profile updatedAt) and the counters that follow the library."""
    lib, seq, last = user.library, len(user.library), user.updated
    gone_on, gone_created = [np.empty(0, dtype=np.int64)], [np.empty(0)]
    for k in days:
        step = apply_day(lib, user.id, k, np.random.default_rng((seed, user.id, k, 1)), edit_share,
                         catalogue.episode_count, pick, private_rate, seq)
        gone = lib.created[step.deleted & ~lib.private]
        gone_on.append(np.full(len(gone), k))
        gone_created.append(gone)
        lib, seq = step.library, step.seq
        last = max(last, step.last or last)
    if days:
        counters = {**user.counters, "ratingsCount": int((lib.rating > 0).sum()),
                    "lifeSpentOnAnime": int((lib.progress * catalogue.episode_length[lib.anime]).sum())}
        user = replace(user, library=lib, updated=last, counters=counters)
    return History(user, np.concatenate(gone_on), np.concatenate(gone_created))


class DayResult(NamedTuple):
    """A user's library after one active day, and what happened that day."""

    library: Library
    deleted: np.ndarray
    """Mask over the library before the day: entries deleted that day."""
    last: float | None
    """The user's latest change that day (None: nothing happened)."""
    seq: int
    """Entry ids used so far (the next entry is `uid * ENTRY_STRIDE + seq + 1`)."""


def apply_day(lib: Library, uid: int, k: int, rng: np.random.Generator, edit_share: float,
              episodes: np.ndarray, pick: Callable[[np.random.Generator, int], np.ndarray],
              private_rate: float, seq: int) -> DayResult:
    """One active day of a user: ~2% of entries deleted, `edit_share` of the rest edited, ~2 added.

    An edit keeps the entry's id and anime and stamps it inside day k with a plausible move:
    planned/on hold -> current with some progress, current -> more progress or completed
    (progress = episodes), dropped -> back to current or re-rated, completed -> (re-)rated.
    Additions are anime not in the library (`pick` draws candidates), planned or just started.
    """
    n = len(lib)
    gone = rng.random(n) < _DELETE
    rows = np.flatnonzero(~gone & (rng.random(n) < edit_share))
    lib = _edit(lib, rows, _times(rng, k, len(rows)), rng, episodes)
    added = _additions(lib, uid, k, rng, episodes, pick, private_rate, seq)
    stamps = [lib.updated[rows], added.updated, _times(rng, k, int(gone.sum()))]
    moments = np.concatenate(stamps)
    last = float(moments.max()) if len(moments) else None
    return DayResult(Library.concat([lib.take(~gone), added]), gone, last, seq + len(added))


def _edit(lib: Library, rows: np.ndarray, t: np.ndarray, rng: np.random.Generator,
          episodes: np.ndarray) -> Library:
    """The library with `rows` moved on (see `apply_day`) and stamped at times `t`."""
    if not len(rows):
        return lib
    status, progress, rating = lib.status.copy(), lib.progress.copy(), lib.rating.copy()
    updated, started = lib.updated.copy(), lib.started.copy()
    finished, progressed = lib.finished.copy(), lib.progressed.copy()
    st, before, eps = status[rows], progress[rows], episodes[lib.anime[rows]]
    u = rng.random(len(rows))
    rerate = (st == 0) | ((st == 4) & (u < 0.5))
    finish = ~rerate & (st == 2) & (u < 0.35)
    ahead = before + 1 + rng.poisson(1.5, len(rows)).astype(np.int32)
    finish |= ~rerate & (ahead >= eps)
    advance = ~rerate & ~finish
    rated = rerate | (finish & (rating[rows] == 0) & (rng.random(len(rows)) < 0.4))
    status[rows] = np.select([finish, advance], [0, 2], st).astype(np.int8)
    progress[rows] = np.select([finish, advance], [eps, ahead], before).astype(np.int32)
    rating[rows] = np.where(rated, _rerated(rating[rows], rng), rating[rows])
    updated[rows] = t
    started[rows] = np.where(np.isnan(started[rows]) & ~rerate, t, started[rows])
    finished[rows] = np.where(finish, t, finished[rows])
    progressed[rows] = np.where(progress[rows] != before, t, progressed[rows])
    return Library(lib.ids, lib.anime, status, progress, rating, lib.created, updated, started, finished,
                   progressed, lib.private, lib.reconsume_count)


def _rerated(rating: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A new ratingTwenty (2..20) near the old one (14 when unrated), never the old one."""
    base = np.where(rating > 0, rating, 14).astype(np.float64)
    new = np.clip(np.rint(base + rng.normal(0, 2.5, len(rating))), 2, 20).astype(np.int8)
    same = new == rating
    new[same] = np.where(rating[same] < 20, rating[same] + 1, 19)
    return new


def _additions(lib: Library, uid: int, k: int, rng: np.random.Generator, episodes: np.ndarray,
               pick: Callable[[np.random.Generator, int], np.ndarray], private_rate: float,
               seq: int) -> Library:
    m = min(int(rng.poisson(_ADD_MEAN)), ENTRY_STRIDE - 1 - seq)
    if m <= 0:
        return EMPTY_LIBRARY
    anime = pick(rng, m + 8)
    anime = anime[~np.isin(anime, lib.anime)][:m].astype(np.int32)
    m = len(anime)
    t = np.sort(_times(rng, k, m))
    nan = np.full(m, np.nan)
    watching = rng.random(m) < 0.4
    eps = episodes[anime]
    progress = np.where(watching, np.minimum(1 + rng.poisson(1.0, m), np.maximum(eps - 1, 1)), 0)
    return Library(
        ids=uid * ENTRY_STRIDE + seq + np.arange(1, m + 1, dtype=np.int64), anime=anime,
        status=np.where(watching, 2, 1).astype(np.int8), progress=progress.astype(np.int32),
        rating=np.zeros(m, dtype=np.int8), created=t, updated=t.copy(), started=np.where(watching, t, nan),
        finished=nan, progressed=np.where(progress > 0, t, nan), private=rng.random(m) < private_rate,
        reconsume_count=np.zeros(m, dtype=np.int16),
    )

