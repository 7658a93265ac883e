"""The exceptions the recommender raises on purpose.

    KitsuIngestError (kitsu_ingest.errors)   the CLIs print its message in one line and exit 2
    └── RecommenderError                     anything about recommender input the user can fix (HTTP 503;
                                             NotFound 404, BadRequest and Unsupported 400)
        ├── DataError                        interactions missing, empty, too few to split
        ├── ConfigFileError                  an invalid weights or grid file
        └── ModelNotFoundError               no saved model under the model directory
"""

from __future__ import annotations

from typing import ClassVar

from kitsu_ingest.errors import KitsuIngestError

__all__ = ["ConfigFileError", "DataError", "ModelNotFoundError", "RecommenderError"]


class RecommenderError(KitsuIngestError):
    """An error with a message fit to show the user as it is; `http_status` is what the API answers
    with it (503: the server cannot answer now; subclasses say 400 or 404)."""

    http_status: ClassVar[int] = 503


class DataError(RecommenderError):
    """The interactions cannot be used (missing columns, empty, too little to split)."""


class ConfigFileError(RecommenderError):
    """A weights or grid file is unreadable or invalid."""


class ModelNotFoundError(RecommenderError):
    """The model directory holds no such model."""
