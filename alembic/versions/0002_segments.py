"""segments: segmentation runs and per-user tiers and clusters (kitsu-ingest segment-users)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:56:05.169591
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('segment_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('bins', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('k', sa.Integer(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('user_segments',
    sa.Column('run_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('interaction_score', sa.Float(), nullable=True),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('cluster', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('run_id', 'user_id')
    )


def downgrade() -> None:
    op.drop_table('user_segments')
    op.drop_table('segment_runs')
