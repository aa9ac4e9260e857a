"""filter choice and stats indexes

Revision ID: 0002
Revises: 0001
The board's filter menus (distinct values within a tab) and the stats read indexes, not the table.

Create Date: 2026-11-26 06:11:20.336359
"""

from __future__ import annotations

from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


FILTERS = ("subsystem", "material", "assigned", "status")


def upgrade() -> None:
    for name in FILTERS:
        op.create_index(f"ix_part_category_{name}", "part", ["category", name])
    # Covers the stats query: grouped counts and amounts without reading the table.
    op.create_index("ix_part_stats", "part", ["category", "status", "type", "assigned", "amount"])


def downgrade() -> None:
    op.drop_index("ix_part_stats", "part")
    for name in FILTERS:
        op.drop_index(f"ix_part_category_{name}", "part")
