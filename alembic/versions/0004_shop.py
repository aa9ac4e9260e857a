"""geometry-aware shop: machines, stock, shop settings, fit per part, geometry changes

Revision ID: 0004
Revises: 0003
Machines and stock of the shop, its small settings (robot weight limit, "seeded" marker), which
machine can make which part (part_fit), and the columns the part gains: measured mass, stock
thickness, fit, stock match, duplicate geometry; a revision records what its geometry changed.
Plain ADD COLUMN (no batch copy of ``part``): the search triggers on it stay as they are.

Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
PART_COLUMNS = [
    sa.Column("measured_mass_g", sa.Float(), nullable=True),
    sa.Column("thickness_mm", sa.Float(), nullable=True),
    sa.Column("fit_status", sa.String(length=10), nullable=False, server_default="no_model"),
    sa.Column("fit_machines", sa.JSON(), nullable=True),
    sa.Column("fit_reason", S(length=500), nullable=True),
    sa.Column("stock_item_id", sa.Integer(), nullable=True),
    sa.Column("stock_label", S(length=200), nullable=True),
    sa.Column("stock_reason", S(length=500), nullable=True),
    sa.Column("duplicate_of", sa.Integer(), nullable=True),
    sa.Column("duplicate_ref", sa.JSON(), nullable=True),
]
PART_INDEXES = ("thickness_mm", "fit_status", "duplicate_of")
WEIGHT = ["subsystem", "amount", "mass_g", "measured_mass_g"]


def upgrade() -> None:
    op.create_table(
        "machine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", S(length=100), nullable=False),
        sa.Column("process", S(length=10), nullable=False),
        sa.Column("envelope_x_mm", sa.Float(), nullable=True),
        sa.Column("envelope_y_mm", sa.Float(), nullable=True),
        sa.Column("envelope_z_mm", sa.Float(), nullable=True),
        sa.Column("units", S(length=2), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("min_thickness_mm", sa.Float(), nullable=True),
        sa.Column("max_thickness_mm", sa.Float(), nullable=True),
        sa.Column("margin_mm", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "stock_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("material", S(length=60), nullable=False),
        sa.Column("thickness_mm", sa.Float(), nullable=False),
        sa.Column("kind", S(length=5), nullable=False),
        sa.Column("size_x_mm", sa.Float(), nullable=False),
        sa.Column("size_y_mm", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "shop_setting",
        sa.Column("key", S(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "part_fit",
        sa.Column("part_id", sa.Integer(), nullable=False),
        sa.Column("machine_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["part_id"], ["part.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["machine_id"], ["machine.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("part_id", "machine_id"),
    )
    op.create_index("ix_part_fit_machine", "part_fit", ["machine_id", "part_id"])
    for column in PART_COLUMNS:
        op.add_column("part", column)
    for name in PART_INDEXES:
        op.create_index(f"ix_part_{name}", "part", [name])
    op.add_column("part_file", sa.Column("geometry_change", sa.JSON(), nullable=True))
    # Covers the weight budget: grouped sums from the index alone.
    op.create_index("ix_part_weight", "part", WEIGHT)


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place, like PostgreSQL: no batch copy of ``part``.
    op.drop_index("ix_part_weight", "part")
    op.drop_column("part_file", "geometry_change")
    for name in PART_INDEXES:
        op.drop_index(f"ix_part_{name}", "part")
    for column in reversed(PART_COLUMNS):
        op.drop_column("part", column.name)
    op.drop_index("ix_part_fit_machine", "part_fit")
    op.drop_table("part_fit")
    op.drop_table("shop_setting")
    op.drop_table("stock_item")
    op.drop_table("machine")
