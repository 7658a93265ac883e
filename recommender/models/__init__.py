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

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
