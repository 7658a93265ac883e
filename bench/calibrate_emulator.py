"""Regenerate the emulator's calibration summary from the real data in `../shared/data/`.

Sources (none of their files is copied; only figures derived from them are written):
- kitsu-season-trends/anime_season_stats.csv (wopian/kitsu-season-trends, MIT): real Kitsu anime ids,
  titles, subtypes, library counts (`users`), rating counts and favourite counts of 1,267 airing anime.
- anime-id-map-fribb/kitsu_mal_anilist_map.csv (Fribb/anime-lists): Kitsu id <-> MAL id and type, used to
  key the MAL lists by Kitsu id and to give head anime a subtype.
- mal-animelists-azathoth-head/animelists_head_kitsu_style.csv (azathoth42 MAL lists, 18 users): library
  length shape, status mix and its spread across users, share of rated entries, rating histogram, and
  which classic anime heavy users hold (how many of the 18 users list each anime); their library count
  is estimated as 150,000 * (share of the 18 users)^2 + 50 * holders (a heuristic: a title all 18 hold
  gets Cowboy Bebop's order of magnitude).
- kitsu-api-samples/kyleking_anime.json: anime/1's favourite rate, applied to those MAL-listed classics.

Output: kitsu_ingest/emulator/data/calibration.json.gz (about 100 KB), read by `population.py` at run time.

    .venv/bin/python bench/calibrate_emulator.py [--shared ../shared/data] [--out PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SUBTYPES = {"TV": "TV", "SPECIAL": "special", "MOVIE": "movie", "ONA": "ONA", "OVA": "OVA"}
STATUSES = ["completed", "planned", "current", "on_hold", "dropped"]


def _head(shared: Path) -> list[list[object]]:
    """Real anime: season-trends figures, plus MAL-listed classics with estimated popularity."""
    seasons = pd.read_csv(shared / "kitsu-season-trends" / "anime_season_stats.csv")
    id_map = pd.read_csv(shared / "anime-id-map-fribb" / "kitsu_mal_anilist_map.csv")
    mal = pd.read_csv(shared / "mal-animelists-azathoth-head" / "animelists_head_kitsu_style.csv")
    types = dict(zip(id_map.kitsu_id, id_map.type.map(SUBTYPES)))
    last = seasons.sort_values("last_ts").groupby("kitsu_anime_id").last()
    ratio = float((last.users / last.users_rated).median())
    users = last.users.fillna((last.users_rated * ratio).round()).clip(lower=1)
    sample = json.loads((shared / "kitsu-api-samples" / "kyleking_anime.json").read_text())["data"]
    # Classics are favourited far more than airing shows: use anime/1's real rate (4,380 / 106,156).
    fav_rate = sample["attributes"]["favoritesCount"] / sample["attributes"]["userCount"]
    rows: dict[int, list[object]] = {}
    for kid, row in last.iterrows():
        subtype = types.get(kid) or ("TV" if row.subtype == "TV" else "ONA")
        rows[int(kid)] = [int(kid), subtype, int(users[kid]), int(row.users_favorited), row.title]
    holders = mal.dropna(subset=["kitsu_anime_id"]).groupby("kitsu_anime_id").user_name.nunique()
    n_mal_users = mal.user_name.nunique()
    for kid, k in holders.items():
        kid = int(kid)
        if kid in rows:
            continue
        est = round(150_000 * (k / n_mal_users) ** 2) + 50 * k  # heuristic, see docstring
        rows[kid] = [kid, types.get(kid, "TV"), est, round(est * fav_rate), None]
    return sorted(rows.values(), key=lambda r: r[0])


def _libraries(shared: Path) -> dict[str, object]:
    """List length shape, status mix and its per-user spread, ratings."""
    mal = pd.read_csv(shared / "mal-animelists-azathoth-head" / "animelists_head_kitsu_style.csv")
    lengths = mal.groupby("user_name").size().to_numpy()
    logs = np.log(lengths)
    mix = mal.status.value_counts(normalize=True).reindex(STATUSES).fillna(0)
    per_user = mal.groupby("user_name").status.value_counts(normalize=True).unstack().reindex(
        columns=STATUSES).fillna(0)
    # Dirichlet concentration by the method of moments on the completed share.
    m, v = float(per_user.completed.mean()), float(per_user.completed.var())
    concentration = max(m * (1 - m) / v - 1, 1.0) if v > 0 else 50.0
    rated = mal.rating_twenty.notna().groupby(mal.user_name).mean()
    hist = mal.rating_twenty.dropna().astype(int).value_counts(normalize=True).sort_index()
    return {
        "active_length_log_mean": float(logs.mean()),
        "active_length_log_sd": float(logs.std(ddof=1)),
        "active_length_quantiles": {str(q): float(np.quantile(lengths, q)) for q in (0.1, 0.5, 0.9)},
        "max_length": int(lengths.max()),
        "status_mix": {s: round(float(mix[s]), 4) for s in STATUSES},
        "status_concentration": round(concentration, 3),
        "rated_share_mean": round(float(rated.mean()), 4),
        "rating_twenty_hist": {str(k): round(float(p), 4) for k, p in hist.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "kitsu_ingest" / "emulator" / "data" / "calibration.json.gz")
    args = parser.parse_args()
    summary = {
        "head_columns": ["kitsu_id", "subtype", "user_count", "favorites_count", "title"],
        "head": _head(args.shared),
        "libraries": _libraries(args.shared),
        "catalogue_size": 20_000,
        "max_anime_id": 48_000,
    }
    blob = json.dumps(summary, separators=(",", ":"), ensure_ascii=False).encode()
    args.out.write_bytes(gzip.compress(blob, mtime=0))
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes, {len(summary['head'])} head anime)")
    print(json.dumps(summary["libraries"], indent=1))


if __name__ == "__main__":
    main()
