"""`kitsu-ingest segment-users` end to end, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from kitsu_ingest.cli import main
from kitsu_ingest.segment.store import load_cluster_labels
from kitsu_ingest.store import make_engine, upsert
from kitsu_ingest.store.migrate import upgrade
from kitsu_ingest.store.models import User


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _run(*args: str) -> object:
    return CliRunner().invoke(main, ["segment-users", *args])


def test_end_to_end_json_plots_and_store(small_store: Engine, tmp_path: Path) -> None:
    out = tmp_path / "plots"
    args = ["--database-url", _url(small_store), "--k", "2..4", "--features", "svd,categories,status",
            "--out-dir", str(out), "--seed", "3", "--json"]
    result = _run(*args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["users"] == 150 and report["excluded"] > 0
    assert sum(report["tiers"].values()) == 150 - report["excluded"]
    assert [row["k"] for row in report["sweep"]] == [2, 3, 4]
    assert set(report["sweep"][0]) >= {"inertia", "silhouette", "davies_bouldin"}
    assert report["k"] in (2, 3, 4) and len(report["profiles"]) == report["k"]
    assert report["notes"][0].startswith(f"k={report['k']} has the best silhouette")
    assert sum(p["size"] for p in report["profiles"]) == report["clustered"]
    assert {p.name for p in out.iterdir()} == {"tiers_pairplot.png", "k_sweep.png", "clusters_pca.png"}
    labels = load_cluster_labels(small_store)
    assert labels is not None and labels.run_id == report["run_id"]
    assert len(labels.user_ids) == report["clustered"]
    again = _run(*args, "--no-plots")  # same seed, same clusters
    assert again.exit_code == 0, again.output
    relabels = load_cluster_labels(small_store)
    assert relabels is not None and relabels.run_id == report["run_id"] + 1
    assert relabels.labels.tolist() == labels.labels.tolist()


def test_summary_is_printed(tmp_path: Path, rows: SimpleNamespace) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    upgrade(engine)
    rows.fill(engine, 60)
    result = _run("--database-url", _url(engine), "--k", "3", "--no-plots", "--bins", "quantile")
    assert result.exit_code == 0, result.output
    for text in ("Left out", "Engagement tiers", "KMeans sweep", "Clusters", "done in"):
        assert text in result.stdout


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'bad.db'}")
    upgrade(engine)
    return engine


@pytest.mark.parametrize(("args", "message"), [
    (["--bins", "deciles"], "unknown bin rule 'deciles'"),
    (["--features", "svd,pca"], "unknown feature block 'pca'"),
    (["--k", "1..3"], "--k '1..3'"),
])
def test_bad_options(sqlite_store: Engine, args: list[str], message: str) -> None:
    result = _run("--database-url", _url(sqlite_store), *args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {result.stderr.strip()[7:]}"]
    assert message in result.stderr


def test_empty_store_says_crawl_first(sqlite_store: Engine) -> None:
    result = _run("--database-url", _url(sqlite_store))
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: the store has no users: crawl first (`kitsu-ingest crawl`)"


def test_no_libraries_and_k_larger_than_users(sqlite_store: Engine, rows: SimpleNamespace) -> None:
    upsert(sqlite_store, User.__table__, [rows.user(1, 10, 1), rows.user(2, 20, 0)])
    result = _run("--database-url", _url(sqlite_store), "--no-plots")
    assert result.exit_code == 2 and "no library entries to cluster" in result.stderr
    rows.fill(sqlite_store, 12)
    result = _run("--database-url", _url(sqlite_store), "--no-plots", "--k", "2..40")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "k=40 is more than the" in result.stderr


@pytest.mark.parametrize("args", [
    ["--dims", "-3"], ["--dims", "0"], ["--dims", "100000"], ["--sample-silhouette", "5"], ["--fit-sample", "-1"],
    ["--seed", "-1"], ["--seed", str(2**32)], ["--threads", "0"],
])
def test_numeric_options_are_range_checked_before_anything_is_stored(
    sqlite_store: Engine, rows: SimpleNamespace, args: list[str]
) -> None:
    rows.fill(sqlite_store, 12)
    result = _run("--database-url", _url(sqlite_store), "--no-plots", "--k", "2", *args)
    assert result.exit_code == 2 and f"Invalid value for '{args[0]}'" in result.stderr
    assert "Traceback" not in result.output and load_cluster_labels(sqlite_store) is None


def test_options_from_python_are_checked_too(sqlite_store: Engine) -> None:
    from kitsu_ingest.errors import ConfigError
    from kitsu_ingest.segment import FeatureSpec, SegmentOptions, segment_users

    for spec, message in [(FeatureSpec(dims=-3), "--dims"), (FeatureSpec(seed=-1), "--seed")]:
        with pytest.raises(ConfigError, match=message):
            segment_users(sqlite_store, SegmentOptions(features=spec, out_dir=None))


def test_plots_are_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    from kitsu_ingest.segment import plots
    from kitsu_ingest.segment.clusters import SweepRow

    table = [SweepRow(k=2, inertia=10.0, silhouette=0.5, davies_bouldin=1.0, seconds=0.1)]
    target = tmp_path / "k_sweep.png"
    target.write_bytes(b"the previous plot")

    def dies_half_way(self: Figure, path: Path, **kwargs: object) -> None:
        Path(path).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", dies_half_way)
    with pytest.raises(OSError):
        plots.sweep_plot(target, table, 2)
    assert target.read_bytes() == b"the previous plot" and [p.name for p in tmp_path.iterdir()] == [target.name]
    monkeypatch.undo()
    assert plots.sweep_plot(target, table, 2) == target
    assert target.read_bytes().startswith(b"\x89PNG") and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_the_cluster_table_prints_crawled_titles_without_their_escape_sequences(small_store: Engine,
                                                                               tmp_path: Path) -> None:
    from sqlalchemy import update

    from kitsu_ingest.store.models import Anime

    with small_store.begin() as conn:
        conn.execute(update(Anime).values(canonical_title="Evil \x1b]0;owned\x07 [bold]x"))  # type: ignore[arg-type]
    result = _run("--database-url", _url(small_store), "--k", "2", "--no-plots", "--out-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout  # the escape character itself
    assert "\\x1b]0;owned\\x07" in result.stdout and "[bold]x" in result.stdout  # shown, markup and all
