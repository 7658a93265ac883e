"""Pure shaping of what the pages show: bars, figure tables, crawl runs, a library by status."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kitsu_ingest.domain import LIBRARY_STATUSES

__all__ = ["Bar", "FigureRow", "FiguresTable", "bars", "duration", "figures_table", "library_by_status", "number",
           "plan_label", "run_summary", "version_rows"]


@dataclass(frozen=True)
class Bar:
    """One labelled count, with its share of the total and its width against the largest (%)."""

    label: str
    value: float
    share: float
    width: float


def bars(counts: Mapping[str, float]) -> list[Bar]:
    """The counts as bars, in the mapping's order."""
    total = sum(v for v in counts.values() if v > 0)
    top = max((v for v in counts.values() if v > 0), default=0)
    return [Bar(str(k), v, 100 * v / total if total else 0.0, 100 * v / top if top and v > 0 else 0.0)
            for k, v in counts.items()]


def library_by_status(entries: Sequence[tuple[int, str]]) -> dict[str, int]:
    """A user's entries counted by status (Kitsu's statuses first, in Kitsu's order)."""
    counted = Counter(status for _, status in entries)
    ordered = {s: counted.pop(s, 0) for s in LIBRARY_STATUSES}
    return ordered | dict(sorted(counted.items()))


@dataclass(frozen=True)
class FigureRow:
    name: str
    values: list[float | None]
    best: list[bool]
    chosen: bool
    width: float
    """The primary metric's bar width against the best row's (%)."""


@dataclass(frozen=True)
class FiguresTable:
    metrics: list[str]
    rows: list[FigureRow]
    primary: str

    @property
    def digits(self) -> list[int]:
        """Decimals of each column: counts (users scored) have none."""
        return [0 if m == "users" else 4 for m in self.metrics]


def figures_table(figures: Mapping[str, Mapping[str, float]], primary: str, chosen: str) -> FiguresTable:
    """Test figures of the model and every baseline: one row each (best primary first), the best of
    each metric marked."""
    metrics = sorted({m for row in figures.values() for m in row}, key=lambda m: (m != primary, m))
    names = sorted(figures, key=lambda n: -_score(figures[n], primary))
    best = {m: max((_score(figures[n], m) for n in names), default=-math.inf) for m in metrics}
    top = best.get(primary, 0.0)
    rows = []
    for name in names:
        values = [_finite(figures[name].get(m)) for m in metrics]
        marks = [v is not None and v == best[m] and m != "users" for v, m in zip(values, metrics)]
        mine = max(_score(figures[name], primary), 0.0)
        rows.append(FigureRow(name, values, marks, name == chosen, 100 * mine / top if top > 0 else 0.0))
    return FiguresTable(metrics, rows, primary)


def _score(figures: Mapping[str, Any], metric: str) -> float:
    """A figure to rank by: -inf when it is missing or not finite."""
    value = _finite(figures.get(metric))
    return -math.inf if value is None else value


def _finite(value: Any, default: float | None = None) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else default


def number(value: Any, digits: int = 0) -> str:
    """1234567 -> "1,234,567"; floats with `digits` decimals; None and NaN -> "-"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.{digits}f}" if digits or isinstance(value, float) else f"{value:,}"


def duration(seconds: float | None) -> str:
    """Seconds as "45 s", "12 min 5 s", "3 h 20 min" or "2 d 4 h"; None -> "-"."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def plan_label(plan: Mapping[str, Any]) -> str:
    """A crawl plan in a few words: "sample of 5,000", "all users since 2024-01-01", "given users"."""
    if plan.get("everyone"):
        words = "all users"
    elif plan.get("sample"):
        words = f"sample of {number(plan['sample'])}"
    else:
        words = "given users"
    return f"{words} since {str(plan['since'])[:10]}" if plan.get("since") else words


def run_summary(status: Mapping[str, Any], errors: Mapping[str, int]) -> dict[str, Any]:
    """One crawl run's line: `status` is `CrawlStatus.as_dict()`, `errors` its crawl_errors by kind."""
    progress = status.get("progress", {})
    plan = status.get("plan", {})
    states = status.get("users_by_state", {})
    total = max(int(progress.get("users_total") or 0), int(progress.get("site_users") or 0),
                sum(v for k, v in states.items() if k != "touched"))
    done = int(states.get("done", progress.get("users_done", 0)) or 0)
    return {
        "run_id": status.get("run_id"), "status": status.get("status"), "alive": bool(status.get("alive")),
        "started_at": status.get("started_at"), "finished_at": status.get("finished_at"),
        "heartbeat_at": status.get("heartbeat_at"),
        "plan": plan_label(plan),
        "users_total": total, "users_done": done, "users_failed": int(states.get("failed", 0) or 0),
        "users_missing": int(states.get("missing", 0) or 0),
        "percent": min(100.0, 100 * done / total) if total else 0.0,
        "entries": progress.get("entries", 0), "requests": progress.get("requests", 0),
        "users_per_second": progress.get("users_per_second"), "entries_per_second": progress.get("entries_per_second"),
        "requests_per_user": progress.get("requests_per_user"), "eta_seconds": progress.get("eta_seconds"),
        "elapsed": progress.get("elapsed"), "retries": dict(progress.get("retries") or {}),
        "anomalies": dict(progress.get("anomalies") or {}), "errors": dict(errors),
    }


def version_rows(listed: Sequence[Mapping[str, Any]], served: str | None) -> list[dict[str, Any]]:
    """The registry's versions (`list_models`), newest first: version, creation, family, the test
    figure of the primary metric, whether it is served or latest, and the error of an unreadable card."""
    from recommender.evaluation.metrics import PRIMARY_METRIC, metric_key

    rows = []
    for card in reversed(listed):
        k = card.get("config", {}).get("k", 10)
        primary = metric_key(PRIMARY_METRIC, int(k)) if isinstance(k, int) else f"{PRIMARY_METRIC}@10"
        test = card.get("metrics", {}).get("test", {}).get(card.get("family", ""), {})
        rows.append({"version": card["version"], "created_at": str(card.get("created_at", ""))[:19].replace("T", " "),
                     "family": card.get("family", "-"), "primary": primary, "value": _finite(test.get(primary)),
                     "served": card["version"] == served, "latest": bool(card.get("latest")),
                     "error": card.get("error")})
    return rows
