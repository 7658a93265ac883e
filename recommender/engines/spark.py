"""Spark MLlib's implicit ALS on a Parquet export, back as the project's ALS model.

pyspark is an extra (`pip install "kitsu-recs[spark]"`), imported only here and only when used;
it needs Java 17 or newer. Both are checked (`require_spark`) before any work, as is the master
(`recommender.engines.master`), so each missing piece is one line.

Spark and implicit solve the same problem (Hu, Koren & Volinsky 2008) with two differences,
mapped so that one configuration (factors, regularization, alpha, iterations) means the same:

* confidence: implicit weighs an entry alpha * c (c: the project's confidence), Spark
  1 + alpha * |r| (preference 1 for r > 0, 0 for r < 0). Spark is given alpha 1 and
  r = sign(c) * max(alpha * |c| - 1, 1e-6): the same confidence alpha * |c| whenever that is at
  least 1 (every entry of the defaults), about 1 below it, with the same preference.
* regularization: implicit adds lambda * |x|^2 for every user and item; Spark (ALS-WR) adds
  regParam * n * |x|^2, n being that user's or item's count of positive entries. No regParam
  matches every one; `spark_regularization` matches the user of the average entry: regParam =
  lambda * sum(n) / sum(n^2) over users, so that Spark's penalty averaged over the entries' users
  is implicit's. Measured at lambda 30 / alpha 1, 64 factors, NDCG@10 on validation against
  implicit's: on 300k entries of 3,460 generated Kitsu users (bench/sitestore.py), 0.129 against
  0.137, where matching the average user (lambda * users / sum(n)) scored 0.077 and the penalty
  summed over users and items 0.001; on Last.fm's 82k plays, where the two user mappings nearly
  agree (0.037 and 0.038 x lambda), 0.198 against 0.189. At lambda 0.3 / alpha 10 the mappings
  scored within 0.012 of each other (Last.fm: Spark 0.158, implicit 0.148).

Spark's factors come back keyed by row and column of the export; a row or column Spark never
saw (no entry in the parts fitted) gets zero factors, as implicit gives it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender.engines.master import Master, check_reachable, parse_master
from recommender.errors import RecommenderError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from pyspark.sql import DataFrame, SparkSession

    from recommender.models.als import ALS

__all__ = ["INSTALL", "JAVA_MAJOR", "EngineMissing", "check_engine", "fit_als", "require_spark",
           "spark_regularization", "spark_session"]

INSTALL = 'pip install "kitsu-recs[spark]"'
JAVA_MAJOR = 17
"""The oldest Java that Spark 4 runs on."""
_FLOOR = 1e-6
_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""
"""Spark's log configuration unless the user has one (SPARK_CONF_DIR): errors only. pyspark's gateway
logger at the root's level keeps Spark from announcing (and setting) a shell log level of its own."""


class EngineMissing(RecommenderError):
    """What the Spark engine needs (pyspark, Java) is not installed."""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def _java_major(java: str) -> int | None:
    """The major version `java -version` reports (8 for "1.8.0_392", 17 for "17.0.15")."""
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if match is None:
        return None
    major = int(match[1])
    return int(match[2] or 0) if major == 1 else major


def require_spark() -> None:
    """EngineMissing (naming what to install) unless pyspark 4+ and Java 17+ are here."""
    try:
        import pyspark
    except ImportError:
        raise EngineMissing(f"the Spark engine needs pyspark: {INSTALL}") from None
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    if int(pyspark.__version__.split(".")[0]) < 4:
        raise EngineMissing(f"the Spark engine needs pyspark 4 or newer (this is {pyspark.__version__}): {INSTALL}")
    java = _java()
    where = "JAVA_HOME" if os.environ.get("JAVA_HOME") else "PATH"
    if java is None:
        raise EngineMissing(f"the Spark engine needs Java {JAVA_MAJOR} or newer and there is no java on {where}: "
                            "install one (Debian: apt-get install default-jre-headless) or set JAVA_HOME")
    major = _java_major(java)
    if major is None or major < JAVA_MAJOR:
        raise EngineMissing(f"the Spark engine needs Java {JAVA_MAJOR} or newer; {java} is "
                            f"{'unusable' if major is None else f'Java {major}'}: install a newer one "
                            "(Debian: apt-get install default-jre-headless) or set JAVA_HOME")


def check_engine(master_url: str) -> Master:
    """Everything that can be checked before data is loaded: the master URL, pyspark, Java, and
    that the master answers. Returns the master."""
    master = parse_master(master_url)
    require_spark()
    check_reachable(master)
    return master


@contextmanager
def spark_session(master: Master, app: str = "kitsu-recs") -> Iterator[SparkSession]:
    """A Spark session on `master`, stopped at the end; a session already running in this
    process on the same master is used as it is (and left running)."""
    require_spark()
    check_reachable(master)
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    if running is not None:
        if running.sparkContext.master != master.url:
            raise RecommenderError(f"this process already runs a Spark session on {running.sparkContext.master}, "
                                   f"not {master.url}")
        yield running
        return
    with tempfile.TemporaryDirectory(prefix="kitsu-spark-") as scratch:
        builder = SparkSession.builder.master(master.url).appName(app).config("spark.ui.showConsoleProgress", "false")
        if not os.environ.get("SPARK_CONF_DIR"):  # quiet, unless the user configures logging
            (Path(scratch) / "log4j2.properties").write_text(_LOG4J)
            builder = builder.config("spark.driver.extraJavaOptions",
                                     f"-Dlog4j2.configurationFile={Path(scratch) / 'log4j2.properties'}")
        if master.local:
            builder = (builder.config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                       .config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.sql.shuffle.partitions", str(2 * (os.cpu_count() or 1))))
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start: one line, not py4j's traceback
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise RecommenderError(f"Spark did not start on {master.url}: {reason}") from None
        try:
            session.sparkContext.setLogLevel("ERROR")
            if master.local:
                session.sparkContext.setCheckpointDir(str(Path(scratch) / "checkpoints"))
            yield session
        finally:
            session.stop()


def spark_regularization(regularization: float, positives: int, squares: int) -> float:
    """Spark's regParam for implicit's `regularization`, from the users' counts n of positive
    entries (`positives` = sum(n), `squares` = sum(n^2)): averaged over the entries, the penalty
    of each entry's user is implicit's."""
    return float(regularization) * positives / max(squares, 1)


def _factors(frame: DataFrame, n: int, rank: int) -> NDArray[np.float32]:
    """Spark's (id, features) rows as an n x rank array; ids Spark has no factors for get zeros."""
    import numpy as np

    table = frame.toArrow()
    ids = table.column("id").to_numpy()
    values = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    out = np.zeros((n, rank), np.float32)
    out[ids] = np.asarray(values, np.float32).reshape(len(ids), rank)
    return out


def fit_als(session: SparkSession, export: Path, manifest: Mapping[str, Any], parts: Sequence[str],
            params: Mapping[str, Any], *, seed: int = 0) -> ALS:
    """Spark's implicit ALS fitted on `parts` of the export (`recommender.data.export`), as the
    project's ALS model with `params` (implicit's meaning) and Spark's factors."""
    from pyspark.ml.recommendation import ALS as SparkALS
    from pyspark.sql import functions as F

    from recommender.models.als import ALS, ALS_PARAMS

    users, items = (int(n) for n in manifest["shape"])
    rank, alpha = int(params["factors"]), float(params["alpha"])
    confidence = F.col("confidence")
    rating = F.signum(confidence) * F.greatest(F.abs(confidence) * alpha - 1.0, F.lit(_FLOOR))
    frame = (session.read.parquet((Path(export) / "matrix").resolve().as_uri())
             .where(F.col("part").isin(list(parts))).select("user", "item", rating.alias("rating")))
    started = time.perf_counter()
    counts = frame.where(F.col("rating") > 0).groupBy("user").count()
    positives, squares = counts.agg(F.sum("count"), F.sum(F.col("count") * F.col("count"))).first() or (0, 0)
    blocks = max(1, session.sparkContext.defaultParallelism)
    solver = SparkALS(rank=rank, maxIter=int(params["iterations"]), implicitPrefs=True, alpha=1.0,
                      regParam=spark_regularization(params["regularization"], int(positives or 0), int(squares or 0)),
                      userCol="user", itemCol="item", ratingCol="rating", seed=seed,
                      numUserBlocks=blocks, numItemBlocks=blocks)
    fitted = solver.fit(frame)
    user_factors, item_factors = _factors(fitted.userFactors, users, rank), _factors(fitted.itemFactors, items, rank)
    model = ALS.from_arrays({"user_factors": user_factors, "item_factors": item_factors, "random_state": seed,
                             **{k: params[k] for k in ALS_PARAMS}})
    model.fit_seconds = time.perf_counter() - started
    return model
