"""A deterministic, lazily generated population of Kitsu users, libraries and favourites.

Generative model (everything about user `u` is drawn from `numpy.random.default_rng((seed, u))`, so a
user is the same whatever `--users` says and whichever order users are asked for):

- Each anime belongs to one of `N_TASTES` taste groups (its first category). Each user has a taste
  vector theta ~ Dirichlet(0.12): one to three groups dominate.
- Library length: 30% empty, 25% casual (geometric, 1 to ~15), 45% active (log-normal fitted on the
  MAL lists: median ~310, sd of log 1.29, capped at 4,000).
- Each entry picks its anime from a mixture: with probability 0.06 "mainstream" (proportional to
  userCount^0.7 over the whole catalogue), else a taste group from theta and an anime in it,
  proportional to userCount^0.7. No anime twice. NSFW anime only for the 10% of users who opted in.
- Status mix per user ~ Dirichlet(2.2 * MAL mix); off-taste completions turn into drops 12% of the time.
  Ratings (2..20) for a per-user share of non-planned entries, higher on-taste, lower when dropped.
- Favourites: half of users with a library favourite some anime, chosen among their watched entries by
  the anime's real favourite rate, rating and taste; plus a few manga, characters and people.
- 8% of ids are deleted (404). User 70211 always exists and is a heavy user (650 entries, 36 anime
  favourites), as in the original study; with `users < 70211` it is the one id beyond the dense range.

Days (the world changes after day 0; day k covers [NOW + (k-1) * 86400, NOW + k * 86400), NOW being
2021-11-30T00:00Z; `Population(..., day=d)` is the world at the end of day d; day 0 is the world above):

- Each day, `active_share(churn)` = max(2%, 2 * churn) of the users who existed the day before are
  active (a hash of seed, uid and day). An active user deletes ~2% of their entries, edits
  `churn / active_share` of the others (planned -> current, current -> more episodes or completed with
  progress = episodes, on hold or dropped -> current again, a rating set or changed; id and anime kept,
  updatedAt inside the day, in ms) and adds ~2 anime they do not have yet (ids continue their sequence,
  never reused; privacy and NSFW as for their other entries). So `churn` of all entries change per day.
- ceil(growth * users) users register each day: the next ids of the same gapped sequence, registration
  time increasing with id. Their libraries follow the model above with every date inside their first
  day (about `growth` more changed entries a day); on later days they may be active like anyone.
- A profile's updatedAt follows its user's latest change; ratingsCount and lifeSpentOnAnime follow the
  library; favourites do not change.
- The day-d user is the day-0 (or registration-day) user replayed through its active days (the draws
  of day k come from (seed, uid, k)), so a user costs about the same at any day. The visible entries
  changed on days 1..d, the deletions and the owners are gathered once, on demand, into a `DeltaIndex`
  (delta.py): the site-wide `filter[since]` and the facts `changed_since`, `deleted_since` read it.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from kitsu_ingest.emulator.catalogue import N_TASTES, Catalogue, load_calibration
from kitsu_ingest.emulator.days import (
    MAX_DAY,
    History,
    active,
    active_share,
    registration_times,
    registrations_per_day,
    replay,
)
from kitsu_ingest.emulator.delta import DeltaIndex
from kitsu_ingest.emulator.model import (
    EMPTY_LIBRARY,
    ENTRY_STRIDE,
    FAVORITE_STRIDE,
    FAVORITE_TYPES,
    HEAVY_USER,
    NOW,
    STATUSES,
    Favorite,
    Library,
    User,
    day_start,
    mix,
)
from kitsu_ingest.errors import ConfigError

__all__ = [
    "ENTRY_STRIDE", "FAVORITE_STRIDE", "FAVORITE_TYPES", "HEAVY_USER", "MAX_USERS", "STATUSES", "Favorite",
    "History", "Library", "Population", "User",
]

MAX_USERS = 100_000_000
"""The largest population the emulator serves: it keeps every existing id in memory (about 3 GB at
this size, 1.8 s and 0.3 GB per 10 million users, measured)."""
_START = datetime(2013, 3, 1, tzinfo=UTC).timestamp()
_DELETED_PER_MILLE = 80
_MAINSTREAM = 0.06
_MAX_LENGTH = 4000
_POP_EXPONENT = 0.7
_ITEM_ID_RANGE = {"Manga": 60_000, "Character": 200_000, "Person": 40_000}
_PRIVATE_SALT = 0x9A1
_NAME_A = ("Neko", "Kuro", "Shiro", "Aki", "Yuki", "Hiro", "Ren", "Kai", "Mika", "Sora", "Luna", "Rin",
           "Taka", "Zero", "Nova", "Echo")
_NAME_B = ("chan", "kun", "fan", "otaku", "senpai", "ninja", "fox", "wolf", "blade", "star", "moon",
           "dream", "", "x", "san", "ko")


def user_name(uid: int, seed: int) -> str:
    """A user's (not unique) display name."""
    h = int(mix(uid, seed + 1))
    digits = str(h >> 40 & 1023) if h >> 20 & 1 else ""
    return f"{_NAME_A[h & 15]}{_NAME_B[h >> 4 & 15]}{digits}"


class Population:
    """`users` users over ids 1.. with gaps at day 0, plus those registered on days 1..`day`; each
    generated on demand from (seed, id) and replayed through the days it was active."""

    def __init__(self, users: int, seed: int, catalogue: Catalogue | None = None,
                 cache_size: int = 2048, day: int = 0, churn: float = 0.01, growth: float = 0.001) -> None:
        if not 1 <= users <= MAX_USERS:
            raise ConfigError(f"an emulated population has 1 to {MAX_USERS:,} users, not {users:,}")
        if seed < 0:
            raise ConfigError(f"the emulator's seed must not be negative (got {seed})")
        if not 0 <= day <= MAX_DAY:
            raise ConfigError(f"the emulator's day is 0 to {MAX_DAY:,} (got {day})")
        for name, share in (("churn", churn), ("growth", growth)):
            if not 0 <= share <= 1:
                raise ConfigError(f"the emulator's {name} is a share between 0 and 1 (got {share})")
        self.seed, self.size, self.day, self.churn, self.growth = seed, users, day, churn, growth
        self.catalogue = catalogue or Catalogue.default()
        day0 = self._ids(0, users, seed)
        if HEAVY_USER not in day0:
            day0[-1] = HEAVY_USER
        self.registrations_per_day = registrations_per_day(users, growth)
        """How many users register each day (ceil(growth * users))."""
        self._new = self._ids(int(day0[-1]), self.registrations_per_day * day, seed)
        self._signup_day, self._signup_time = registration_times(self._new, seed, self.registrations_per_day)
        self.user_ids = np.concatenate([day0, self._new]) if day else day0
        self._edit_share = churn / active_share(churn) if churn > 0 else 0.0
        cat = self.catalogue
        self._order = np.argsort(cat.taste, kind="stable")
        weights = cat.user_count[self._order].astype(np.float64) ** _POP_EXPONENT
        self._cum = np.cumsum(weights)
        bounds = np.searchsorted(cat.taste[self._order], np.arange(N_TASTES + 1))
        self._group_lo = np.concatenate([[0.0], self._cum])[bounds[:-1]]
        self._group_sum = np.concatenate([[0.0], self._cum])[bounds[1:]] - self._group_lo
        self._log_w = np.log(cat.user_count.astype(np.float64)) * _POP_EXPONENT
        self._fav_rate = (cat.favorites_count + 1) / (cat.user_count + 20)
        self._cal = load_calibration()["libraries"]
        self.user = lru_cache(maxsize=cache_size)(self._generate)
        self._names: dict[str, list[int]] | None = None
        self._delta: DeltaIndex | None = None

    @staticmethod
    def _ids(after: int, count: int, seed: int) -> np.ndarray:
        """The first `count` ids above `after` that are not deleted (8% are; never user 70211)."""
        span = int(count * 1000 / (1000 - _DELETED_PER_MILLE)) + 200
        while True:
            ids = np.arange(after + 1, after + span + 1, dtype=np.int64)
            ids = ids[(mix(ids, seed) % np.uint64(1000) >= _DELETED_PER_MILLE) | (ids == HEAVY_USER)]
            if len(ids) >= count:
                return ids[:count]
            span *= 2

    def __len__(self) -> int:
        return len(self.user_ids)

    def exists(self, uid: int) -> bool:
        i = bisect.bisect_left(self.user_ids, uid)
        return i < len(self.user_ids) and int(self.user_ids[i]) == uid

    def get(self, uid: int) -> User | None:
        """The user with this id, or None if it does not exist (deleted or out of range)."""
        return self.user(int(uid)) if self.exists(int(uid)) else None

    def _name_index(self) -> dict[str, list[int]]:
        """Name -> user ids, built on first use (about 1 s per million users)."""
        if self._names is None:
            names: dict[str, list[int]] = {}
            for uid in self.user_ids.tolist():
                names.setdefault(user_name(uid, self.seed), []).append(uid)
            self._names = names
        return self._names

    def users_named(self, name: str) -> list[int]:
        """Ids of users with exactly this (not unique) name."""
        return self._name_index().get(name, [])

    def users_matching(self, text: str) -> list[int]:
        """Ids of users whose name contains `text`, ignoring case (`filter[query]`)."""
        needle = text.lower()
        return [u for name, ids in self._name_index().items() if needle in name.lower() for u in ids]

    # -- days -----------------------------------------------------------------------------------

    def new_user_ids(self, since_day: int = 1) -> np.ndarray:
        """Ids of the users who registered on days `since_day`..`day` (id order)."""
        return self._new[self._signup_day >= since_day]

    def touched_ids(self) -> np.ndarray:
        """Users with a change on days 1..`day`: registered then, or active on a day after registering."""
        parts = [self._new]
        for k in range(1, self.day + 1):
            there = np.concatenate([self.user_ids[: self.size], self._new[self._signup_day < k]])
            parts.append(there[active(there, k, self.seed, self.churn)])
        return np.unique(np.concatenate(parts))

    def delta(self) -> DeltaIndex:
        """The visible entries changed on days 1..`day` and the deletions, gathered on first use
        (~20 s of CPU per million users and day at churn 0.01)."""
        if self._delta is None:
            self._delta = DeltaIndex.build(self.touched_ids(), self.history)
        return self._delta

    def changed_since(self, since: float) -> int:
        """Visible entries edited or added at or after `since` (epoch seconds, >= NOW): the
        `meta.count` of a site-wide `filter[since]` + `filter[kind]=anime` query."""
        return self.delta().changed_since(since)

    def deleted_since(self, since_day: int = 1) -> int:
        """Visible entries of the world at the end of day `since_day - 1` deleted by the end of `day`:
        what a site-wide delta from then cannot see."""
        return self.delta().deleted_since(since_day)

    # -- generation ---------------------------------------------------------------------------

    def _generate(self, uid: int) -> User:
        return self.history(uid).user

    def history(self, uid: int) -> History:
        """The user at the end of `day` and its visible deletions: its day-0 (or registration-day)
        self replayed through the days it was active."""
        i = int(np.searchsorted(self._new, uid))
        if i < len(self._new) and self._new[i] == uid:
            first = int(self._signup_day[i])
            user, private_rate = self._fresh(uid, float(self._signup_time[i]), day_start(first + 1))
        else:
            first = 0
            user, private_rate = self._fresh(uid, None, NOW)
        days = np.arange(first + 1, self.day + 1)
        days = days[active(uid, days, self.seed, self.churn)].tolist()

        def pick(rng: np.random.Generator, n: int) -> np.ndarray:
            return self._pick(rng, n, user.taste, user.nsfw_ok)

        return replay(user, days, self.seed, self._edit_share, self.catalogue, pick, private_rate)

    def _fresh(self, uid: int, created: float | None, horizon: float) -> tuple[User, float]:
        """The user as generated (every date before `horizon`), and its share of private entries.
        `created=None`: a day-0 user, created along the id range."""
        rng = np.random.default_rng((self.seed, uid))
        taste = rng.dirichlet(np.full(N_TASTES, 0.12))
        nsfw_ok = bool(rng.random() < 0.10)
        born = _START + (NOW - 60 * 86400 - _START) * min(uid / 1_250_000, 1.0) ** 0.8
        born = round(born + rng.uniform(0, 86400), 3)
        created = born if created is None else created
        length = self._length(rng, uid)
        library, private_rate = self._library(rng, uid, length, taste, nsfw_ok, created, horizon)
        if length == 0:
            private_rate = 0.3 if int(mix(uid, self.seed ^ _PRIVATE_SALT)) % 100 < 5 else 0.0
        favorites = self._favorites(rng, uid, library, taste, created, horizon)
        name = user_name(uid, self.seed)
        updated = float(np.nanmax(library.updated)) if len(library) else min(created + 3600.0, horizon)
        user = User(
            id=uid, name=name, slug=f"{name.lower()}-{uid}" if rng.random() < 0.25 else None,
            created=created, updated=round(max(updated, created), 3), taste=taste, nsfw_ok=nsfw_ok,
            library=library, favorites=favorites,
            counters=self._counters(rng, library, favorites), profile=_profile(rng),
        )
        return user, private_rate

    def _length(self, rng: np.random.Generator, uid: int) -> int:
        if uid == HEAVY_USER:
            return 650
        kind = rng.random()
        if kind < 0.30:
            return 0
        if kind < 0.55:
            return int(min(rng.geometric(0.25), 15))
        mu, sd = self._cal["active_length_log_mean"], self._cal["active_length_log_sd"]
        return int(min(max(rng.lognormal(mu - 0.3, sd), 16), _MAX_LENGTH))

    def _pick(self, rng: np.random.Generator, n: int, taste: np.ndarray, nsfw_ok: bool) -> np.ndarray:
        """n distinct anime from the taste/popularity mixture."""
        cat, picked = self.catalogue, np.empty(0, dtype=np.int64)
        for _ in range(6):
            need = n - len(picked)
            if need <= 0:
                break
            m = int(need * 1.6) + 8
            groups = rng.choice(N_TASTES, size=m, p=taste)
            mainstream = rng.random(m) < _MAINSTREAM
            lo = np.where(mainstream, 0.0, self._group_lo[groups])
            span = np.where(mainstream, self._cum[-1], self._group_sum[groups])
            pos = np.searchsorted(self._cum, lo + rng.random(m) * span, side="right")
            draws = self._order[np.minimum(pos, len(self._cum) - 1)]
            if not nsfw_ok:
                draws = draws[~cat.nsfw[draws]]
            merged = np.concatenate([picked, draws])
            _, first = np.unique(merged, return_index=True)
            picked = merged[np.sort(first)]
        if len(picked) < n:  # very long libraries: exact weighted sampling without replacement
            w = _MAINSTREAM * np.exp(self._log_w) / self._cum[-1] + (1 - _MAINSTREAM) * (
                taste[cat.taste] * np.exp(self._log_w) / self._group_sum[cat.taste])
            keys = np.log(w + 1e-300) + rng.gumbel(size=len(w))
            if not nsfw_ok:
                keys[cat.nsfw] = -np.inf
            n = min(n, int(np.isfinite(keys).sum()))
            picked = np.argsort(-keys)[:n]
            picked = picked[rng.permutation(len(picked))]
        return picked[:n].astype(np.int32)

    def _library(self, rng: np.random.Generator, uid: int, n: int, taste: np.ndarray,
                 nsfw_ok: bool, user_created: float, horizon: float) -> tuple[Library, float]:
        if n == 0:
            return EMPTY_LIBRARY, 0.0
        cat, cal = self.catalogue, self._cal
        anime = self._pick(rng, n, taste, nsfw_ok)
        n = len(anime)
        shares = np.array([cal["status_mix"][s] for s in STATUSES]) * cal["status_concentration"]
        status = rng.choice(5, size=n, p=rng.dirichlet(shares)).astype(np.int8)
        on_taste = taste[cat.taste[anime]] >= 0.05
        status[(status == 0) & ~on_taste & (rng.random(n) < 0.12)] = 4
        eps = cat.episode_count[anime]
        frac = rng.random(n)
        progress = np.select(
            [status == 0, status == 1, status == 4],
            [eps, 0, np.maximum(1, (frac * eps / 2).astype(np.int32))],
            np.minimum(np.maximum(1, (frac * eps).astype(np.int32)), np.maximum(eps - 1, 1)),
        ).astype(np.int32)
        rated = (rng.random(n) < rng.beta(1.2, 1.5)) & (status != 1)
        score = rng.normal(14.0, 1.5) + 2.0 * on_taste - 1.0 + rng.normal(0, 2.6, n) - 3.0 * (status == 4)
        rating = np.where(rated, np.clip(np.rint(score), 2, 20), 0).astype(np.int8)
        created = np.sort(user_created + (horizon - user_created) * rng.beta(1.0, 1.5, n))
        updated = created + (horizon - created) * rng.random(n) ** 4
        last = horizon - 0.001  # rounding never reaches the horizon: day k's entries are all in day k
        created, updated = np.minimum(np.round(created, 3), last), np.minimum(np.round(updated, 3), last)
        nan = np.full(n, np.nan)
        started = np.where((status != 1) & (rng.random(n) < 0.6), created, nan)
        finished = np.where((status == 0) & (rng.random(n) < 0.8), updated, nan)
        draws = rng.random(n)
        private_rate = 0.3 if rng.random() < 0.05 else 0.0
        return Library(
            ids=uid * ENTRY_STRIDE + np.arange(1, n + 1, dtype=np.int64), anime=anime, status=status,
            progress=progress, rating=rating, created=created, updated=updated, started=started,
            finished=finished, progressed=np.where(progress > 0, updated, nan), private=draws < private_rate,
            reconsume_count=((status == 0) & (rng.random(n) < 0.03)).astype(np.int16),
        ), private_rate

    def _favorites(self, rng: np.random.Generator, uid: int, lib: Library, taste: np.ndarray,
                   user_created: float, horizon: float) -> tuple[Favorite, ...]:
        cat = self.catalogue
        watched = np.flatnonzero(np.isin(lib.status, (0, 2, 3)) & ~cat.nsfw[lib.anime])
        if uid == HEAVY_USER:
            n_anime = 36
        elif len(watched) == 0 or rng.random() < 0.5:
            n_anime = 0
        else:
            n_anime = int(rng.poisson(rng.gamma(0.8) * len(watched) ** 0.55))
        n_anime = min(n_anime, len(watched), 60)
        if n_anime == 0:
            return ()
        a = lib.anime[watched]
        w = self._fav_rate[a] * (1 + lib.rating[watched] / 4) * (1 + 3 * taste[cat.taste[a]])
        keys = np.log(w) + rng.gumbel(size=len(w))
        items: list[tuple[str, int]] = [("Anime", int(cat.ids[i])) for i in a[np.argsort(-keys)[:n_anime]]]
        for kind, share in (("Manga", 0.25), ("Character", 0.5), ("Person", 0.1)):
            k = min(int(rng.poisson(share * n_anime)), FAVORITE_STRIDE - 1 - len(items))
            ids = rng.choice(_ITEM_ID_RANGE[kind], size=k, replace=False) + 1
            items += [(kind, int(i)) for i in ids]
        order = rng.permutation(len(items))
        when = np.sort(user_created + (horizon - user_created) * rng.random(len(items)))
        ranks: dict[str, int] = {}
        favs = []
        for k, j in enumerate(order):
            kind, item = items[j]
            ranks[kind] = ranks.get(kind, -1) + 1
            favs.append(Favorite(uid * FAVORITE_STRIDE + k + 1, kind, item, ranks[kind],
                                 round(float(when[k]), 3)))
        return tuple(favs)

    def _counters(self, rng: np.random.Generator, lib: Library, favs: tuple[Favorite, ...]
                  ) -> dict[str, int]:
        n = len(lib)
        minutes = int((lib.progress * self.catalogue.episode_length[lib.anime]).sum())
        social = rng.lognormal(np.log(1 + n / 20), 1.0, 8).astype(np.int64)
        return {
            "followersCount": int(social[0]), "followingCount": int(social[1]),
            "commentsCount": int(social[2]), "likesGivenCount": int(social[3]),
            "likesReceivedCount": int(social[4]), "postsCount": int(social[5]),
            "reviewsCount": int(social[6] // 10), "mediaReactionsCount": int(social[7] // 4),
            "ratingsCount": int((lib.rating > 0).sum()), "favoritesCount": len(favs),
            "lifeSpentOnAnime": minutes,
        }


def _profile(rng: np.random.Generator) -> dict[str, str | None]:
    places = (None, None, None, "United States", "Brazil", "Germany", "France", "Philippines", "Japan")
    return {
        "location": places[int(rng.integers(len(places)))],
        "gender": (None, "male", "female", "secret")[int(rng.integers(4))],
        "birthday": None if rng.random() < 0.7
        else f"{rng.integers(1975, 2006)}-0{rng.integers(1, 10)}-1{rng.integers(0, 10)}",
        "about": None if rng.random() < 0.6 else "Anime fan.",
        "waifuOrHusbando": (None, "Waifu", "Husbando")[int(rng.integers(3))],
    }
