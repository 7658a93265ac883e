"""Interactions and how they are made: event strengths, files, the store, splits.

    events        statuses and favourites -> strengths; confidence transforms; weights files
    interactions  Interactions: a users x items CSR of strengths with its id maps
    files         CSV/TSV/Parquet files of interactions
    store         the one reader of the kitsu-ingest store
    sources       a file or the store, and its description in a model card
    splits        seeded holdout, leave-k-out and temporal splits
    ids           ids from text (parse_id), user text in messages (shown), positions in id arrays
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
