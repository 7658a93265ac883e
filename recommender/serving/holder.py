"""The model a server answers with: loaded once, replaced live when a newer version is saved.

`ModelHolder.refresh` loads the wanted version (the latest, or a pinned one) beside the current
one, checks it (`Recommender.warm`: finite factors, titles, norms) and only then swaps the
reference, so requests in flight finish on the model they started with. A version that fails to
load is kept as `error` (the server reports itself degraded) and is not loaded again until one
of its files changes: a broken model is not re-read every few seconds.

`masked` turns the server's absolute paths in a message into names relative to the model
directory (`MODEL_DIR/<version>/als.npz`), fit to send to a client.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

from recommender.data.store import StoreReader
from recommender.errors import RecommenderError
from recommender.serving.recommender import Recommender

__all__ = ["ModelHolder"]

log = logging.getLogger(__name__)
# An absolute path (not the tail of a URL or of another path): shown by its last component.
_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"]+/)+(?P<name>[^\s/'\":]+)")


class ModelHolder:
    """The current Recommender, replaced when a newer model version is saved (unless pinned);
    `store` is None for a server without a store (it serves models trained on files)."""

    def __init__(self, model_dir: Path, version: str | None, store: StoreReader | None,
                 interval: float = 2.0) -> None:
        self.model_dir = model_dir
        self.pinned = version
        self.store = store
        self.interval = interval
        self.current: Recommender | None = None
        self.error: str | None = "not loaded yet"
        self._failed: tuple[str, tuple[tuple[str, int, int], ...]] | None = None
        self._refresh_lock = threading.Lock()

    def refresh(self) -> bool:
        """Load the wanted version if it is not the current one; True when it swapped."""
        from recommender.registry import resolve_version

        with self._refresh_lock:
            try:
                wanted = resolve_version(self.model_dir, self.pinned)
            except RecommenderError as exc:
                return self._failure(exc)
            if self.current is not None and self.current.version == wanted:
                self.error = None
                return False
            files = self._files(wanted)
            if self._failed == (wanted, files):
                return False
            try:
                fresh = Recommender.load(self.model_dir, wanted, self.store)
                fresh.warm()
            except RecommenderError as exc:
                self._failed = (wanted, files)
                return self._failure(exc)
            self.current, self.error, self._failed = fresh, None, None
            return True

    def _failure(self, exc: RecommenderError) -> bool:
        self.error = str(exc)
        if self.current is not None:
            log.warning("keeping model %s: %s", self.current.version, exc)
        return False

    def watch(self, stop: threading.Event) -> None:
        """Refresh every `interval` seconds until `stop` is set (a pinned version never changes)."""
        while not stop.wait(self.interval):
            if self.pinned is None or self.current is None:
                self.refresh()

    def masked(self, message: str) -> str:
        """`message` with the model directory's absolute path replaced by MODEL_DIR, and any
        other absolute path by its last component."""
        for root in sorted({str(self.model_dir.absolute()), str(self.model_dir.resolve())}, key=len,
                           reverse=True):
            message = message.replace(root, "MODEL_DIR")
        return _ABSOLUTE.sub(lambda match: match["name"], message)

    def _files(self, version: str) -> tuple[tuple[str, int, int], ...]:
        """What a version folder holds (names, sizes, modification times): a change means retry."""
        try:
            entries = sorted(os.scandir(self.model_dir / version), key=lambda e: e.name)
            return tuple((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries)
        except OSError:
            return ()
