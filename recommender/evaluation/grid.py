"""The hyperparameter grid and its search: every configuration scored on validation.

The iterations axis costs nothing extra: each (transform, bm25, factors, regularization, alpha)
is fitted once to the largest iteration count and evaluated at every listed count on the way.
Configurations run concurrently (implicit's solver releases the GIL), BLAS pinned to one thread.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender._toml import read_toml
from recommender.errors import ConfigFileError
from recommender.events import TRANSFORMS

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from recommender.split import Split

__all__ = ["DEFAULT_GRID", "Grid", "grid_dict", "load_grid", "search"]


@dataclass(frozen=True)
class Grid:
    """Values to try on each axis; `transform` and `bm25` shape the confidence matrix."""

    factors: tuple[int, ...] = (16, 32, 64, 128, 256)
    regularization: tuple[float, ...] = (0.003, 0.03, 0.3, 3.0, 30.0)
    iterations: tuple[int, ...] = (5, 10, 20, 35, 50)
    alpha: tuple[float, ...] = (1.0, 10.0, 40.0)
    transform: tuple[str, ...] = ("linear", "log")
    bm25: tuple[bool, ...] = (False,)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            _check_axis(name, value)

    def fits(self) -> list[dict[str, Any]]:
        """One dict per fit (every axis but iterations), iterations set to the largest."""
        axes = ("transform", "bm25", "factors", "regularization", "alpha")
        combos = itertools.product(*(getattr(self, a) for a in axes))
        return [{**dict(zip(axes, c)), "iterations": max(self.iterations)} for c in combos]

    def size(self) -> int:
        return len(self.fits()) * len(self.iterations)

    def override(self, **axes: Sequence[Any] | None) -> Grid:
        """This grid with the given non-None axes replaced."""
        return replace(self, **{k: tuple(v) for k, v in axes.items() if v is not None})


_KINDS: dict[str, Callable[[Any], bool]] = {
    "factors": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    "regularization": lambda v: _number(v) and v >= 0,
    "iterations": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    "alpha": lambda v: _number(v) and v > 0,
    "transform": lambda v: v in TRANSFORMS,
    "bm25": lambda v: isinstance(v, bool),
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_axis(name: str, values: Any) -> None:
    if name not in _KINDS:
        raise ConfigFileError(f"unknown grid axis {name!r}; axes are {', '.join(_KINDS)}")
    if not isinstance(values, tuple | list) or not values:
        raise ConfigFileError(f"grid axis {name!r} must be a non-empty list")
    bad = [v for v in values if not _KINDS[name](v)]
    if bad:
        raise ConfigFileError(f"grid axis {name!r} has invalid value {bad[0]!r}")


DEFAULT_GRID = Grid()


def load_grid(path: str | Path, base: Grid = DEFAULT_GRID) -> Grid:
    """A grid from a TOML file of axis = [values] (flat or under `[grid]`); absent axes keep
    `base`'s values. A scalar stands for a one-value list."""
    source = Path(path)
    document = read_toml(source, "grid")
    table = document.get("grid", document)
    axes = {k: v if isinstance(v, list) else [v] for k, v in table.items()}
    for name, values in axes.items():
        try:
            _check_axis(name, values)
        except ConfigFileError as exc:
            raise ConfigFileError(f"{source}: {exc}") from None
    if "regularization" in axes or "alpha" in axes:
        axes = {k: [float(x) for x in v] if k in ("regularization", "alpha") else v
                for k, v in axes.items()}
    return base.override(**axes)


def _threads(workers: int) -> tuple[int, int]:
    cores = os.cpu_count() or 1
    workers = max(1, min(workers or cores, cores))
    return workers, max(1, cores // workers)


def search(
    split: Split,
    grid: Grid,
    *,
    k: int = 10,
    seed: int = 0,
    workers: int = 0,
    confidence: Callable[[csr_matrix, str, bool], csr_matrix] | None = None,
    on_fit: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Fit every configuration on `split.train`, score it on `split.validation`.

    Returns one row per (configuration, iteration count): its parameters, validation metrics
    (keys like "ndcg@10") and fit_seconds (fitting time to that iteration count). `workers`
    configurations run at once (0: one per core), each ALS using cores // workers threads.
    `on_fit` is called after each finished fit (a progress bar's hook).
    """
    from recommender.als import fit_als
    from recommender.baselines import FactorScorer
    from recommender.evaluation import EvalSet, evaluate
    from recommender.events import apply_confidence

    confidence = confidence or apply_confidence
    eval_set = EvalSet(split.train, split.validation)
    matrices = {
        (t, b): confidence(split.train, t, b) for t in grid.transform for b in grid.bm25
    }
    workers, threads = _threads(workers)

    def run(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []

        def checkpoint(n: int, model: Any, seconds: float) -> None:
            scorer = FactorScorer(model.user_factors, model.item_factors)
            metrics = evaluate(scorer, eval_set, k)
            rows.append({**params, "iterations": n, **metrics, "fit_seconds": seconds})

        matrix = matrices[(params["transform"], params["bm25"])]
        fit_als(matrix, params, checkpoints=grid.iterations, on_checkpoint=checkpoint,
                seed=seed, num_threads=threads)
        return rows

    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, params) for params in grid.fits()]
        for future in as_completed(futures):
            results.extend(future.result())
            if on_fit is not None:
                on_fit()
    results.sort(key=lambda r: tuple(str(r[a]) for a in ("transform", "bm25")) +
                 tuple(r[a] for a in ("factors", "regularization", "alpha", "iterations")))
    return results


def grid_dict(grid: Grid) -> dict[str, list[Any]]:
    """The grid as plain lists (for JSON)."""
    return {k: list(v) for k, v in asdict(grid).items()}

