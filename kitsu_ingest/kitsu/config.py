"""How to reach the Kitsu API, as one value: the client's settings grouped in a small frozen object
(as httpx groups its own in `Timeout` and `Limits`), built once from Settings at the edge.

    api = ApiConfig.from_settings(get_settings(), emulator=(20_000, 7))
    async with KitsuClient.from_config(api) as kitsu: ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from kitsu_ingest.errors import ConfigError
from kitsu_ingest.settings import Settings
from kitsu_ingest.urls import mask_password

__all__ = ["ApiConfig"]


@dataclass(frozen=True)
class ApiConfig:
    """The API root, politeness (rate: requests per second at most, None for no limit; concurrency;
    timeout in seconds; attempts per request), the User-Agent, optional credentials (the password
    is never shown in a repr) and an optional transport (e.g. the in-process emulator)."""

    base_url: str
    rate: float | None = 4.0
    concurrency: int = 8
    timeout: float = 30.0
    max_attempts: int = 6
    user_agent: str = "kitsu-recs"
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        shown = mask_password(self.base_url)
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"the API URL {shown!r} must start with http:// or https://")
        try:
            url = httpx.URL(self.base_url)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"the API URL {shown!r} is not a URL ({exc})") from None
        if not url.host:
            raise ConfigError(f"the API URL {shown!r} names no host")
        if url.userinfo:
            raise ConfigError(
                f"the API URL {shown!r} carries credentials: give them as KITSU_USERNAME and KITSU_PASSWORD"
            )

    @property
    def credentials(self) -> tuple[str, str] | None:
        """(username, password) when both are set, else None (anonymous)."""
        if self.username and self.password:
            return self.username, self.password.get_secret_value()
        return None

    @classmethod
    def from_settings(cls, settings: Settings, *, emulator: tuple[int, ...] | None = None) -> ApiConfig:
        """The API the settings name; `emulator=(users, seed[, day])`: an in-process emulator instead."""
        base_url, transport = settings.kitsu_base_url, None
        if emulator is not None:
            from kitsu_ingest.emulator.transport import EMULATOR_URL, in_process_transport

            base_url, transport = EMULATOR_URL, in_process_transport(*emulator)
        return cls(
            base_url=base_url,
            rate=settings.kitsu_rate or None,
            concurrency=settings.kitsu_concurrency,
            timeout=settings.kitsu_timeout,
            max_attempts=settings.kitsu_max_attempts,
            user_agent=settings.kitsu_user_agent,
            username=settings.kitsu_username,
            password=settings.kitsu_password,
            transport=transport,
        )
