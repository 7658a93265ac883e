"""Typed, lazily loaded exports: lazy_loader reads this stub at import time, mypy and editors too."""

from .master import DEFAULT_MASTER, Master, MasterUnreachable, check_reachable, parse_master, yarn_endpoints
from .spark import EngineMissing, check_engine, fit_als, require_spark, spark_regularization, spark_session
from .spark_training import SparkSettings, spark_configuration, train_on_spark, train_on_spark_and_save

__all__ = [
    "DEFAULT_MASTER",
    "EngineMissing",
    "Master",
    "MasterUnreachable",
    "SparkSettings",
    "check_engine",
    "check_reachable",
    "fit_als",
    "parse_master",
    "require_spark",
    "spark_configuration",
    "spark_regularization",
    "spark_session",
    "train_on_spark",
    "train_on_spark_and_save",
    "yarn_endpoints",
]
