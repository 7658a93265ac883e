"""Reading a TOML configuration file with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from recommender.errors import ConfigFileError

__all__ = ["read_toml"]


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The document in `path`; ConfigFileError (naming `what`, e.g. "grid") if unreadable."""
    source = Path(path)
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"cannot read the {what} file {source}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"the {what} file {source} is not valid TOML: {exc}") from None
