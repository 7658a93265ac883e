"""The live view of a search: per family, the trials done and pruned and the best figure so far,
and for the whole search the time left.

It is fed by Optuna's trial callback (`on_trial(study, trial)`, after each trial of this worker,
complete or pruned): a trial's family is its `family` parameter, else that of the rows it scored
(its user attributes), else the one family seen so far (a search of one family, or the grid, has
no `family` parameter). The time left is the budget's; with a trial count instead, the trials left
at the mean pace so far.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recommender.evaluation.metrics import PRIMARY_METRIC

__all__ = ["FamilyProgress", "SearchView"]


@dataclass
class FamilyProgress:
    """One family's trials so far."""

    done: int = 0
    pruned: int = 0
    best: float | None = None


class SearchView:
    """A live table fed by Optuna's trial callback (`on_trial`); silent when not shown."""

    def __init__(self, console: Any, *, seconds: float | None, trials: int | None, show: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.seconds = seconds
        self.trials = trials
        self.show = show
        self.done = self.pruned = 0
        self.best: tuple[float, str] | None = None
        self.families: dict[str, FamilyProgress] = {}
        self.key = f"{PRIMARY_METRIC}@?"
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()  # trials of several workers call back from their threads
        self._live: Any = None

    def __enter__(self) -> SearchView:
        if self.show:
            from rich.live import Live

            self._live = Live(self, console=self.console, transient=True, refresh_per_second=2)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    def on_trial(self, _study: Any, trial: Any) -> None:
        """Optuna's callback after each trial (complete or pruned)."""
        rows = trial.user_attrs.get("rows", [])
        pruned = trial.state.name == "PRUNED"
        with self._lock:
            family = str(trial.params.get("family") or (rows[0]["family"] if rows else self._only_family()))
            progress = self.families.setdefault(family, FamilyProgress())
            progress.done += 1
            progress.pruned += pruned
            self.done += 1
            self.pruned += pruned
            if rows:
                self.key = next((k for k in rows[0] if k.startswith(f"{PRIMARY_METRIC}@")), self.key)
                value = max(float(r.get(self.key, float("-inf"))) for r in rows)
                if progress.best is None or value > progress.best:
                    progress.best = value
                if self.best is None or value > self.best[0]:
                    self.best = (value, family)
        if self._live is not None:
            self._live.refresh()

    def _only_family(self) -> str:
        return next(iter(self.families)) if len(self.families) == 1 else "?"

    def seconds_left(self) -> float | None:
        """The budget's seconds left; with a trial count, the trials left at the pace so far."""
        elapsed = self._clock() - self._started
        left = []
        if self.seconds:
            left.append(max(0.0, self.seconds - elapsed))
        if self.trials and self.done:
            left.append(max(0, self.trials - self.done) * elapsed / self.done)
        return min(left) if left else None

    def __rich__(self) -> Any:
        """What the live view shows now: a line for the search, a row per family."""
        from rich.console import Group
        from rich.table import Table

        with self._lock:
            left = self.seconds_left()
            total = f" of {self.trials}" if self.trials else ""
            line = (f"search: {self.done}{total} trials ({self.pruned} pruned)"
                    + (f", best {self.best[0]:.4f} ({self.best[1]})" if self.best else "")
                    + (f", {left:.0f} s left" if left is not None else ""))
            table = Table(box=None, pad_edge=False)
            for column in ("family", "trials", "pruned", f"best {self.key}"):
                table.add_column(column, justify="left" if column == "family" else "right")
            for family, progress in sorted(self.families.items()):
                table.add_row(family, str(progress.done), str(progress.pruned),
                              "-" if progress.best is None else f"{progress.best:.4f}")
        return Group(line, table) if self.families else line

    def summary(self) -> str:
        """This worker's trials, in a few words (after the search)."""
        each = ", ".join(f"{family} {p.done}" for family, p in sorted(self.families.items()))
        return f"{self.done} trials here, {self.pruned} pruned" + (f" ({each})" if each else "")
