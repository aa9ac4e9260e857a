"""Statistics and the leaderboard, computed in SQL (a handful of grouped queries, whatever the table size)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.models import Category, Part, PartType, PartWorker, Status

BUCKETS = ("< 1 hour", "1-4 hours", "4-8 hours", "8-24 hours", "> 24 hours")


def _counts(session: Session, column: Any, value: Any = None) -> dict[str, Any]:
    agg = sa.func.count() if value is None else sa.func.coalesce(sa.func.sum(value), 0)
    rows = session.exec(select(column, agg).group_by(column)).all()  # type: ignore[call-overload]
    return {str(k): v for k, v in rows if k is not None}


def stats(session: Session) -> dict[str, Any]:
    by_category = _counts(session, Part.category)
    by_status = _counts(session, Part.status)
    assigned = session.exec(
        select(sa.func.count()).select_from(Part).where(col(Part.assigned).is_not(None))
    ).one()
    total = sum(by_category.values())
    return {
        "by_category": {c.value: by_category.get(c.value, 0) for c in Category},
        "by_status": {
            "pending": by_status.get(Status.PENDING.value, 0),
            "reviewed": by_status.get(Status.REVIEWED.value, 0),
            "in_progress": by_status.get(Status.IN_PROGRESS.value, 0),
            "already_started": by_status.get(Status.ALREADY_STARTED.value, 0),
            "completed": by_status.get(Status.COMPLETED.value, 0),
        },
        "assignment": {"assigned": assigned, "unassigned": total - assigned},
        "total": total,
    }


def _hours(session: Session) -> Any:
    """Hours from claim to completion, per dialect."""
    if session.get_bind().dialect.name == "sqlite":
        return (sa.func.julianday(Part.completed_at) - sa.func.julianday(Part.claimed_date)) * 24.0
    return sa.func.extract("epoch", col(Part.completed_at) - col(Part.claimed_date)) / 3600.0


def detailed(session: Session) -> dict[str, Any]:
    done = col(Part.category) == Category.COMPLETED.value
    amount = sa.func.coalesce(sa.func.sum(Part.amount), 0)
    total_parts = session.exec(select(amount)).one()
    completed_parts = session.exec(select(amount).where(done)).one()
    in_progress = session.exec(select(amount).where(Part.status == Status.IN_PROGRESS.value)).one()
    hours = _hours(session)
    timed = sa.and_(done, col(Part.claimed_date).is_not(None), col(Part.completed_at).is_not(None))
    weighted = session.exec(
        select(sa.func.sum(hours * Part.amount), sa.func.sum(Part.amount)).where(timed)
    ).one()
    average = round(float(weighted[0]) / weighted[1], 2) if weighted[1] else None
    bucket = sa.case(
        (hours < 1, BUCKETS[0]),
        (hours < 4, BUCKETS[1]),
        (hours < 8, BUCKETS[2]),
        (hours < 24, BUCKETS[3]),
        else_=BUCKETS[4],
    )
    dist_rows = session.exec(
        select(bucket, sa.func.sum(Part.amount)).where(timed).group_by(bucket)  # type: ignore[call-overload]
    ).all()
    distribution = dict.fromkeys(BUCKETS, 0) | {str(k): int(v) for k, v in dist_rows}
    by_type = _counts(session, Part.type)
    by_category = _counts(session, Part.category)
    top = session.exec(
        select(Part.assigned, sa.func.sum(Part.amount).label("n"))
        .where(done, col(Part.assigned).is_not(None))
        .group_by(col(Part.assigned))
        .order_by(sa.desc("n"), col(Part.assigned))
        .limit(5)
    ).all()
    return {
        "total_parts": int(total_parts),
        "completed_parts": int(completed_parts),
        "in_progress_parts": int(in_progress),
        "average_completion_time": average,
        "completion_time_distribution": distribution,
        "by_type": {t.value: by_type.get(t.value, 0) for t in PartType},
        "by_category": {c.value: by_category.get(c.value, 0) for c in Category},
        "top_contributors": [{"name": n, "count": int(c)} for n, c in top],
    }


def leaderboard(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """+1 to the maker of each completed part (any type), −2 more when it was done incorrectly,
    +0.5 to each earlier distinct worker of a completed part."""
    done = col(Part.category) == Category.COMPLETED.value
    makers = sa.select(
        col(Part.assigned).label("name"),
        sa.case((col(Part.completed_incorrectly), -1.0), else_=1.0).label("points"),
    ).where(done, col(Part.assigned).is_not(None))
    helpers: Any = (
        sa.select(col(PartWorker.name).label("name"), sa.literal(0.5).label("points"))
        .join(Part, col(Part.id) == col(PartWorker.part_id))
        .where(
            done, sa.or_(col(Part.assigned).is_(None), col(PartWorker.name) != col(Part.assigned))
        )
    )
    union = sa.union_all(makers, helpers).subquery()
    score = sa.func.sum(union.c.points).label("score")
    rows = session.exec(
        select(union.c.name, score)
        .group_by(union.c.name)
        .order_by(sa.desc("score"), union.c.name)
        .limit(limit)  # type: ignore[call-overload]
    ).all()
    return [{"name": n, "score": float(s)} for n, s in rows]
