"""Spark's local mode for the tests: one session for the whole run (the JVM starts once, in about
ten seconds), quiet, on loopback; and small synthetic interactions with taste groups.

Spark needs pyspark (the `dev` extra installs it) and Java 17+ (`.ci/run` installs Debian's
default-jre-headless where there is none). Deselect these tests with `-m "not spark"`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

MASTER = "local[2]"


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one Spark session of the test run; the engine reuses it (same master)."""
    from recommender.engines.master import parse_master
    from recommender.engines.spark import spark_session

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    with spark_session(parse_master(MASTER), app="kitsu-recs-tests") as session:
        yield session


def synthetic(users: int = 300, items: int = 80, groups: int = 4, seed: int = 0) -> pd.DataFrame:
    """Users mostly holding the items of their taste group, with statuses (columns uid, anime, status)."""
    rng = np.random.default_rng(seed)
    statuses = np.array(["completed", "current", "planned", "on_hold", "dropped"])
    taste = rng.integers(0, groups, users)
    inside = (np.arange(items)[None, :] % groups) == taste[:, None]
    held = rng.random((users, items)) < np.where(inside, 0.35, 0.03)
    rows, columns = np.nonzero(held)
    return pd.DataFrame({"uid": [f"u{r}" for r in rows], "anime": 1000 + columns,
                         "status": statuses[rng.integers(0, 5, len(rows))]})


def run(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `recommend ARGS` in this process."""
    from recommender.cli import main

    outcome = CliRunner().invoke(main, list(args))
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    return outcome.exit_code, outcome.stdout, outcome.stderr


def one_error_line(code: int, err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
