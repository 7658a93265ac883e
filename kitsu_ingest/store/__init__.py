"""The SQL store: tables, engine, migrations (`alembic/`, shipped as `migrations/`), bulk upserts and counts.

Names load on first use: opening an engine (`kitsu_ingest.store.engine`) must not pay for the
SQLModel tables and alembic, which the read-only recommender never needs.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

from kitsu_ingest.store.upsert import upsert as upsert  # noqa: E402  (eager: the function shares its module's name)
