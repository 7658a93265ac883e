"""Output files written whole or not at all: into a temporary name beside the target, then renamed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["written_whole"]


@contextmanager
def written_whole(target: Path) -> Iterator[Path]:
    """A temporary path to write `target`'s content to; renamed over `target` when the block ends
    without an error, removed otherwise (an existing `target` is then left as it was)."""
    target = Path(target)
    # The suffix stays last: writers that pick a format by it (matplotlib, pandas) still do.
    temporary = target.with_name(f".{target.stem}.{os.getpid()}-{secrets.token_hex(4)}.partial{target.suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
