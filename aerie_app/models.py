"""Aerie's tables and enums: Part, PartEvent, PartFile, ApiKey, UiSession, the shop's Machine,
StockItem, ShopSetting and PartFit; throttle_event."""

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


class Process(enum.StrEnum):
    """What a machine does; decides which orientations a part may take in it (services/shop/fit.py)."""

    ROUTER = "router"
    LASER = "laser"
    WATERJET = "waterjet"
    LATHE = "lathe"
    MILL = "mill"
    PRINTER = "printer"
    HAND = "hand"


class StockKind(enum.StrEnum):
    SHEET = "sheet"
    BAR = "bar"


class FitStatus(enum.StrEnum):
    FITS = "fits"  # at least one enabled machine can make it
    NONE = "none"  # no enabled machine can; fit_reason says the nearest miss
    NO_MODEL = "no_model"  # no geometry facts yet: never "fits"
    UNKNOWN = "unknown"  # a model, but no enabled machine to judge it against


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
        # Covers the weight budget (services/shop/weight.py): grouped sums from the index alone.
        sa.Index("ix_part_weight", "subsystem", "amount", "mass_g", "measured_mass_g"),
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
    # The shop's view of the part (services/shop): entered by hand, or computed and stored so
    # lists can filter and sort by them. A recompute stamps updated_at, not version.
    measured_mass_g: float | None = Field(default=None)
    thickness_mm: float | None = Field(default=None, index=True)
    fit_status: str = Field(
        default=FitStatus.NO_MODEL.value,
        sa_column=sa.Column(
            sa.String(10), nullable=False, server_default=FitStatus.NO_MODEL.value, index=True
        ),
    )
    # [{"id": machine id, "name": its name}], names kept so the part's JSON needs no join.
    fit_machines: list[dict[str, Any]] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    fit_reason: str | None = Field(default=None, max_length=500)
    stock_item_id: int | None = Field(default=None)
    stock_label: str | None = Field(default=None, max_length=200)
    stock_reason: str | None = Field(default=None, max_length=500)
    duplicate_of: int | None = Field(default=None, index=True)
    # {"partId", "name"} of the part it looks like, as they were when it was found.
    duplicate_ref: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))


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
    # Renewed every few seconds by the process converting it (services/conversions.py's lease).
    conversion_heartbeat_at: datetime | None = Field(
        default=None, sa_column=_dt_column(nullable=True)
    )
    facts: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    # What this revision's facts did to the part: {changed, movedToReview, old, new} (or null).
    geometry_change: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))


class Person(SQLModel, table=True):
    """Someone on the team: signs in with a name and password (argon2, services/people.py), or
    is picked from the roster at a shop kiosk. Deactivated, never deleted: history keeps them."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    # The name as compared: case and spacing folded, unique ("ada lovelace" is "Ada  Lovelace").
    name_key: str = Field(max_length=100, unique=True, index=True)
    role: str = Field(default="fabricator", max_length=12)  # permissions.Role
    password_hash: str | None = Field(default=None, max_length=200)  # None: kiosk pick only
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    deactivated_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))
    # Sessions and keys issued before this instant are void (a password reset, a deactivation).
    sessions_valid_after: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    scope: str = Field(default=Scope.WRITE.value, max_length=8)
    # A personal key acts as its person, with their role (as it is now, not when it was made).
    person_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    # An integration's own role; None: the scope's (permissions.role_for_scope).
    role: str | None = Field(default=None, max_length=12)
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
    # Signed in with a key (the team's), with a name and password (person only), or at a kiosk:
    # the team's key plus a person picked from the roster (both).
    api_key_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("api_key.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    person_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=True, index=True
        ),
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


class Machine(SQLModel, table=True):
    """A machine of the shop. Envelope in mm: x, y, z; a lathe's x is its max diameter and y its
    max length (z unused); a hand process may have none (any size)."""

    __tablename__ = "machine"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    process: str = Field(max_length=10)
    envelope_x_mm: float | None = Field(default=None)
    envelope_y_mm: float | None = Field(default=None)
    envelope_z_mm: float | None = Field(default=None)
    # "in" when the shop thinks of it in inches (a 24 × 48 in router): reasons quote both.
    units: str = Field(default="mm", max_length=2)
    # Material keys of cad/materials.py it can cut; empty = any.
    materials: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    min_thickness_mm: float | None = Field(default=None)
    max_thickness_mm: float | None = Field(default=None)
    margin_mm: float = Field(default=0.0)
    enabled: bool = Field(default=True)


class StockItem(SQLModel, table=True):
    """Material on hand: a sheet (size_x × size_y, thickness) or a bar (size_x long, thickness = diameter)."""

    __tablename__ = "stock_item"

    id: int | None = Field(default=None, primary_key=True)
    material: str = Field(max_length=60)
    thickness_mm: float
    kind: str = Field(default=StockKind.SHEET.value, max_length=5)
    size_x_mm: float
    size_y_mm: float | None = Field(default=None)
    count: int = Field(default=0)


class ShopSetting(SQLModel, table=True):
    """Small admin settings of the shop (the robot weight limit) and markers (seeding happened)."""

    __tablename__ = "shop_setting"

    key: str = Field(primary_key=True, max_length=60)
    value: Any = Field(default=None, sa_column=sa.Column(sa.JSON))


class PartFit(SQLModel, table=True):
    """Which machine can make which part: the index behind ``?fits=<machine id>``."""

    __tablename__ = "part_fit"
    __table_args__ = (sa.Index("ix_part_fit_machine", "machine_id", "part_id"),)

    part_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("part.id", ondelete="CASCADE"), primary_key=True
        )
    )
    machine_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("machine.id", ondelete="CASCADE"), primary_key=True
        )
    )


class DrawingJob(SQLModel, table=True):
    """A part's Onshape drawing export: queued by a request, run by whichever process runs jobs
    (a web worker, or ``python -m aerie_app worker``), its outcome kept here so every worker
    answers the same (services/drawings.py)."""

    __tablename__ = "drawing_job"

    part_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("part.id", ondelete="CASCADE"), primary_key=True
        )
    )
    part_uuid: str = Field(max_length=36)
    url: str = Field(max_length=1000)
    state: str = Field(default="pending", max_length=10)  # pending | running | ready | failed
    # A failure as the API reports it: {"type", "message", "details", "retryAfter"}.
    error: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    queued_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    started_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))
    # A rate-limited failure stops being final then (Onshape's Retry-After).
    retry_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))


class Webhook(SQLModel, table=True):
    """A subscription: Aerie POSTs the events named in ``events`` to ``url``, signed with
    ``secret`` (HMAC-SHA256). The secret is kept as given, like any webhook sender's: the
    signature needs it, and it opens nothing in Aerie."""

    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=1000)
    events: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    secret: str = Field(max_length=100)
    description: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    created_by: str | None = Field(default=None, max_length=200)


class WebhookDelivery(SQLModel, table=True):
    """One event on its way to one webhook: the exact body, and how sending it went."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_due", "status", "next_at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    event: str = Field(max_length=40)
    part_id: int | None = Field(default=None)  # no foreign key: the log outlives the part
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default="pending", max_length=12)  # pending | delivered | failed
    attempts: int = Field(default=0)
    next_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    # A worker sending it holds it until then (several server processes share the queue).
    lease_until: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))
    last_status: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    delivered_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))


class ReviewPin(SQLModel, table=True):
    """A reviewer's numbered note on a part's 3D model ("tap 10-32"), a checklist item until a
    maker ticks it. ``point``/``normal`` are in the STEP model's axes (mm); a pin without a
    point is a checklist item not placed on the model (keyboard users, parts with no model)."""

    __tablename__ = "review_pin"
    __table_args__ = (sa.UniqueConstraint("part_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    part_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("part.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    number: int  # 1, 2, 3… per part, never reused while the part lives
    note: str = Field(max_length=200)
    point: list[float] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    normal: list[float] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    # Which face was clicked: the body (the model's node name) and the triangle of its mesh.
    body: str | None = Field(default=None, max_length=200)
    face: int | None = Field(default=None)
    # The model it was placed on (content hash of the STEP revision): the geometry it describes.
    sha256: str | None = Field(default=None, max_length=64)
    created_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_dt_column())
    ticked_by: str | None = Field(default=None, max_length=200)
    ticked_at: datetime | None = Field(default=None, sa_column=_dt_column(nullable=True))
    # The geometry changed since it was placed: open again until a reviewer keeps or moves it.
    stale: bool = Field(default=False)


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
