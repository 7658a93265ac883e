"""Typed, lazily loaded exports (lazy_loader reads this stub; mypy and editors too)."""

from .master import (
    DEFAULT_MASTER as DEFAULT_MASTER,
)
from .master import (
    Master as Master,
)
from .master import (
    MasterUnreachable as MasterUnreachable,
)
from .master import (
    check_reachable as check_reachable,
)
from .master import (
    parse_master as parse_master,
)
from .master import (
    yarn_endpoints as yarn_endpoints,
)
from .spark import (
    EngineMissing as EngineMissing,
)
from .spark import (
    check_engine as check_engine,
)
from .spark import (
    fit_als as fit_als,
)
from .spark import (
    require_spark as require_spark,
)
from .spark import (
    spark_regularization as spark_regularization,
)
from .spark import (
    spark_session as spark_session,
)
from .spark_training import (
    SparkSettings as SparkSettings,
)
from .spark_training import (
    spark_configuration as spark_configuration,
)
from .spark_training import (
    train_on_spark as train_on_spark,
)
from .spark_training import (
    train_on_spark_and_save as train_on_spark_and_save,
)

__all__ = ["DEFAULT_MASTER", "EngineMissing", "Master", "MasterUnreachable", "SparkSettings", "check_engine",
    "check_reachable", "fit_als", "parse_master", "require_spark", "spark_configuration", "spark_regularization",
    "spark_session", "train_on_spark", "train_on_spark_and_save", "yarn_endpoints"]
