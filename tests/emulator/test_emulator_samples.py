"""Attribute names and JSON types match the real recorded Kitsu responses, key by key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kitsu_ingest.emulator import HEAVY_USER

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "kitsu-api-samples"
pytestmark = pytest.mark.skipif(not (SAMPLES / "kyleking_user.json").exists(),
                                reason=f"recorded Kitsu samples not found at {SAMPLES} (clone shared/ beside the repo)")


def _sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text())


def _same_shape(ours: Any, real: Any, path: str = "") -> None:
    """Same keys recursively; same JSON type where both are non-null (Kitsu nulls many fields)."""
    if real is None or ours is None:
        return
    assert type(ours) is type(real), f"{path}: {type(ours).__name__} != {type(real).__name__}"
    if isinstance(real, dict) and path.count(".") < 2:
        assert set(ours) == set(real), f"{path}: extra {set(ours) - set(real)}, missing {set(real) - set(ours)}"
        for key in real:
            _same_shape(ours[key], real[key], f"{path}.{key}")


def _resource(ours: dict[str, Any], real: dict[str, Any]) -> None:
    assert set(ours) == set(real) and ours["type"] == real["type"]
    assert list(ours["attributes"]) == list(real["attributes"])
    for key, value in real["attributes"].items():
        _same_shape(ours["attributes"][key], value, key)
    assert set(ours["relationships"]) == set(real["relationships"])


def test_user_matches_sample(api, population) -> None:
    real = _sample("kyleking_user.json")
    ours = api.json(f"/users?filter[name]={population.user(HEAVY_USER).name}")
    assert set(ours) == set(real) and set(ours["links"]) <= {"first", "prev", "next", "last"}
    for user in ours["data"] + [api.json("/users?page[limit]=20")["data"][i] for i in range(20)]:
        _resource(user, real["data"][0])


def test_library_entries_match_sample(api) -> None:
    real = _sample("kyleking_lib_entry.json")
    ours = api.json(f"/users/{HEAVY_USER}/library-entries?filter[kind]=anime&page[limit]=10")
    assert set(ours) == set(real) and set(ours["links"]) == set(real["links"])
    assert set(ours["meta"]) == {"count", "statusCounts"}
    for entry in ours["data"]:
        _resource(entry, real["data"][0])
        for rel in entry["relationships"].values():
            assert set(rel) == {"links"}
    rated = api.json(f"/users/{HEAVY_USER}/library-entries?page[limit]=500")["data"]
    assert any(isinstance(e["attributes"]["ratingTwenty"], int) for e in rated)
    assert all(isinstance(e["attributes"]["rating"], str) for e in rated)


def test_anime_matches_sample(api) -> None:
    real = _sample("kyleking_anime.json")
    ours = api.json("/anime/1?include=categories")
    assert set(ours) == set(real)
    _resource(ours["data"], real["data"])
    assert isinstance(ours["data"]["relationships"]["categories"]["data"], list)
    for category in ours["included"]:
        _resource(category, real["included"][0])
