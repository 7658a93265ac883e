"""Engines that fit a model elsewhere than in this process, and bring it back in the project's format.

    master          Spark master URLs (local, standalone, YARN, Kubernetes) and whether they answer
    spark           Spark MLlib's implicit ALS on a Parquet export, back as the project's ALS model
    spark_training  `recommend train --engine spark`: the training pipeline with Spark's ALS
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
