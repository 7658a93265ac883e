"""Settings from the environment and `.env`; every field is documented in `.env.example`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kitsu_ingest.errors import ConfigError

__all__ = ["DEFAULT_BASE_URL", "Settings", "get_settings"]

DEFAULT_BASE_URL = "https://kitsu.app/api/edge"


class Settings(BaseSettings):
    """Project configuration. CLI options override these values."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite:///data/kitsu.db",
        description="SQLAlchemy URL of the store: sqlite:///path.db or postgresql+psycopg://...",
    )
    kitsu_base_url: str = Field(default=DEFAULT_BASE_URL, description="Kitsu API root.")
    kitsu_rate: float = Field(
        default=4.0, ge=0, allow_inf_nan=False, description="Requests per second, at most; 0: no limit."
    )
    kitsu_concurrency: int = Field(default=8, ge=1, description="Requests in flight, at most.")
    kitsu_timeout: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, description="Seconds before a request times out."
    )
    kitsu_max_attempts: int = Field(default=6, ge=1, description="Attempts per request before giving up.")
    kitsu_user_agent: str = Field(
        default="kitsu-recs/0.1 (+https://github.com/kitsu-recs/kitsu-recs)",
        description="User-Agent sent to Kitsu, with a contact URL.",
    )
    kitsu_username: str | None = Field(default=None, description="Optional Kitsu login (OAuth).")
    kitsu_password: SecretStr | None = Field(default=None, description="Optional Kitsu password.")
    model_dir: Path = Field(default=Path("models"), description="Where trained models are saved.")

    @field_validator("kitsu_user_agent")
    @classmethod
    def _printable_ascii(cls, value: str) -> str:
        """An HTTP header carries printable ASCII only (httpx cannot send anything else)."""
        bad = next((c for c in value if not " " <= c <= "~"), None)
        if bad is not None:
            raise ValueError(f"use printable ASCII only (it holds {bad!r})")
        return value


def get_settings(**overrides: object) -> Settings:
    """Settings from env/.env with the given non-None overrides applied (CLI options).

    An invalid value (from the environment, `.env` or an option) is a ConfigError naming it, and so
    is a `.env` file that cannot be read as UTF-8 text.
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the settings file {Path('.env').resolve()} is not UTF-8 text (byte {exc.start}): "
            "fix or remove it"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file {Path('.env').resolve()}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first.get("loc") else "a setting"
        raise ConfigError(f"invalid setting {name}: {first['msg'].removeprefix('Value error, ')}") from None
