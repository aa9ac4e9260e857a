"""Benchmark of the geometry-aware shop at 10,000 parts (half with geometry facts).

Measures, on a fresh database it makes (SQLite in a temporary folder, or --url):
- recomputing every part's fit and stock match after a machine changes (issue 12: ≤ 2 s);
- GET /api/parts?fits=<router> server time, through the FastAPI app in process (≤ 10 ms), cold
  (the list and fragment caches emptied) and warm, full list and a 50-row page;
- the weight roll-up (≤ 20 ms); the cut list with packing for the 500 largest queued plates (≤ 1 s).

Run: ``.venv/bin/python bench/shop.py [--parts 10000] [--url postgresql+psycopg://...]``
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KEY = "bench-admin-key-0123456789"
MATERIALS = [("6061 Aluminum", 2.7), ("Polycarbonate", 1.2), ("HDPE", 0.95), ("PLA", 1.24)]
THICKNESS_IN = ["1/16 in", "1/8 in", "3/16 in", "1/4 in", "1/2 in", None]


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median wall time in ms of ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def make_parts(n: int, rng: random.Random) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = []
    for i in range(n):
        material, density = rng.choice(MATERIALS)
        typed = rng.choice(THICKNESS_IN)
        row: dict[str, Any] = {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
            "part_id": f"P-{i:05d}",
            "name": f"Part {i}",
            "material": material,
            "material_thickness": typed,
            "subsystem": rng.choice(["Drive", "Intake", "Shooter", "Climber", "Frame"]),
            "type": "cnc",
            "category": rng.choice(["review", "cnc", "cnc", "hand", "misc", "completed"]),
            "status": "Pending",
            "amount": rng.randint(1, 4),
            "quantity_done": 0,
            "created_at": now,
            "updated_at": now,
            "search_text": f"part {i}",
            "completed_incorrectly": False,
            "version": 1,
            "fit_status": "no_model",
        }
        if i % 2 == 0:  # half have a model: mostly plates, some blocks
            t = rng.choice([1.5875, 3.175, 4.7625, 6.35, 12.7])
            dims = [rng.uniform(20, 900), rng.uniform(20, 700), t]
            if rng.random() < 0.15:
                dims[2] = rng.uniform(20, 200)
            rng.shuffle(dims)
            volume = dims[0] * dims[1] * dims[2] * rng.uniform(0.4, 0.9)
            row |= {
                "stock_x_mm": dims[0],
                "stock_y_mm": dims[1],
                "stock_z_mm": dims[2],
                "volume_mm3": volume,
                "mass_g": volume / 1000 * density,
            }
        if rng.random() < 0.1:
            row["measured_mass_g"] = rng.uniform(5, 2000)
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=10_000)
    parser.add_argument(
        "--url", default=None, help="an empty database (default: SQLite, temporary)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aerie-bench-shop-"))
    os.environ["AERIE_DATA_DIR"] = str(folder)
    os.environ["AERIE_API_KEY"] = KEY
    if args.url:
        os.environ["AERIE_DATABASE_URL"] = args.url

    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from aerie_app.api.app import create_api
    from aerie_app.db import migrate, session_scope
    from aerie_app.models import Part
    from aerie_app.services import keys, listcache, partjson
    from aerie_app.services.shop import cutlist, machines, recompute, seed, weight
    from aerie_app.settings import get_settings

    migrate()
    rng = random.Random(2026)
    with session_scope() as session:
        keys.bootstrap_admin(session, configured=KEY)
        seed.seed_shop(session)
        rows = make_parts(args.parts, rng)
        for start in range(0, len(rows), 1000):
            session.execute(sa.insert(Part), rows[start : start + 1000])
        session.commit()
        first, changed = timed(lambda: recompute.recompute_all(session))
    dialect = get_settings().resolved_database_url.split(":")[0]
    print(f"Aerie shop benchmark: {args.parts} parts ({args.parts // 2} with facts), {dialect}")
    print(f"first fit of every part                   {first:8.1f} ms  ({changed} parts written)")

    with session_scope() as session:
        ms, _ = timed(lambda: recompute.recompute_all(session), repeat=3)
    print(f"recompute, nothing changed                {ms:8.1f} ms")

    sizes = iter([(500.0, 1000.0), (609.6, 1219.2)] * 3)

    def resize() -> int:
        x, y = next(sizes)
        with session_scope() as session:
            _, n = machines.update_machine(
                session, 1, data={"envelope_x_mm": x, "envelope_y_mm": y}
            )
        return n

    ms, n = timed(resize, repeat=4)
    print(
        f"router resized: recompute and commit      {ms:8.1f} ms  ({n} parts changed, median of 4)"
    )

    api = TestClient(create_api())
    headers = {"X-API-Key": KEY}

    def get(url: str) -> Any:
        response = api.get(url, headers=headers)
        assert response.status_code == 200, response.text
        return response

    floor, _ = timed(lambda: api.get("/api/health"), repeat=20)
    print(f"floor: GET /api/health in process         {floor:8.1f} ms  (the client and stack)")
    for label, url in [
        ("fits router, 50-row page", "/api/parts/?fits=1&limit=50&sort_by=thickness"),
        ("fits router, whole list", "/api/parts/?fits=1"),
        ("plates <= 6 mm fitting the router", "/api/parts/?fits=1&maxThickness=6&limit=50"),
    ]:

        def cold(url: str = url) -> Any:
            listcache.cache.clear()
            partjson.clear()
            return get(url)

        cold_ms, response = timed(cold, repeat=5)
        get(url)
        warm_ms, _ = timed(lambda url=url: get(url), repeat=20)
        total = response.json()["total"]
        print(f"GET {label:34}  cold {cold_ms:6.1f} ms  warm {warm_ms:5.1f} ms  ({total} parts)")

    from aerie_app.services import partquery
    from aerie_app.services.partquery import PartQuery

    with session_scope() as session:
        ms, _ = timed(
            lambda: partquery.list_parts(
                session,
                PartQuery(fits=1, limit=50, sort_by="thickness"),
                columns=partjson.KEY_COLUMNS,
            ),
            repeat=20,
        )
    print(f"list_parts(fits=router, 50) query only    {ms:8.1f} ms")

    def service(query: PartQuery, fragments: bool = False) -> bytes:
        """What the list route does after any change: the marker, the query, the JSON."""
        if not fragments:
            partjson.clear()
        with session_scope() as session:
            partquery.change_marker(session)
            return partjson.list_json(session, query)

    for label, query in [
        ("fits router, 50-row page", PartQuery(fits=1, limit=50, sort_by="thickness")),
        ("fits router, CNC tab page", PartQuery(fits=1, limit=50, category="cnc")),
        ("plates <= 6 mm fitting the router", PartQuery(fits=1, max_thickness_mm=6, limit=50)),
    ]:
        cold_ms, _ = timed(lambda query=query: service(query), repeat=20)
        warm_ms, _ = timed(lambda query=query: service(query, True), repeat=20)
        print(f"server: {label:34} {cold_ms:5.1f} ms new JSON, {warm_ms:5.1f} ms cached part JSON")

    with session_scope() as session:
        ms, budget = timed(lambda: weight.weight_budget(session), repeat=20)
    print(
        f"weight roll-up                            {ms:8.1f} ms  ({budget['totalG'] / 1000:.0f} kg)"
    )
    ms, _ = timed(lambda: get("/api/stats/weight"), repeat=20)
    print(f"GET /api/stats/weight                     {ms:8.1f} ms")

    # The cut list of the 500 largest queued plates: everything else leaves the queue.
    with session_scope() as session:
        plates = (
            sa.select(Part.id)
            .where(Part.category.in_(["cnc", "hand"]), Part.thickness_mm.is_not(None))
            .order_by((Part.stock_x_mm * Part.stock_y_mm * Part.stock_z_mm).desc())
            .limit(500)
        )
        keep = [r[0] for r in session.execute(plates).all()]
        session.execute(
            sa.update(Part)
            .where(Part.category.in_(["cnc", "hand"]), Part.id.not_in(keep))
            .values(category="completed")
        )
        session.commit()
        ms, cut = timed(lambda: cutlist.cut_list(session), repeat=3)
    sheets = sum(g["sheetsNeeded"] or 0 for g in cut["groups"])
    print(
        f"cut list, {cut['parts']} queued plates ({cut['pieces']} pieces) {ms:8.1f} ms"
        f"  ({len(cut['groups'])} groups, {sheets} sheets)"
    )
    ms, _ = timed(lambda: get("/api/cutlist"), repeat=3)
    print(f"GET /api/cutlist                          {ms:8.1f} ms")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
