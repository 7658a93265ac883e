"""`kitsu-ingest segment-users`: engagement tiers and behavioural clusters of every user."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from kitsu_ingest.clikit import database_option
from kitsu_ingest.segment.limits import MAX_DIMS, MAX_SEED, MIN_SAMPLE

__all__ = ["segment_users"]


@click.command("segment-users")
@database_option
@click.option("--bins", default="equal", show_default=True, metavar="equal|quantile",
              help="Tier bins: equal-width (the study's pd.cut) or tertiles.")
@click.option("--k", "k_text", default="2..12", show_default=True, metavar="K|LO..HI|K1,K2",
              help="Number(s) of clusters to sweep; the best silhouette is kept.")
@click.option("--features", "features_text", default="svd", show_default=True,
              metavar="svd[,categories,status]", help="Feature blocks for the clustering.")
@click.option("--dims", type=click.IntRange(1, MAX_DIMS), default=16, show_default=True,
              help="TruncatedSVD dimensions.")
@click.option("--sample-silhouette", type=click.IntRange(MIN_SAMPLE), default=5000, show_default=True,
              help="Users in the (seeded) silhouette sample.")
@click.option("--fit-sample", type=click.IntRange(MIN_SAMPLE), default=100_000, show_default=True,
              help="Users KMeans is fitted on (all users are then labelled).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=0, show_default=True,
              help="Seed of every sample and fit.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1),
              help="Threads for the k sweep (1 is fastest on a busy 2-core machine).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports/segments"), show_default=True, help="Folder for the PNGs.")
@click.option("--no-plots", is_flag=True, help="Skip the PNGs.")
@click.option("--json", "as_json", is_flag=True, help="Print tier counts and the cluster table as JSON.")
def segment_users(database_url: str | None, bins: str, k_text: str, features_text: str, dims: int,
                  sample_silhouette: int, fit_sample: int, seed: int, threads: int, out_dir: Path,
                  no_plots: bool, as_json: bool) -> None:
    """Cut users into engagement tiers and cluster them by behaviour; store both per user.

    Tiers: interaction_score = ln(lifeSpentOnAnime + 1.25 ratingsCount + 1.5 favoritesCount) for
    users with time spent or ratings, cut into low / medium / high. Clusters: KMeans on an SVD
    embedding of the libraries (optionally category affinity and status mix), k chosen by a sweep.
    """
    from kitsu_ingest.segment.clusters import parse_k
    from kitsu_ingest.segment.features import FeatureSpec, parse_features
    from kitsu_ingest.segment.run import SegmentOptions
    from kitsu_ingest.segment.run import segment_users as run
    from kitsu_ingest.settings import get_settings
    from kitsu_ingest.store.migrate import open_store

    spec = FeatureSpec(blocks=parse_features(features_text), dims=dims, seed=seed)
    options = SegmentOptions(bins=bins, ks=parse_k(k_text), features=spec,
                             silhouette_sample=sample_silhouette, fit_sample=fit_sample,
                             out_dir=None if no_plots else out_dir, threads=threads)
    engine = open_store(get_settings(database_url=database_url).database_url)
    try:
        report = _with_progress(lambda progress: run(engine, options, progress), quiet=as_json)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=_plain))
        return
    _print_summary(report)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else str(value)


def _with_progress(work: Any, *, quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=quiet) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return work(progress)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def _print_summary(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from kitsu_ingest.terminal import rich_text

    console = Console()
    console.print(f"[bold]Segmentation run {report.run_id}[/]: {report.users:,} users, "
                  f"{report.entries:,} library entries and favourites")
    kept = report.users - report.excluded
    console.print(f"Left out {report.excluded:,} users with no time spent and no ratings; "
                  f"{kept:,} in tiers ({report.params['bins']} bins, edges "
                  + ", ".join(f"{e:.2f}" for e in report.edges) + ")")
    tiers = Table(title="Engagement tiers")
    for col in ("tier", "users", "share"):
        tiers.add_column(col, justify="right" if col != "tier" else "left")
    for name, n in report.tiers.items():
        tiers.add_row(name, f"{n:,}", f"{n / max(kept, 1):.1%}")
    console.print(tiers)
    sweep = Table(title=f"KMeans sweep on {report.clustered:,} users with a library "
                        f"(chosen k = {report.k}, best silhouette)")
    for col in ("k", "inertia", "silhouette", "Davies-Bouldin", "seconds"):
        sweep.add_column(col, justify="right")
    for row in report.sweep:
        mark = " *" if row.k == report.k else ""
        sweep.add_row(f"{row.k}{mark}", f"{row.inertia:,.0f}", _fmt(row.silhouette, ".3f"),
                      _fmt(row.davies_bouldin, ".3f"), f"{row.seconds:.1f}")
    console.print(sweep)
    for note in report.notes:
        console.print(f"- {note}")
    prof = Table(title="Clusters")
    for col in ("cluster", "users", "median entries", "completed / planned / dropped",
                "most characteristic anime"):
        prof.add_column(col, justify="right" if col in ("cluster", "users", "median entries") else "left")
    for p in report.profiles:
        mix = p["status_mix"]
        prof.add_row(str(p["cluster"]), f"{p['size']:,}", f"{p['median_entries']:.0f}",
                     f"{mix['completed']:.0%} / {mix['planned']:.0%} / {mix['dropped']:.0%}",
                     "; ".join(rich_text(a["title"]) for a in p["top_anime"][:3]))
    console.print(prof)
    for path in report.plots:
        console.print(f"wrote {path}")
    timing = ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
    console.print(f"done in {sum(report.seconds.values()):.1f}s ({timing})")
