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

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
