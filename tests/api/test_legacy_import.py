"""Importing the old Flask app's database and uploads: ids, uuids, misc info, files, idempotence."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app import __main__ as cli
from aerie_app.errors import NotFound, Unprocessable
from aerie_app.models import Part, PartEvent, PartFile, PartWorker
from aerie_app.services import files, legacy, storage
from tests.api.conftest import Api

pytestmark = pytest.mark.api

# The old app's table, exactly these columns.
OLD_SCHEMA = """
CREATE TABLE parts (
    id INTEGER PRIMARY KEY,
    uuid VARCHAR(36) UNIQUE,
    type VARCHAR(20),
    material VARCHAR(100),
    material_thickness VARCHAR(50),
    part_id VARCHAR(50),
    name VARCHAR(100),
    subsystem VARCHAR(100),
    assigned VARCHAR(100),
    status VARCHAR(50),
    misc_info JSON,
    notes TEXT,
    file VARCHAR(255),
    onshape_url VARCHAR(500),
    claimed_date DATETIME,
    created_at DATETIME,
    amount INTEGER,
    updated_at DATETIME,
    category VARCHAR(50)
)
"""
STEP = b"ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION((''),'2;1');\nENDSEC;\nDATA;\nENDSEC;\nEND-ISO-10303-21;\n"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 40
U = "00000000-0000-4000-8000-0000000000{:02d}"


def old_row(id: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": id,
        "uuid": U.format(id),
        "type": "cnc",
        "material": "Aluminum 6061",
        "material_thickness": "0.25in",
        "part_id": f"2026-P-{id:03d}",
        "name": f"Part {id}",
        "subsystem": "Drivetrain",
        "assigned": None,
        "status": "Pending",
        "misc_info": None,
        "notes": None,
        "file": None,
        "onshape_url": None,
        "claimed_date": None,
        "created_at": "2024-03-01 10:15:30.123456",
        "amount": 1,
        "updated_at": "2024-03-02 08:00:00.000001",
        "category": "review",
    }
    row.update(fields)
    return row


ROWS = [
    old_row(1, file="bracket.step", notes="Deburr edges"),
    old_row(
        2,
        type="hand",
        name="Gusset",
        status="Completed",
        category="completed",
        assigned="Carol",
        claimed_date="2024-03-03T09:00:00",
        amount=4,
        file="gusset.pdf",
        misc_info=json.dumps(
            {
                "reviewer": "Rita",
                "handWorkers": [
                    {"name": "Alice", "timestamp": "2024-03-02T12:00:00"},
                    {"name": "Bob", "timestamp": "2024-03-02T13:30:00+00:00"},
                ],
                "completed_at": "2024-03-04T16:45:10.5Z",
                "completedIncorrectly": True,
                "storage": "Shelf B",
                "views": {
                    "files": {"0": {"filename": "view_0.png", "timestamp": 1709500000.0}},
                    "updated_at": 1709500000.0,
                },
            }
        ),
    ),
    old_row(
        3,
        type="misc",
        status="Reviewed",
        category="misc",
        misc_info=json.dumps({"serviceMethod": "SendCutSend", "vendorOrder": "SCS-123"}),
    ),
    old_row(4, misc_info="{not json at all"),
    old_row(5, file="gone.pdf"),
    old_row(6, status="Lost in the shop"),
    old_row(7, category="scrapyard"),
    old_row(8, file="fake.pdf", amount="lots"),
    old_row(9, misc_info=json.dumps(json.dumps({"reviewer": "Dana"}))),
    old_row(10, uuid=U.format(1)),
    old_row(11, type="Laser", created_at=None, updated_at="garbage", status="in progress"),
]


def build_old_app(folder: Path, rows: list[dict[str, Any]] = ROWS) -> tuple[Path, Path]:
    """An old app's parts.db and uploads/ folder; the uniqueness of uuid is not trusted either."""
    db = folder / "parts.db"
    conn = sqlite3.connect(db)
    conn.execute(OLD_SCHEMA.replace("uuid VARCHAR(36) UNIQUE", "uuid VARCHAR(36)"))
    columns = list(rows[0])
    conn.executemany(
        f"INSERT INTO parts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [[r[c] for c in columns] for r in rows],
    )
    conn.commit()
    conn.close()
    uploads = folder / "uploads"
    for pid, name, data in [
        (1, "bracket.step", STEP),
        (2, "gusset.pdf", PDF),
        (2, "views/view_0.png", PNG),
        (8, "fake.pdf", b"this is not a pdf"),
    ]:
        path = uploads / str(pid) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return db, uploads


def counts(session: Session) -> dict[str, int]:
    session.rollback()
    return {
        model.__tablename__: session.exec(select(sa.func.count()).select_from(model)).one()  # type: ignore[attr-defined]
        for model in (Part, PartEvent, PartFile, PartWorker)
    }


def test_import_maps_rows_files_and_misc_info(
    api: Api, session: Session, aerie_env: Path, tmp_path: Path
) -> None:
    db, uploads = build_old_app(tmp_path)
    before = db.read_bytes()
    report = legacy.import_legacy(session, db_path=db, uploads_dir=uploads)

    assert report.imported == [1, 2, 3, 4, 5, 8, 9, 11]
    assert dict(report.skipped) == {
        "row id=6": "unknown status 'Lost in the shop'",
        "row id=7": "unknown category 'scrapyard'",
        "row id=10": "duplicate uuid (already used by id 1)",
    }
    warnings = {(pid, text.split(";")[0].split(":")[0]) for pid, text in report.warnings}
    assert (4, "misc_info is not valid JSON") in warnings
    assert (5, "file 'gone.pdf' is missing from " + str(uploads / "5")) in warnings
    assert (8, "file 'fake.pdf' not imported") in warnings
    assert (8, "amount 'lots' is not a whole number ≥ 1") in warnings
    assert (report.files, report.conversions, report.views) == (2, 1, 1)
    assert db.read_bytes() == before  # opened read-only

    session.expire_all()
    first = session.get(Part, 1)
    assert first is not None
    assert first.uuid == U.format(1) and first.part_id == "2026-P-001"
    assert first.created_at == datetime(2024, 3, 1, 10, 15, 30, 123456, tzinfo=UTC)
    assert first.updated_at == datetime(2024, 3, 2, 8, 0, 0, 1, tzinfo=UTC)
    assert first.file == "bracket.step" and first.version == 1
    step = files.current_file(session, 1)
    assert step is not None and step.kind == "step" and step.conversion_status == "queued"
    assert storage.blob_path(step.sha256).read_bytes() == STEP
    assert "deburr edges" in first.search_text

    gusset = session.get(Part, 2)
    assert gusset is not None
    assert gusset.completed_at == datetime(2024, 3, 4, 16, 45, 10, 500000, tzinfo=UTC)
    assert gusset.quantity_done == 4 and gusset.completed_incorrectly
    assert gusset.claimed_date == datetime(2024, 3, 3, 9, 0, tzinfo=UTC)
    assert gusset.misc_info is not None and "views" not in gusset.misc_info
    assert gusset.misc_info["reviewer"] == "Rita" and gusset.misc_info["storage"] == "Shelf B"
    workers = session.exec(select(PartWorker).where(PartWorker.part_id == 2)).all()
    assert {w.name: w.at for w in workers} == {
        "Alice": datetime(2024, 3, 2, 12, 0, tzinfo=UTC),
        "Bob": datetime(2024, 3, 2, 13, 30, tzinfo=UTC),
        "Carol": datetime(2024, 3, 3, 9, 0, tzinfo=UTC),
    }
    pdf = files.current_file(session, 2)
    assert pdf is not None and pdf.kind == "pdf" and pdf.conversion_status == "none"

    assert session.get(Part, 3).misc_info == {  # type: ignore[union-attr]
        "serviceMethod": "SendCutSend",
        "vendorOrder": "SCS-123",
    }
    broken = session.get(Part, 4)
    assert broken is not None and broken.misc_info is None
    event = session.exec(select(PartEvent).where(PartEvent.part_id == 4)).one()
    assert event.kind == "imported" and "{not json at all" in (event.note or "")
    for pid in (5, 8):
        part = session.get(Part, pid)
        assert part is not None and part.file is None and files.current_file(session, pid) is None
    assert session.get(Part, 8).amount == 1  # type: ignore[union-attr]
    assert session.get(Part, 9).misc_info == {"reviewer": "Dana"}  # type: ignore[union-attr]
    laser = session.get(Part, 11)
    assert laser is not None and laser.type == "cnc" and laser.status == "In Progress"
    assert laser.created_at == laser.updated_at  # both unknown: the import time, once
    assert session.get(Part, 6) is None and session.get(Part, 10) is None
    imported = session.exec(
        select(PartEvent.part_id).where(col(PartEvent.kind) == "imported")
    ).all()
    assert sorted(imported) == report.imported

    # The API serves what was imported, as the old clients expect.
    body = api.get("/api/parts/2").json()
    assert body["miscInfo"]["handWorkers"][0]["name"] == "Alice"
    assert body["completedAt"] == "2024-03-04T16:45:10.500000Z"
    assert api.get("/api/parts/2/download").content == PDF
    assert api.get("/api/parts/2/views/0").content == PNG
    assert api.get("/api/parts/1").json()["file"] == "bracket.step"
    found = api.get("/api/parts/", params={"search": "sendcutsend"}).json()["parts"]
    assert [p["id"] for p in found] == [3]
    # New parts get fresh ids (PostgreSQL's sequence was moved past the imported ids).
    assert api.create(name="New")["id"] == 12


def test_import_twice_imports_nothing_new(
    session: Session, aerie_env: Path, tmp_path: Path
) -> None:
    db, uploads = build_old_app(tmp_path)
    first = legacy.import_legacy(session, db_path=db, uploads_dir=uploads)
    after_first = counts(session)
    blobs = sorted(p.name for p in (aerie_env / "files" / "blobs").rglob("*") if p.is_file())
    second = legacy.import_legacy(session, db_path=db, uploads_dir=uploads)
    assert second.imported == [] and second.already == first.imported
    assert "Already imported (matched on uuid): 8 parts." in second.lines()
    assert counts(session) == after_first
    assert (
        sorted(p.name for p in (aerie_env / "files" / "blobs").rglob("*") if p.is_file()) == blobs
    )


def test_id_taken_by_another_part_is_skipped(
    api: Api, session: Session, aerie_env: Path, tmp_path: Path
) -> None:
    existing = api.create(name="Made in Aerie")
    assert existing["id"] == 1
    db, uploads = build_old_app(tmp_path, [old_row(1), old_row(2)])
    report = legacy.import_legacy(session, db_path=db, uploads_dir=uploads)
    assert report.imported == [2]
    assert report.skipped == [("row id=1", "id 1 is already used by another part here")]
    assert api.get("/api/parts/1").json()["name"] == "Made in Aerie"


def test_without_uploads_folder_parts_import_and_files_are_reported(
    session: Session, aerie_env: Path, tmp_path: Path
) -> None:
    db, _ = build_old_app(tmp_path, [old_row(1, file="bracket.step"), old_row(2, uuid=None)])
    report = legacy.import_legacy(session, db_path=db, uploads_dir=None)
    assert report.imported == [1, 2]
    assert (1, "file 'bracket.step' not imported: no uploads folder was given") in report.warnings
    part = session.get(Part, 2)
    assert part is not None and len(part.uuid) == 36
    again = legacy.import_legacy(session, db_path=db, uploads_dir=None)
    assert again.already == [1, 2]  # the uuid given to a uuid-less row is derived from its id


def test_not_an_old_database_is_refused(session: Session, aerie_env: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        legacy.import_legacy(session, db_path=tmp_path / "missing.db", uploads_dir=None)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(Unprocessable, match="cannot be read as SQLite"):
        legacy.import_legacy(session, db_path=garbage, uploads_dir=None)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE parts (id INTEGER PRIMARY KEY, uuid TEXT, name TEXT)")
    conn.close()
    with pytest.raises(Unprocessable) as refused:
        legacy.import_legacy(session, db_path=other, uploads_dir=None)
    assert "lacks columns: type, material" in refused.value.message
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(Unprocessable, match="no parts table"):
        legacy.import_legacy(session, db_path=empty, uploads_dir=None)
    assert counts(session)["part"] == 0


def test_cli_prints_the_report(
    aerie_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, uploads = build_old_app(tmp_path)
    assert cli.main(["import-legacy", "--db", str(db), "--uploads", str(uploads)]) == 0
    out = capsys.readouterr().out
    assert "Imported 8 parts (2 files stored, 1 STEP files queued for conversion" in out
    assert "row id=6: unknown status 'Lost in the shop'" in out
    assert "part 4: misc_info is not valid JSON" in out
    assert cli.main(["import-legacy", "--db", str(tmp_path / "nope.db")]) == 1
    assert "No database at" in capsys.readouterr().err
