"""`recommend export`: the confidence matrix as Parquet, partitioned by split part, for Spark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from recommender.cli.options import data_options, resolve
from recommender.data.events import TRANSFORMS
from recommender.data.splits import SPLITS
from recommender.evaluation.spaces import DEFAULTS

if TYPE_CHECKING:
    from recommender.data.interactions import Interactions

__all__ = ["export"]


def _interactions(url: str, interactions: Path | None, columns: dict[str, Any], weights_file: Path | None,
                  min_user_items: int, min_item_users: int, times: bool) -> Interactions:
    from recommender.data.events import load_weights
    from recommender.data.files import FileSpec
    from recommender.data.sources import load_interactions
    from recommender.data.store import StoreReader

    weights = load_weights(weights_file)
    if interactions is not None:
        return load_interactions(FileSpec(path=str(interactions), **columns), weights,
                                 min_user_items=min_user_items, min_item_users=min_item_users)
    store = StoreReader.open(url)
    try:
        return load_interactions(None, weights, store=store, times=times, min_user_items=min_user_items,
                                 min_item_users=min_item_users)
    finally:
        store.close()


@click.command("export")
@data_options
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="The export folder: missing, empty or an export of ours (default: MODEL_DIR/export).")
@click.option("--transform", type=click.Choice(TRANSFORMS), default=DEFAULTS["als"]["transform"], show_default=True,
              help="How strengths become confidences (as ALS's `transform`).")
@click.option("--split", "split_method", type=click.Choice(SPLITS), default="holdout", show_default=True)
@click.option("--test-fraction", type=float, default=0.2, show_default=True)
@click.option("--val-fraction", type=float, default=0.2, show_default=True)
@click.option("--leave-k", type=click.IntRange(1), default=1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the export's manifest as JSON.")
def export(database_url: str | None, interactions: Path | None, user_col: str, item_col: str,
           weight_col: str | None, status_col: str | None, time_col: str | None, weights_file: Path | None,
           min_user_items: int, min_item_users: int, model_dir: Path | None, out: Path | None, transform: str,
           split_method: str, test_fraction: float, val_fraction: float, leave_k: int, seed: int,
           as_json: bool) -> None:
    """Write the confidence matrix as Parquet, partitioned by the split's part (train, validation,
    test), with the id maps and a manifest: what `recommend train --engine spark` fits on (with the
    same transform and split it reuses this export). Written whole or not at all; left as it is
    when it already holds this data, confidence and split."""
    from recommender.data.export import ExportSettings, ensure_export, read_manifest
    from recommender.data.splits import make_split
    from recommender.protocol import TrainConfig

    url, directory = resolve(database_url, model_dir)
    folder = out or directory / "export"
    read_manifest(folder)  # a folder that is not ours is refused before any data is read
    columns = {"user_col": user_col, "item_col": item_col, "weight_col": weight_col, "status_col": status_col,
               "time_col": time_col}
    data = _interactions(url, interactions, columns, weights_file, min_user_items, min_item_users,
                         times=split_method == "temporal")
    config = TrainConfig(split=split_method, test_fraction=test_fraction, val_fraction=val_fraction,
                         leave_k=leave_k, seed=seed)
    split = make_split(data, config.split, **config.split_args())
    settings = ExportSettings(transform, {"method": config.split, **config.split_args()})
    manifest, written = ensure_export(folder, data, split, settings)
    if as_json:
        click.echo(json.dumps({**manifest, "path": str(folder), "written": written}, indent=2))
        return
    parts = ", ".join(f"{name} {part['rows']:,}" for name, part in manifest["parts"].items())
    what = "wrote" if written else "already up to date:"
    click.echo(f"{what} {folder}: {data.describe()} ({parts}), {transform} confidence, {split_method} split")
