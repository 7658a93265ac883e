"""One interface for every model: fit, score, recommend, similar, save and load.

A model is fitted on a users x items matrix (confidences for ALS, strengths or mere presence for
the others) and scores every item for rows of that matrix; higher is better. Evaluation, search,
serving and batch see only this interface; ranking goes through `recommender.ranking`.

    model = make_model("itemknn").fit(train)
    columns, scores = model.recommend(np.array([0, 1]), n=10, exclusions=Exclusions.from_matrix(train))
    model.save(folder); same = type(model).load(folder)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recommender.errors import RecommenderError
from recommender.ranking import Exclusions, top_n, top_n_row

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy.sparse import csr_matrix

__all__ = ["Model", "Unsupported", "with_rows"]


class Unsupported(RecommenderError):
    """The model cannot do this (e.g. item similarity for popularity): a question the served
    model's family cannot answer (HTTP 400)."""

    http_status = 400


class Model(ABC):
    """A recommender over the rows (users) and columns (items) of the matrix it was fitted on."""

    family: ClassVar[str]
    """The name the factory knows it by, and the stem of its saved file."""

    @abstractmethod
    def fit(self, matrix: csr_matrix) -> Model:
        """Fit on a users x items matrix; returns self."""

    @abstractmethod
    def score(self, users: NDArray[np.int64]) -> NDArray[np.float32]:
        """Dense scores (len(users) x items) for rows of the fitted matrix; nothing is masked."""

    @property
    @abstractmethod
    def n_items(self) -> int:
        """Columns of the fitted matrix."""

    @property
    def n_users(self) -> int | None:
        """Rows of the fitted matrix, for a model that keeps something per user (else None)."""
        return None

    def recommend(self, users: NDArray[np.int64], n: int, exclusions: Exclusions | None = None) -> tuple[
            NDArray[np.int64], NDArray[np.float32]]:
        """(columns, scores), users x n, best first; -1 / -inf where fewer than n remain.

        `exclusions` has one row per user of `users`, in that order.
        """
        scores = np.asarray(self.score(np.asarray(users, np.int64)), np.float32)
        if exclusions is not None:
            exclusions.mask(scores)
        columns, values = top_n(scores, n)
        columns[~np.isfinite(values)] = -1
        return columns, values

    def fold_in(self, row: csr_matrix) -> NDArray[np.float32]:
        """Scores of every item for a user the model was not fitted on, from their row (1 x items)
        of the matrix it was fitted on; Unsupported for a model that cannot."""
        raise Unsupported(f"a {self.family} model cannot fold in a new user")

    def with_users(self, rows: csr_matrix, at: NDArray[np.int64]) -> Model:
        """A copy in which the users at positions `at` (-1: a new user, appended in order) are
        folded in again from `rows` of the matrix it was fitted on, all else held fixed (what
        `recommend refresh` does); Unsupported for a model that cannot."""
        raise Unsupported(f"a {self.family} model cannot fold users in")

    def explain(self, row: csr_matrix, columns: Any, n: int = 3) -> list[list[tuple[int, float]]]:
        """For each recommended column, the `n` columns of `row` that account most for its score."""
        raise Unsupported(f"a {self.family} model cannot explain its recommendations")

    def item_vectors(self) -> NDArray[np.float32]:
        """A vector per item whose cosine is the model's item similarity (Unsupported if none)."""
        raise Unsupported(f"a {self.family} model has no item similarity")

    def similar(self, item: int, n: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The `n` items most similar to column `item` (by cosine of `item_vectors`), best first."""
        normed = self.normed_items()
        return top_n_row(normed @ normed[item], n, [item])

    def normed_items(self) -> NDArray[np.float32]:
        """`item_vectors` scaled to unit length (computed once)."""
        cached: NDArray[np.float32] | None = getattr(self, "_normed", None)
        if cached is None:
            vectors = np.asarray(self.item_vectors(), np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            cached = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
            self._normed: NDArray[np.float32] | None = cached
        return cached

    @abstractmethod
    def arrays(self) -> dict[str, Any]:
        """What `save` writes: named arrays and scalars (no pickles)."""

    @classmethod
    @abstractmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> Model:
        """The model `arrays` describes (the inverse of `arrays`)."""

    def save(self, folder: Path) -> Path:
        """Write the model to `folder/<family>.npz` (numpy's format, no pickles)."""
        path = Path(folder) / f"{self.family}.npz"
        np.savez(path, **self.arrays())
        return path

    @classmethod
    def load(cls, folder: Path) -> Model:
        """Read a model saved by `save` into `folder`; RecommenderError if unreadable."""
        import zipfile

        path = Path(folder) / f"{cls.family}.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: (v.item() if v.shape == () else v) for k, v in data.items()}
            return cls.from_arrays(arrays)
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise RecommenderError(f"the saved model {path} is unreadable (corrupt or truncated): {exc}") from None


def with_rows(matrix: csr_matrix, rows: csr_matrix, at: NDArray[np.int64]) -> csr_matrix:
    """`matrix` with its rows at positions `at` replaced by `rows` (in order), and the rows whose
    position is -1 appended (in order)."""
    from scipy.sparse import vstack

    count, new = matrix.shape[0], at < 0
    order = np.arange(count + int(new.sum()))
    order[at[~new]] = count + np.flatnonzero(~new)
    order[count:] = count + np.flatnonzero(new)
    return vstack([matrix, rows.astype(matrix.dtype)], format="csr")[order]
