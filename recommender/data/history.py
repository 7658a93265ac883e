"""What a model trained on a file carries so that it can be served with no Kitsu store: each
training user's items (their strengths, the rows the model was refitted on, over its own rows and
columns) and, when the user gave an items file, the items' names.

    MODEL_DIR/<version>/history.npz   CSR arrays: data (strengths), indices, indptr, shape
    MODEL_DIR/<version>/items.json    {"titles": {item key: name}}   (only with --items)

A store's model carries neither: the store is its history (fresher than any copy) and its titles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.errors import RecommenderError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

__all__ = ["HISTORY_FILE", "ITEMS_FILE", "TrainingHistory"]

HISTORY_FILE = "history.npz"
ITEMS_FILE = "items.json"


@dataclass(frozen=True)
class TrainingHistory:
    """The training users' rows (strengths over the model's columns) and optional item names."""

    matrix: csr_matrix
    titles: Mapping[str, str] = field(default_factory=dict)
    """Item key (as text) -> name; empty when no items file was given."""

    def save(self, folder: Path) -> None:
        """Write history.npz (and items.json when there are titles) into `folder`."""
        m = self.matrix
        np.savez(folder / HISTORY_FILE, data=np.asarray(m.data, np.float32), indices=np.asarray(m.indices, np.int32),
                 indptr=np.asarray(m.indptr, np.int64), shape=np.asarray(m.shape, np.int64))
        if self.titles:
            (folder / ITEMS_FILE).write_text(json.dumps({"titles": dict(self.titles)}, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> TrainingHistory | None:
        """The history saved in `folder`, None if it has none; RecommenderError if it is damaged."""
        import zipfile

        from scipy.sparse import csr_matrix

        path = folder / HISTORY_FILE
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as arrays:
                matrix = csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                    shape=tuple(int(s) for s in arrays["shape"]))
            titles: dict[str, str] = {}
            if (folder / ITEMS_FILE).exists():
                document: Any = json.loads((folder / ITEMS_FILE).read_bytes())
                titles = {str(k): str(v) for k, v in dict(document["titles"]).items()}
        except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise RecommenderError(f"the model's training history in {folder} is unreadable (corrupt or "
                                   f"truncated): {reason}") from None
        return cls(matrix, titles)
