"""Serving a saved model: one user's top N, similar anime, every user's top N, HTTP, live fetch.

    recommender   Recommender: a saved model and the catalogue it answers from (fold-in, explain, fallback)
    catalogue     the store for a store's model, the model's own training rows for a file's
    check         a model answers through the serving path before it is saved
    batch         top N for every user of a model, into a Parquet file
    refresh       users folded into a new version without retraining
    http          the HTTP JSON API's routes and schemas (FastAPI; `recommender.webapp` composes the app)
    holder        the model a server answers with, reloaded live when a newer one is saved
    server        uvicorn for the API, with a deadline for a request's headers
    fetch         crawl a user missing from the store, so they can be folded in
"""

from kitsu_ingest.lazy import lazy_exports

_EXPORTS = {
    "FALLBACK": "recommender", "FOLDED_IN": "recommender", "MODEL": "recommender", "BrokenModel": "recommender",
    "Contribution": "recommender", "NotFound": "recommender", "Recommendation": "recommender",
    "Recommender": "recommender", "SimilarResult": "recommender", "UserResult": "recommender",
    "is_finite": "recommender",
    "BatchSummary": "batch", "exclusions_from_store": "batch", "recommend_all": "batch", "top_n_all": "batch",
    "exclusions_from_history": "batch", "ModelHolder": "holder", "make_server": "server", "run_server": "server",
    "fetch_user": "fetch",
}

__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
