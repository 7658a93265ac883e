"""Recommendations from implicit feedback (Kitsu libraries and favourites, or any CSV/Parquet).

The package import stays light (`recommend --help` must be fast): the public names below are
loaded on first use from their modules. The house, by concern:

    recommender.data        interactions from the store or a file; event strengths; splits
    recommender.models      one model interface (ALS, popularity, item-kNN, random, cluster
                            popularity) and a factory by name
    recommender.ranking     the one top-N kernel
    recommender.evaluation  metrics, a model evaluated on held-out items, the grid and its search
    recommender.training    the pipeline: search on validation, test against baselines, refit, save
    recommender.registry    saved models and their typed, versioned model cards
    recommender.reports     the results CSV and heatmap saved beside a model
    recommender.serving     top N, similar, fold-in, explain, batch, HTTP, live fetch
    recommender.cli         the `recommend` command: options, tables, progress; nothing else
"""

import lazy_loader

from kitsu_ingest import __version__

__getattr__, __dir__, _names = lazy_loader.attach_stub(__name__, __file__)
__all__ = ["__version__", *(n for n in _names if n != "__version__")]
