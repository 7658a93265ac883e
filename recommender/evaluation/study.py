"""A search's Optuna study: in memory, or in a database that several `recommend train` workers share
(`--storage postgresql+psycopg://... --study NAME`), on one machine or many.

A shared study remembers what it searches (the data's fingerprint, the metric, the split, the
families): a worker bringing other data or another metric is refused. Each worker marks itself
running, then done; the worker that finishes when no other is running claims the save, by
inserting the study's name into a one-row-per-study table (its primary key makes the claim atomic
on any database), so the best model is tested and saved exactly once.
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

    from recommender.evaluation.tuning import SearchConfig

__all__ = ["Worker", "connect_storage", "open_study"]

_CLAIMS = "kitsu_recs_study_saves"


def _masked(url: str) -> str:
    from kitsu_ingest.store.engine import describe_url

    try:
        return describe_url(url)
    except Exception:
        return "the storage URL"


def connect_storage(config: SearchConfig) -> Any:
    """Optuna's storage for `config.storage` (its tables made if missing), or None in memory;
    RecommenderError if it cannot be reached."""
    if config.storage is None:
        return None
    import time

    import optuna
    from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

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
    """This process as one worker of a study: running, then done; the last one done saves."""

    def __init__(self, study: optuna.Study, storage: str | None) -> None:
        self.study = study
        self.storage = storage
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._key = f"worker:{self.name}"

    def __enter__(self) -> Worker:
        if self.storage is not None:
            self.study.set_user_attr(self._key, "running")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.storage is not None:
            self.study.set_user_attr(self._key, "done")

    def others_running(self) -> list[str]:
        """The other workers still searching."""
        attrs = self.study.user_attrs
        return [k.removeprefix("worker:") for k, v in attrs.items()
                if k.startswith("worker:") and k != self._key and v == "running"]

    def claim_save(self) -> bool:
        """True for exactly one worker of a shared study (the first to claim once none is running);
        always True without storage."""
        if self.storage is None:
            return True
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
