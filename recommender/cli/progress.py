"""The live view of a search: trials done and pruned, the best so far, and the time left."""

from __future__ import annotations

import time
from typing import Any

from recommender.evaluation.metrics import PRIMARY_METRIC

__all__ = ["SearchView"]


class SearchView:
    """A rich progress line fed by Optuna's trial callback (`on_trial`); silent when not shown."""

    def __init__(self, console: Any, *, seconds: float | None, trials: int | None, show: bool = True) -> None:
        self.console = console
        self.seconds = seconds
        self.trials = trials
        self.show = show
        self.done = self.pruned = 0
        self.best: tuple[float, str] | None = None
        self._progress: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> SearchView:
        if self.show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("search"), BarColumn(), TextColumn("{task.fields[status]}"),
                                      TimeElapsedColumn(), console=self.console, transient=True)
            self._task = self._progress.add_task("search", total=self.seconds or self.trials, status="starting")
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def on_trial(self, _study: Any, trial: Any) -> None:
        """Optuna's callback after each trial (complete or pruned)."""
        self.done += 1
        self.pruned += trial.state.name == "PRUNED"
        rows = trial.user_attrs.get("rows", [])
        if rows:
            key = next(k for k in rows[0] if k.startswith(f"{PRIMARY_METRIC}@"))
            value = max(r[key] for r in rows)
            if self.best is None or value > self.best[0]:
                self.best = (value, str(rows[0]["family"]))
        if self._progress is None:
            return
        elapsed = time.monotonic() - self._started
        left = f", {max(0.0, self.seconds - elapsed):.0f} s left" if self.seconds else ""
        best = f", best {self.best[0]:.4f} ({self.best[1]})" if self.best else ""
        self._progress.update(self._task, completed=elapsed if self.seconds else self.done,
                              status=f"{self.done} trials ({self.pruned} pruned){best}{left}")

    def summary(self) -> str:
        return f"{self.done} trials here, {self.pruned} pruned"
