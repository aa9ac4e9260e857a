"""Aerie's tables and enums: Part, PartEvent, PartFile, ApiKey, UiSession; throttle_event."""

from __future__ import annotations

import enum
import uuid as uuid_lib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, timezone-aware UTC. Always called per row: the old app froze timestamps at import time."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class PartType(enum.StrEnum):
    CNC = "cnc"
    HAND = "hand"
    MISC = "misc"


class Category(enum.StrEnum):
    REVIEW = "review"
    CNC = "cnc"
    HAND = "hand"
    MISC = "misc"
    COMPLETED = "completed"


class Status(enum.StrEnum):
    PENDING = "Pending"
    REVIEWED = "Reviewed"
    IN_PROGRESS = "In Progress"
    ALREADY_STARTED = "Already Started"
    COMPLETED = "Completed"


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        order = [Scope.READ, Scope.WRITE, Scope.ADMIN]
        return order.index(self) >= order.index(needed)


class ConversionStatus(enum.StrEnum):
    NONE = "none"  # nothing to convert (PDF)
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


def _dt_column(*, nullable: bool = False, index: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class Part(SQLModel, table=True):
    __tablename__ = "part"
    # A tab's filter menus ask for the distinct values of these within one category.
    __table_args__ = (
        *(
            sa.Index(f"ix_part_category_{name}", "category", name)
            for name in ("subsystem", "material", "assigned", "status")
        ),
        # Covers the stats query (services/stats.py): grouped counts without reading the table.
        sa.Index("ix_part_stats", "category", "status", "type", "assigned", "amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(
        default_factory=lambda: str(uuid_lib.uuid4()), max_length=36, unique=True, index=True
    )
    type: str | None = Field(default=None, max_length=8, index=True)
    material: str = Field(max_length=200, index=True)
    material_thickness: str | None = Field(default=None, max_length=100)
    part_id: str = Field(max_length=100, index=True)
    name: str = Field(default="", max_length=200, index=True)
    subsystem: str = Field(max_length=200, index=True)
    assigned: str | None = Field(default=None, max_length=200, index=True)
    status: str = Field(default=Status.PENDING.value, max_length=20, index=True)
    category: str = Field(default=Category.REVIEW.value, max_length=12, index=True)
    amount: int = Field(default=1, ge=1)
    quantity_done: int = Field(default=0, ge=0)
    notes: str | None = Field(default=None, max_length=5000)
    onshape_url: str | None = Field(default=None, max_length=1000)
    file: str | None = Field(default=None, max_length=255)
    claimed_date: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))
    completed_at: datetime | None = Field(
        default=None, sa_column=_dt_column(nullable=True, index=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column(index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column(index=True))
    misc_info: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    # Mirrors miscInfo.completedIncorrectly as a column so the leaderboard is one SQL query.
    completed_incorrectly: bool = Field(default=False)
    # Casefolded, accent-stripped text of every searchable field; the search index is built on it.
    search_text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    # Geometry facts of the current model, denormalised so lists can sort and filter by them.
    stock_x_mm: float | None = Field(default=None)
    stock_y_mm: float | None = Field(default=None)
    stock_z_mm: float | None = Field(default=None)
    volume_mm3: float | None = Field(default=None)
    mass_g: float | None = Field(default=None, index=True)
    version: int = Field(default=1, ge=1)


class PartEvent(SQLModel, table=True):
    """One line of a part's timeline."""

    __tablename__ = "part_event"

    id: int | None = Field(default=None, primary_key=True)
    part_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("part.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_column=_dt_column(index=True))
    actor: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=40)
    field: str | None = Field(default=None, max_length=60)
    old: str | None = Field(default=None, max_length=5000)
    new: str | None = Field(default=None, max_length=5000)
    note: str | None = Field(default=None, max_length=2000)


class PartWorker(SQLModel, table=True):
    """Everyone who claimed a part (any type), for leaderboard credit."""

    __tablename__ = "part_worker"
    __table_args__ = (sa.UniqueConstraint("part_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    part_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("part.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(max_length=200, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())


class PartFile(SQLModel, table=True):
    """One uploaded revision of a part's file, with its conversion outcome."""

    __tablename__ = "part_file"

    id: int | None = Field(default=None, primary_key=True)
    part_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("part.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    revision: int = Field(default=1)
    kind: str = Field(max_length=8)
    display_name: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64, index=True)
    is_current: bool = Field(default=True, index=True)
    uploaded_by: str | None = Field(default=None, max_length=200)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    conversion_status: str = Field(default=ConversionStatus.NONE.value, max_length=10, index=True)
    conversion_error: str | None = Field(default=None, max_length=2000)
    conversion_seconds: float | None = Field(default=None)
    conversion_started_at: datetime | None = Field(
        default=None, sa_column=_dt_column(nullable=True)
    )
    facts: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    scope: str = Field(default=Scope.WRITE.value, max_length=8)
    key_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    last_used_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))


class UiSession(SQLModel, table=True):
    """A browser's sign-in: the UI keeps this token, never the raw API key."""

    __tablename__ = "ui_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    api_key_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("api_key.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    expires_at: datetime = Field(sa_column=_dt_column())
    revoked_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))


class Preset(SQLModel, table=True):
    """Admin-editable choices offered in the add/edit dialog (subsystems, materials)."""

    __tablename__ = "preset"
    __table_args__ = (sa.UniqueConstraint("kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)
    value: str = Field(max_length=200)


# Working state, not data: kept out of SQLModel.metadata, so backups and restores never see it
# (alembic's environment compares both metadata objects with the migrations).
EPHEMERAL = sa.MetaData()

throttle_event = sa.Table(
    "throttle_event",
    EPHEMERAL,
    sa.Column("id", sa.Integer, primary_key=True),
    # "auth" (failed key or session), "check" (the /auth/check probe).
    sa.Column("bucket", sa.String(16), nullable=False),
    # The client address as services.throttle.client_address gives it.
    sa.Column("client", sa.String(64), nullable=False),
    # Epoch seconds: compared across processes, and the same on every dialect.
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_throttle_event_lookup", "bucket", "client", "at"),
)
