"""review pins

Revision ID: 0006
Revises: 0005
A reviewer's numbered notes on a part's 3D model, a checklist a maker ticks before the part can
be completed (aerie_app/services/pins.py).

Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aerie_app.models import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "review_pin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("note", S(length=200), nullable=False),
        sa.Column("point", sa.JSON(), nullable=True),
        sa.Column("normal", sa.JSON(), nullable=True),
        sa.Column("body", S(length=200), nullable=True),
        sa.Column("face", sa.Integer(), nullable=True),
        sa.Column("sha256", S(length=64), nullable=True),
        sa.Column("created_by", S(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ticked_by", S(length=200), nullable=True),
        sa.Column("ticked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["part_id"], ["part.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("part_id", "number"),
    )
    op.create_index(op.f("ix_review_pin_part_id"), "review_pin", ["part_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_pin_part_id"), table_name="review_pin")
    op.drop_table("review_pin")
