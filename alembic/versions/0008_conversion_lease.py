"""conversion lease

Revision ID: 0008
Revises: 0007
A running conversion's process stamps its row every few seconds (``conversion_heartbeat_at``);
a job whose stamp stops moving is back in the queue within the lease (services/conversions.py),
not after the whole conversion timeout.

Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aerie_app.models import UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "part_file",
        sa.Column("conversion_heartbeat_at", UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("part_file") as batch:
        batch.drop_column("conversion_heartbeat_at")
