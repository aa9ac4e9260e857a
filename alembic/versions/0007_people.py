"""people: personal sign-in, roles, personal keys and kiosk sessions

Revision ID: 0007
Revises: 0006
A person signs in with a name and password (argon2) or is picked at a kiosk; API keys may belong
to a person (their role) or carry an integration's role; a browser session belongs to a key, a
person or both (aerie_app/services/people.py, aerie_app/permissions.py).

Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from aerie_app.models import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", S(length=100), nullable=False),
        sa.Column("name_key", S(length=100), nullable=False),
        sa.Column("role", S(length=12), nullable=False),
        sa.Column("password_hash", S(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sessions_valid_after", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_person_name_key"), "person", ["name_key"], unique=True)
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("role", S(length=12), nullable=True))
        batch.create_index(batch.f("ix_api_key_person_id"), ["person_id"], unique=False)
        batch.create_foreign_key(
            "fk_api_key_person_id_person", "person", ["person_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("ui_session") as batch:
        batch.alter_column("api_key_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_ui_session_person_id"), ["person_id"], unique=False)
        batch.create_foreign_key(
            "fk_ui_session_person_id_person", "person", ["person_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("ui_session") as batch:
        batch.drop_constraint("fk_ui_session_person_id_person", type_="foreignkey")
        batch.drop_index(batch.f("ix_ui_session_person_id"))
        batch.drop_column("person_id")
    op.execute("DELETE FROM ui_session WHERE api_key_id IS NULL")
    with op.batch_alter_table("ui_session") as batch:
        batch.alter_column("api_key_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("api_key") as batch:
        batch.drop_constraint("fk_api_key_person_id_person", type_="foreignkey")
        batch.drop_index(batch.f("ix_api_key_person_id"))
        batch.drop_column("role")
        batch.drop_column("person_id")
    op.drop_index(op.f("ix_person_name_key"), table_name="person")
    op.drop_table("person")
