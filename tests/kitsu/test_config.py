"""ApiConfig: one way to build a Kitsu client from settings."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from kitsu_ingest.emulator import EMULATOR_URL
from kitsu_ingest.errors import ConfigError
from kitsu_ingest.kitsu import ApiConfig, KitsuClient
from kitsu_ingest.settings import get_settings


def test_from_settings_takes_every_client_setting() -> None:
    settings = get_settings(
        kitsu_base_url="http://127.0.0.1:8765/api/edge", kitsu_rate=0, kitsu_concurrency=3, kitsu_timeout=2.5,
        kitsu_max_attempts=2, kitsu_user_agent="me (+http://x)", kitsu_username="ann", kitsu_password="hunter2",
    )
    api = ApiConfig.from_settings(settings)
    assert (api.base_url, api.rate, api.concurrency, api.timeout, api.max_attempts, api.user_agent) == (
        "http://127.0.0.1:8765/api/edge", None, 3, 2.5, 2, "me (+http://x)"
    )
    assert api.credentials == ("ann", "hunter2") and api.transport is None
    assert "hunter2" not in repr(api) and "hunter2" not in str(api)
    assert dataclasses.replace(api, password=None).credentials is None


def test_a_url_without_http_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must start with http:// or https://"):
        ApiConfig.from_settings(get_settings(kitsu_base_url="kitsu.app/api/edge"))


def test_emulator_config_builds_a_client_that_answers() -> None:
    api = ApiConfig.from_settings(get_settings(kitsu_base_url="https://kitsu.app/api/edge"), emulator=(50, 3))
    assert api.base_url == EMULATOR_URL and api.transport is not None

    async def users() -> int | None:
        async with KitsuClient.from_config(api) as kitsu:
            assert kitsu.base_url == EMULATOR_URL and kitsu.concurrency == api.concurrency
            return (await kitsu.get("/users", {"page[limit]": 1})).count

    assert asyncio.run(users()) == 50


@pytest.mark.parametrize(("url", "needle"), [
    ("http://[::1/api/edge", "is not a URL"),
    ("https:///api/edge", "names no host"),
    ("https://ann:hunter2@kitsu.app/api/edge", "carries credentials"),
    ("ftp://ann:hunter2@kitsu.app/api/edge", "must start with http"),
    ("http://ann:hunter2@[::1/api/edge", "is not a URL"),
])
def test_an_unusable_api_url_is_refused_before_any_request(url: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as caught:
        ApiConfig.from_settings(get_settings(kitsu_base_url=url))
    assert "hunter2" not in str(caught.value)
