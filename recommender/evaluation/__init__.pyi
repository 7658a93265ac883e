"""Typed, lazily loaded exports (lazy_loader reads this stub; mypy and editors too)."""

from .evaluator import EvalSet as EvalSet
from .evaluator import evaluate as evaluate
from .grid import (
    DEFAULT_GRID as DEFAULT_GRID,
)
from .grid import (
    PARAMS as PARAMS,
)
from .grid import (
    Grid as Grid,
)
from .grid import (
    grid_dict as grid_dict,
)
from .grid import (
    load_grid as load_grid,
)
from .grid import (
    params_of as params_of,
)
from .metrics import (
    METRIC_NAMES as METRIC_NAMES,
)
from .metrics import (
    METRICS as METRICS,
)
from .metrics import (
    PRIMARY_METRIC as PRIMARY_METRIC,
)
from .metrics import (
    Metric as Metric,
)
from .metrics import (
    auc_per_user as auc_per_user,
)
from .metrics import (
    metric_key as metric_key,
)
from .metrics import (
    ranking_per_user as ranking_per_user,
)
from .spaces import SEARCHABLE as SEARCHABLE
from .study import Worker as Worker
from .study import open_study as open_study
from .tuning import (
    CHECKPOINTS as CHECKPOINTS,
)
from .tuning import (
    Candidate as Candidate,
)
from .tuning import (
    SearchConfig as SearchConfig,
)
from .tuning import (
    SearchContext as SearchContext,
)
from .tuning import (
    fit_candidate as fit_candidate,
)
from .tuning import (
    rows_of as rows_of,
)
from .tuning import (
    run_search as run_search,
)
from .tuning import (
    sampler_and_pruner as sampler_and_pruner,
)

__all__ = [
    "CHECKPOINTS",
    "DEFAULT_GRID",
    "METRICS",
    "METRIC_NAMES",
    "PARAMS",
    "PRIMARY_METRIC",
    "SEARCHABLE",
    "Candidate",
    "EvalSet",
    "Grid",
    "Metric",
    "SearchConfig",
    "SearchContext",
    "Worker",
    "auc_per_user",
    "evaluate",
    "fit_candidate",
    "grid_dict",
    "load_grid",
    "metric_key",
    "open_study",
    "params_of",
    "ranking_per_user",
    "rows_of",
    "run_search",
    "sampler_and_pruner",
]
