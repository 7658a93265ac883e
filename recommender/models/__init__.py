"""Models behind one interface (`Model`: fit, score, recommend, similar, save, load) and one
factory by name.

    base                 the interface; `Unsupported` for what a model cannot do
    als                  implicit's ALS (the model that is tuned, saved and served)
    baselines            popularity, random
    itemknn              item-item nearest neighbours (BM25 or cosine)
    ease                 EASE, a closed-form item-item model
    cluster_popularity   the most popular items in the user's behavioural cluster
    factory              `make_model(name, ...)`, `load_model_file(family, folder)`
"""

from kitsu_ingest.lazy import lazy_exports

_EXPORTS = {
    "Model": "base", "Unsupported": "base",
    "ALS": "als", "ALS_PARAMS": "als", "blas_single_thread": "als",
    "Popularity": "baselines", "Random": "baselines",
    "ItemKNN": "itemknn",
    "EASE": "ease",
    "ClusterPopularity": "cluster_popularity",
    "BASELINES": "factory", "FAMILIES": "factory", "make_model": "factory", "model_class": "factory",
}

__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
