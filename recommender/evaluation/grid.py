"""The hyperparameter grid: values to try on each axis (the confidence transform and ALS's
parameters), from defaults, a TOML file or options."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from recommender._toml import read_toml
from recommender.data.events import CONFIDENCE_PARAMS, TRANSFORMS
from recommender.errors import ConfigFileError
from recommender.models.als import ALS_PARAMS

__all__ = ["DEFAULT_GRID", "PARAMS", "Grid", "load_grid"]

PARAMS = CONFIDENCE_PARAMS + ALS_PARAMS
"""Every parameter a configuration sets: the grid's axes, the results' and the model card's keys."""


@dataclass(frozen=True)
class Grid:
    """Values to try on each axis; `transform` and `bm25` shape the confidence matrix."""

    # Dense where ALS's best sits on public benchmarks (regularization 30, alpha 1, 256 factors,
    # 50 iterations), by half-decades where the figure changes fastest: 144 fits, each scored at
    # every iteration count (432 configurations), 0.6 times the cost of the earlier, decade-wide
    # grid of 108 fits to 100 iterations that skipped that region (issue 21).
    factors: tuple[int, ...] = (64, 128, 256, 512)
    regularization: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
    iterations: tuple[int, ...] = (10, 20, 50)
    alpha: tuple[float, ...] = (0.3, 1.0, 3.0)
    transform: tuple[str, ...] = ("linear", "log")
    bm25: tuple[bool, ...] = (False,)

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            _check_axis(name, value)

    def fits(self) -> list[dict[str, Any]]:
        """One dict per fit (every axis but iterations), iterations set to the largest."""
        axes = [a for a in PARAMS if a != "iterations"]
        combos = itertools.product(*(getattr(self, a) for a in axes))
        return [{**dict(zip(axes, c)), "iterations": max(self.iterations)} for c in combos]

    def size(self) -> int:
        return len(self.fits()) * len(self.iterations)

    @classmethod
    def single(cls, params: Mapping[str, Any]) -> Grid:
        """A grid of one configuration."""
        return cls(**{k: (params[k],) for k in PARAMS})

    def override(self, **axes: Sequence[Any] | None) -> Grid:
        """This grid with the given non-None axes replaced."""
        return replace(self, **{k: tuple(v) for k, v in axes.items() if v is not None})


MAX_FACTORS = 4096
"""The most factors an ALS fit may have: its time grows as their square (2,048 factors took 48 s
an iteration on one shared core, on Last.fm's 19.5k users and artists)."""
MAX_ITERATIONS = 1000
MAX_STRENGTH = 1e6
"""The largest regularization or alpha (larger ones leave ALS's factors at zero, or overflow)."""

_KINDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "factors": (lambda v: _whole(v) and 1 <= v <= MAX_FACTORS, f"whole numbers from 1 to {MAX_FACTORS}"),
    "regularization": (lambda v: _number(v) and 0 < v <= MAX_STRENGTH, f"numbers above 0, at most {MAX_STRENGTH:g}"),
    "iterations": (lambda v: _whole(v) and 1 <= v <= MAX_ITERATIONS, f"whole numbers from 1 to {MAX_ITERATIONS}"),
    "alpha": (lambda v: _number(v) and 0 < v <= MAX_STRENGTH, f"numbers above 0, at most {MAX_STRENGTH:g}"),
    "transform": (lambda v: v in TRANSFORMS, " or ".join(TRANSFORMS)),
    "bm25": (lambda v: isinstance(v, bool), "true or false"),
}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_axis(name: str, values: Any) -> None:
    if name not in _KINDS:
        raise ConfigFileError(f"unknown grid axis {name!r}; axes are {', '.join(_KINDS)}")
    if not isinstance(values, tuple | list) or not values:
        raise ConfigFileError(f"grid axis {name!r} must be a non-empty list")
    valid, described = _KINDS[name]
    bad = [v for v in values if not valid(v)]
    if bad:
        raise ConfigFileError(f"grid axis {name!r} has invalid value {bad[0]!r} ({name}: {described})")


DEFAULT_GRID = Grid()


def load_grid(path: str | Path, base: Grid = DEFAULT_GRID) -> Grid:
    """A grid from a TOML file of axis = [values] (flat or under `[grid]`); absent axes keep
    `base`'s values. A scalar stands for a one-value list."""
    source = Path(path)
    document = read_toml(source, "grid")
    table = document.get("grid", document)
    if not isinstance(table, dict):
        raise ConfigFileError(f"{source}: `grid` must be a table of axis = [values], not {type(table).__name__}")
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
