"""Output files written whole or not at all: into a temporary name beside the target, then renamed.

A write killed before its rename leaves its temporary file; the next write of the same target
removes those whose process is gone (the pid is in the name)."""

from __future__ import annotations

import glob
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["pid_alive", "written_whole"]


@contextmanager
def written_whole(target: Path) -> Iterator[Path]:
    """A temporary path to write `target`'s content to; renamed over `target` when the block ends
    without an error, removed otherwise (an existing `target` is then left as it was)."""
    target = Path(target)
    _remove_stale(target)
    # The suffix stays last: writers that pick a format by it (matplotlib, pandas) still do.
    temporary = target.with_name(f".{target.stem}.{os.getpid()}-{secrets.token_hex(4)}.partial{target.suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _remove_stale(target: Path) -> None:
    """Remove the temporary files of writes of `target` whose process has died."""
    try:
        leftovers = list(target.parent.glob(f".{glob.escape(target.stem)}.*-*.partial{glob.escape(target.suffix)}"))
    except OSError:
        return
    for path in leftovers:
        pid = path.name[len(target.stem) + 2:].partition("-")[0]
        if pid.isascii() and pid.isdigit() and not pid_alive(int(pid)):
            path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host may still run (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process (or a pid out of range)
    return True
