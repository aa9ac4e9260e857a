"""throttle events shared by all workers

Revision ID: 0003
Revises: 0002
Failed-key attempts (and /auth/check probes) per client, counted by every worker process alike
(aerie_app/services/throttle.py). Working state, not data: backups leave the table out.

Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=16), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_throttle_event_lookup", "throttle_event", ["bucket", "client", "at"])


def downgrade() -> None:
    op.drop_index("ix_throttle_event_lookup", "throttle_event")
    op.drop_table("throttle_event")
