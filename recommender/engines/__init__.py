"""Engines that fit a model elsewhere than in this process, and bring it back in the project's format.

    master          Spark master URLs (local, standalone, YARN, Kubernetes) and whether they answer
    spark           Spark MLlib's implicit ALS on a Parquet export, back as the project's ALS model
    spark_training  `recommend train --engine spark`: the training pipeline with Spark's ALS
"""

from kitsu_ingest.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_MASTER": "master", "Master": "master", "MasterUnreachable": "master", "check_reachable": "master",
    "parse_master": "master", "yarn_endpoints": "master",
    "EngineMissing": "spark", "check_engine": "spark", "fit_als": "spark", "require_spark": "spark",
    "spark_regularization": "spark", "spark_session": "spark",
    "SparkSettings": "spark_training", "spark_configuration": "spark_training", "train_on_spark": "spark_training",
    "train_on_spark_and_save": "spark_training",
}

__all__, __getattr__ = lazy_exports(__name__, _EXPORTS)
