"""drawing jobs

Revision ID: 0009
Revises: 0008
Onshape drawing exports are queued in the database instead of one process's memory: every web
worker answers the same about a part's export, and ``python -m aerie_app worker`` can run them
(aerie_app/services/drawings.py).

Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aerie_app.models import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "drawing_job",
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("part_uuid", S(length=36), nullable=False),
        sa.Column("url", S(length=1000), nullable=False),
        sa.Column("state", S(length=10), nullable=False),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("queued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("retry_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["part_id"], ["part.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("part_id"),
    )


def downgrade() -> None:
    op.drop_table("drawing_job")
