from __future__ import annotations

import signal
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from kitsu_ingest.store import make_engine, metadata
from kitsu_ingest.store.migrate import current_revision, downgrade, head_revision, upgrade


def test_upgrade_head_matches_the_models_then_downgrade_base_empties(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


KILLED_AFTER_FIRST_TABLE = """
import os, signal, sys
from alembic.operations import Operations
from kitsu_ingest.store import make_engine
from kitsu_ingest.store.migrate import upgrade

create_table = Operations.create_table

def create_then_die(self, name, *args, **kwargs):
    table = create_table(self, name, *args, **kwargs)
    if name == "segment_runs":  # the first of migration 0002's two tables
        os.kill(os.getpid(), signal.SIGKILL)
    return table

Operations.create_table = create_then_die
upgrade(make_engine(sys.argv[1]))
"""


def test_a_migration_killed_half_way_leaves_nothing_and_upgrades_later(store_url: str) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0001")
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_TABLE, store_url], capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert current_revision(engine) == "0001"
    assert "segment_runs" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
