"""Statistics and the leaderboard, computed in SQL, with the old scoring extended to every maker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.api.conftest import Api

pytestmark = pytest.mark.api


def _through(api: Api, kind: str, maker: str | None, amount: int = 1) -> int:
    pid = api.create(type=kind, amount=amount)["id"]
    api.post(f"/api/parts/{pid}/approve")
    if maker:
        api.post(f"/api/parts/{pid}/assign", json={"assigned": maker})
    api.post(f"/api/parts/{pid}/complete")
    return pid


def test_stats_counts(api: Api) -> None:
    api.create()
    pid = api.create(type="hand")["id"]
    api.post(f"/api/parts/{pid}/approve")
    api.post(f"/api/parts/{pid}/assign", json={"assigned": "Ann"})
    _through(api, "misc", None)
    body = api.get("/api/parts/stats").json()
    assert body["by_category"] == {"review": 1, "cnc": 0, "hand": 1, "misc": 0, "completed": 1}
    assert body["by_status"]["pending"] == 1
    assert body["by_status"]["in_progress"] == 1
    assert body["by_status"]["completed"] == 1
    assert body["assignment"] == {"assigned": 1, "unassigned": 2}
    assert body["total"] == 3


def test_detailed_after_claimed_completion(api: Api, session) -> None:
    """The old app crashed here (naive vs aware datetimes)."""
    from aerie_app.models import Part

    quick = _through(api, "cnc", "Ann", amount=2)
    slow = _through(api, "hand", "Bob", amount=1)
    now = datetime.now(UTC)
    for pid, hours in ((quick, 0.5), (slow, 30.0)):
        session.execute(
            sa.update(Part)
            .where(Part.id == pid)
            .values(claimed_date=now - timedelta(hours=hours), completed_at=now)
        )
    session.commit()
    api.create(amount=5)
    body = api.get("/api/parts/stats/detailed").json()
    assert body["total_parts"] == 8 and body["completed_parts"] == 3
    assert body["average_completion_time"] == pytest.approx((0.5 * 2 + 30) / 3, abs=0.05)
    assert body["completion_time_distribution"]["< 1 hour"] == 2
    assert body["completion_time_distribution"]["> 24 hours"] == 1
    assert body["by_type"] == {"cnc": 2, "hand": 1, "misc": 0}
    assert body["top_contributors"] == [{"name": "Ann", "count": 2}, {"name": "Bob", "count": 1}]


def test_detailed_empty(api: Api) -> None:
    body = api.get("/api/parts/stats/detailed").json()
    assert body["average_completion_time"] is None and body["total_parts"] == 0


def test_leaderboard_scoring(api: Api) -> None:
    _through(api, "cnc", "Ann")
    _through(api, "misc", "Ann")
    bad = _through(api, "cnc", "Bob")
    api.post(f"/api/parts/{bad}/mark-incorrect")
    hand = api.create(type="hand")["id"]
    api.post(f"/api/parts/{hand}/approve")
    api.post(f"/api/parts/{hand}/assign", json={"assigned": "Cy"})
    api.post(f"/api/parts/{hand}/unclaim")
    api.post(f"/api/parts/{hand}/assign", json={"assigned": "Dee"})
    api.post(f"/api/parts/{hand}/complete")
    unfinished = api.create(type="cnc")["id"]
    api.post(f"/api/parts/{unfinished}/approve")
    api.post(f"/api/parts/{unfinished}/assign", json={"assigned": "Eve"})
    board = api.get("/api/parts/leaderboard").json()["leaderboard"]
    assert board == [
        {"name": "Ann", "score": 2.0},
        {"name": "Dee", "score": 1.0},
        {"name": "Cy", "score": 0.5},
        {"name": "Bob", "score": -1.0},
    ]
