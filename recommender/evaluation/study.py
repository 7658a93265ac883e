"""A search's Optuna study: in memory, or in a database that several `recommend train` workers share
(`--storage postgresql+psycopg://... --study NAME`), on one machine or many.

A shared study lives in a database of its own (PostgreSQL, or SQLite on one machine), never in the
store: Optuna adds its tables, and its own alembic version, to the database it is given. It
remembers what it searches (the data's fingerprint, the metric, the split, the families): a worker
bringing other data or another metric is refused. Each worker marks itself running, and holds a
life lock (`lifelock`) that dies with its process; when done, it marks itself so, and if no other
worker is still running (a worker marked running whose lock is free has died: it is marked dead),
it claims the save, by inserting the study's name into a one-row-per-study table (its primary key
makes the claim atomic on any database), so the best model is tested and saved exactly once,
even when a worker was killed: by the last live worker, or by the next one to finish.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from recommender.errors import RecommenderError

if TYPE_CHECKING:
    import optuna

    from recommender.evaluation.lifelock import LifeLock
    from recommender.evaluation.tuning import SearchConfig

__all__ = ["Worker", "check_apart", "connect_storage", "open_study"]

_CLAIMS = "kitsu_recs_study_saves"


def _masked(url: str) -> str:
    from kitsu_ingest.store.engine import describe_url

    try:
        return describe_url(url)
    except Exception:
        return "the storage URL"


def _database(url: str) -> tuple[str, ...] | None:
    """What a URL's database is, whatever its driver, password, user or spelling of this machine:
    (backend, file) for SQLite, (backend, host, port, name) for a server; None for none or nonsense."""
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    backend = {"postgres": "postgresql"}.get(parsed.get_backend_name(), parsed.get_backend_name())
    if backend == "sqlite":
        name = (parsed.database or "").removeprefix("file:").split("?")[0]
        return None if name in ("", ":memory:") else (backend, str(Path(name).expanduser().resolve()))
    host = str(parsed.query.get("host") or parsed.host or "localhost").lower()
    local = host in ("localhost", "127.0.0.1", "::1", "[::1]") or host.startswith("/")
    port = parsed.port or {"postgresql": 5432, "mysql": 3306}.get(backend)
    return backend, "localhost" if local else host, str(port), parsed.database or parsed.username or ""


def check_apart(storage: str | None, store_url: str) -> None:
    """RecommenderError if a study's storage is the store's own database (Optuna's tables, and
    its alembic version, would land in the store)."""
    if storage is not None and _database(storage) is not None and _database(storage) == _database(store_url):
        raise RecommenderError(f"--storage {_masked(storage)} is the store's own database: a shared study "
                               "needs a database of its own (e.g. postgresql+psycopg://host/optuna or "
                               "sqlite:///optuna.db)")


def connect_storage(config: SearchConfig) -> Any:
    """Optuna's storage for `config.storage` (its tables made if missing), or None in memory;
    RecommenderError if it cannot be reached or cannot hold workers' life locks."""
    if config.storage is None:
        return None
    import time

    import optuna
    from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

    from recommender.evaluation.lifelock import BACKENDS

    database = _database(config.storage)
    if database is not None and database[0] not in BACKENDS:
        raise RecommenderError(f"cannot open the study storage {_masked(config.storage)}: a shared study "
                               "lives in PostgreSQL or SQLite")
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(config.storage, engine_kwargs={"pool_pre_ping": True})
        except (IntegrityError, ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.5 + attempt)  # another worker is creating the tables at the same moment
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise RecommenderError(f"cannot open the study storage {_masked(config.storage)}: {_reason(exc)}") from None
    return None


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_study(config: SearchConfig, identity: Mapping[str, Any], storage: Any = None) -> optuna.Study:
    """The study to search in: a new one in memory, or the named one in the storage (created if
    missing); RecommenderError if it searches something else."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    from recommender.evaluation.tuning import sampler_and_pruner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler, pruner = sampler_and_pruner(config)
    storage = storage if storage is not None else connect_storage(config)
    name = config.study or "recommend"
    if storage is None:
        return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner, study_name=name)
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction="maximize", sampler=sampler,
                                    pruner=pruner, load_if_exists=True)
        recorded = study.user_attrs.get("identity")
        if recorded is None:
            study.set_user_attr("identity", dict(identity))
    except SQLAlchemyError as exc:
        raise RecommenderError(f"cannot open the study {name!r} in {_masked(str(config.storage))}: "
                               f"{_reason(exc)}") from None
    if recorded is not None and recorded != dict(identity):
        differs = sorted(k for k in {*recorded, *identity} if recorded.get(k) != identity.get(k))
        raise RecommenderError(f"the study {name!r} in {_masked(str(config.storage))} searches other "
                               f"{', '.join(differs)}; choose another --study name")
    return study


class Worker:
    """This process as one worker of a study: running (holding its life lock), then done; the
    last live one done saves."""

    def __init__(self, study: optuna.Study, storage: str | None) -> None:
        self.study = study
        self.storage = storage
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._key = f"worker:{self.name}"
        self._lock: LifeLock | None = None

    def _lock_name(self, worker: str) -> str:
        return f"{self.study.study_name}:{worker}"

    def __enter__(self) -> Worker:
        if self.storage is not None:
            from recommender.evaluation.lifelock import LifeLock

            self._lock = LifeLock(self.storage, self._lock_name(self.name))
            self.study.set_user_attr(self._key, "running")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            try:
                self.study.set_user_attr(self._key, "done")
            finally:
                self._lock.release()

    def others_running(self) -> list[str]:
        """The other workers still searching; those marked running whose life lock is free have
        died, and are marked dead."""
        from recommender.evaluation.lifelock import is_alive

        assert self.storage is not None
        running = []
        for key, state in self.study.user_attrs.items():
            if not key.startswith("worker:") or key == self._key or state != "running":
                continue
            worker = key.removeprefix("worker:")
            if is_alive(self.storage, self._lock_name(worker)):
                running.append(worker)
            elif self.study.user_attrs.get(key) == "running":  # not done meanwhile
                self.study.set_user_attr(key, "dead")
        return running

    def claim_save(self) -> bool:
        """Mark this worker done; True for exactly one worker of a shared study (the first to claim
        once no other lives and runs); always True without storage. Call it inside the `with`."""
        if self.storage is None:
            return True
        self.study.set_user_attr(self._key, "done")
        if self.others_running():
            return False
        from sqlalchemy import Column, MetaData, String, Table, create_engine, insert
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError

        table = Table(_CLAIMS, MetaData(), Column("study", String(512), primary_key=True),
                      Column("worker", String(512), nullable=False))
        # One claim per round of trials: a later round (more trials) saves again.
        key = f"{self.study.study_name}#{len(self.study.get_trials(deepcopy=False))}"
        engine = create_engine(self.storage)
        try:
            try:
                table.create(engine, checkfirst=True)
            except SQLAlchemyError:
                pass  # another worker created it at the same moment
            with engine.begin() as conn:
                conn.execute(insert(table).values(study=key, worker=self.name))
            return True
        except IntegrityError:
            return False
        finally:
            engine.dispose()
