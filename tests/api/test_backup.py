"""Backup and restore: a populated instance comes back row-equal and byte-identical; damage is refused."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from aerie_app import __main__ as cli
from aerie_app.db import make_engine, session_scope
from aerie_app.errors import Conflict, Unprocessable
from aerie_app.services import backup
from aerie_app.services.backup.schedule import _folder_lock
from tests.api.conftest import Api
from tests.conftest import (
    create_pg_database,
    drop_pg_database,
    job_worker,
    require_services,
    reset_caches,
)

pytestmark = pytest.mark.api
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def populate(api: Api) -> dict[str, Any]:
    """Parts through their workflow, events, a PDF revision, preview images and a write key."""
    done = api.create(name="Ünïcødé bracket", type="cnc", amount=3, notes="two\nlines")
    pid = done["id"]
    assert api.post(f"/api/parts/{pid}/approve", json={"reviewer": "Rita"}).status_code == 200
    assert api.post(f"/api/parts/{pid}/assign", json={"name": "Alice"}).status_code == 200
    assert api.post(f"/api/parts/{pid}/complete", json={}).status_code == 200
    assert api.post(f"/api/parts/{pid}/mark-incorrect").status_code == 200
    hand = api.create(name="Gusset", type="hand", assigned="Bob")
    response = api.post(
        f"/api/parts/{hand['id']}/upload", files={"file": ("Gusset v1.pdf", io.BytesIO(PDF))}
    )
    assert response.status_code == 201, response.text
    response = api.post(
        f"/api/parts/{hand['id']}/views", files={"view_0": ("view_0.png", io.BytesIO(PNG))}
    )
    assert response.status_code == 200, response.text
    api.create(name="Spacer", type="misc", miscInfo={"serviceMethod": "SendCutSend", "n": 1.25})
    response = api.post("/api/keys", json={"name": "cad script", "scope": "write"})
    assert response.status_code == 201
    return {"key": response.json()["key"], "pdf_part": hand["id"]}


def table_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every Aerie table, as the models read them (aware UTC datetimes, JSON values).

    Keys' last-used stamps are written in batches by a background thread: the ones this process
    noted are written first, so that thread cannot change a row between two readings.
    """
    from aerie_app.services import keys

    keys.flush_last_used()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: [
                    dict(row)
                    for row in conn.execute(
                        sa.select(table).order_by(*table.primary_key.columns)
                    ).mappings()
                ]
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def stored_files(data_dir: Path) -> dict[str, tuple[bytes, float]]:
    root = data_dir / "files"
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime)
        for p in sorted(root.rglob("*"))
        if p.is_file() and (root / "tmp") not in p.parents
    }


def everything_under(folder: Path) -> list[str]:
    return (
        sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
        if folder.exists()
        else []
    )


@pytest.fixture
def second_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, brand-new database of the same engine, without any schema."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second' / 'aerie.db'}"
        return
    yield from _pg_database()


def _pg_database() -> Iterator[str]:
    name, url = create_pg_database("aerie_restore")
    try:
        yield url
    finally:
        reset_caches()
        drop_pg_database(name)


def switch_to(monkeypatch: pytest.MonkeyPatch, url: str, data_dir: Path) -> None:
    """Point Aerie (and the running test client) at another database and data folder."""
    monkeypatch.setenv("AERIE_DATABASE_URL", url)
    monkeypatch.setenv("AERIE_DATA_DIR", str(data_dir))
    reset_caches()


def make_backup(out: Path) -> backup.BackupInfo:
    with session_scope() as session:
        return backup.create_backup(session, out=out)


def restore(archive: Path, *, force: bool = False) -> backup.RestoreInfo:
    with session_scope() as session:
        return backup.restore_backup(session, archive=archive, force=force)


def rewrite(archive: Path, out: Path, change: Any) -> Path:
    """A copy of the archive with ``change(name, data) -> data | None`` applied to each member."""
    buffer = io.BytesIO()
    with tarfile.open(archive, "r:gz") as src, tarfile.open(fileobj=buffer, mode="w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    out.write_bytes(buffer.getvalue())
    return out


def test_backup_restores_rows_and_files_exactly(
    api: Api,
    aerie_env: Path,
    database_url: str,
    second_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = populate(api)
    info = make_backup(tmp_path / "aerie.tar.gz")
    assert info.rows["part"] == 3 and info.rows["part_event"] >= 6 and info.files >= 2
    assert info.warnings == []
    rows, files = table_rows(database_url), stored_files(aerie_env)
    with tarfile.open(info.path, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert (
        manifest["alembic_revision"]
        and manifest["dialect"] == database_url.split(":")[0].split("+")[0]
    )
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == {
        k: len(v) for k, v in rows.items()
    }
    assert set(manifest["members"]) == {f"db/{t}.jsonl" for t in rows} | {
        f"files/{name}" for name in files
    }

    second = tmp_path / "second"
    switch_to(monkeypatch, second_url, second)
    done = restore(info.path)
    assert done.rows == {k: len(v) for k, v in rows.items()}
    assert table_rows(second_url) == rows
    restored = stored_files(second)
    assert {k: v[0] for k, v in restored.items()} == {k: v[0] for k, v in files.items()}
    for name, (_, mtime) in files.items():
        assert restored[name][1] == pytest.approx(mtime, abs=1e-5), name
    assert not [p for p in second.iterdir() if p.name.startswith(".aerie-restore")]

    # The restored instance works: the key's hash came back, search finds parts, files download,
    # and a new part gets a fresh id (PostgreSQL's sequences were moved past the restored ids).
    assert api.get("/api/keys/me", key=made["key"]).json()["name"] == "cad script"
    found = api.get("/api/parts/", params={"search": "ÜNÏCØDÉ"}).json()["parts"]
    assert [p["name"] for p in found] == ["Ünïcødé bracket"]
    assert api.get(f"/api/parts/{made['pdf_part']}/download").content == PDF
    assert api.get(f"/api/parts/{made['pdf_part']}/views/0").content == PNG
    assert api.create(name="After restore")["id"] == max(r["id"] for r in rows["part"]) + 1


def test_restore_refuses_a_non_empty_target_unless_forced(
    api: Api, aerie_env: Path, database_url: str, tmp_path: Path
) -> None:
    populate(api)
    info = make_backup(tmp_path / "aerie.tar.gz")
    rows, files = table_rows(database_url), stored_files(aerie_env)
    extra = api.create(name="Made after the backup")["id"]
    with pytest.raises(Conflict) as refused:
        restore(info.path)
    assert refused.value.details["occupied"]["part"] == 4
    assert api.get(f"/api/parts/{extra}").status_code == 200  # nothing was touched

    restore(info.path, force=True)
    assert table_rows(database_url) == rows
    assert stored_files(aerie_env) == files
    assert api.get(f"/api/parts/{extra}").status_code == 404


@pytest.mark.pg
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_backup_restores_into_postgresql(
    api: Api, aerie_env: Path, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dump is dialect-neutral: a shop that outgrows SQLite moves with backup and restore."""
    require_services(postgresql=True)
    made = populate(api)
    info = make_backup(tmp_path / "aerie.tar.gz")
    rows, files = table_rows(database_url), stored_files(aerie_env)
    target = tmp_path / "pg-data"
    pg = _pg_database()
    url = next(pg)
    try:
        switch_to(monkeypatch, url, target)
        restore(info.path)
        assert table_rows(url) == rows
        assert {k: v[0] for k, v in stored_files(target).items()} == {
            k: v[0] for k, v in files.items()
        }
        assert api.get("/api/keys/me", key=made["key"]).status_code == 200
        assert api.create(name="Next")["id"] == 4
    finally:
        pg.close()


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def _damage_member(name: str, data: bytes) -> bytes:
    return _flip(data) if name.startswith("files/blobs/") else data


def _wrong_checksum(name: str, data: bytes) -> bytes:
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    member = next(m for m in manifest["members"] if m.startswith("db/part."))
    manifest["members"][member]["sha256"] = "0" * 64
    return json.dumps(manifest).encode()


def _extra_rows(name: str, data: bytes) -> bytes:
    return data + data if name == "db/part_event.jsonl" else data


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flipped member byte", "checksum mismatch in 'files/blobs/"),
        ("wrong manifest checksum", "checksum mismatch in 'db/part.jsonl'"),
        ("member dropped", "is missing from the archive"),
        ("member added", "not listed in the manifest"),
        ("no manifest", "no manifest.json"),
        ("truncated archive", "damaged"),
        ("flipped compressed byte", "damaged"),
        ("not a tar.gz", "damaged"),
    ],
)
def test_damaged_archive_is_refused_and_nothing_is_written(
    api: Api,
    aerie_env: Path,
    second_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: str,
    message: str,
) -> None:
    populate(api)
    good = make_backup(tmp_path / "good.tar.gz").path
    bad = tmp_path / "bad.tar.gz"
    raw = good.read_bytes()
    if damage == "flipped member byte":
        rewrite(good, bad, _damage_member)
    elif damage == "wrong manifest checksum":
        rewrite(good, bad, _wrong_checksum)
    elif damage == "member dropped":
        rewrite(good, bad, lambda n, d: None if n == "db/preset.jsonl" else d)
    elif damage == "member added":
        with tarfile.open(good, "r:gz") as tar:
            members = [(m, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            extra = tarfile.TarInfo("files/parts/1/evil.txt")
            extra.size = 4
            tar.addfile(extra, io.BytesIO(b"evil"))
            for member, data in members:
                tar.addfile(member, io.BytesIO(data))
        bad.write_bytes(buffer.getvalue())
    elif damage == "no manifest":
        rewrite(good, bad, lambda n, d: None if n == "manifest.json" else d)
    elif damage == "truncated archive":
        bad.write_bytes(raw[: len(raw) * 2 // 3])
    elif damage == "flipped compressed byte":
        bad.write_bytes(_flip(raw))
    else:
        bad.write_bytes(gzip.compress(b"just some text"))

    second = tmp_path / "second"
    switch_to(monkeypatch, second_url, second)
    with pytest.raises(Unprocessable) as refused:
        restore(bad)
    assert message in refused.value.message
    assert cli.main(["restore", str(bad)]) == 1
    # Nothing written: no folder, no SQLite file (it lives in that folder), no PostgreSQL table.
    assert everything_under(second) == []
    if second_url.startswith("postgresql"):
        engine = make_engine(second_url)
        try:
            assert sa.inspect(engine).get_table_names() == []
        finally:
            engine.dispose()


def test_row_count_mismatch_is_refused(
    api: Api, aerie_env: Path, tmp_path: Path, database_url: str
) -> None:
    populate(api)
    good = make_backup(tmp_path / "good.tar.gz").path
    bad = rewrite(good, tmp_path / "bad.tar.gz", _extra_rows)
    # Keep the checksum right, so only the row count can tell.
    fixed = tmp_path / "fixed.tar.gz"

    def fix(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        import hashlib

        manifest = json.loads(data)
        with tarfile.open(bad, "r:gz") as tar:
            events = tar.extractfile("db/part_event.jsonl").read()  # type: ignore[union-attr]
        manifest["members"]["db/part_event.jsonl"] = {
            "sha256": hashlib.sha256(events).hexdigest(),
            "size": len(events),
        }
        return json.dumps(manifest).encode()

    rewrite(bad, fixed, fix)
    before = table_rows(database_url)
    with pytest.raises(Unprocessable, match="rows the manifest lists"):
        restore(fixed, force=True)
    assert table_rows(database_url) == before


def test_cli_backup_and_restore(
    api: Api,
    aerie_env: Path,
    database_url: str,
    second_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    populate(api)
    out = tmp_path / "cli.tar.gz"
    assert cli.main(["backup", "--out", str(out)]) == 0
    assert f"Backup written to {out}" in capsys.readouterr().out
    rows = table_rows(database_url)
    switch_to(monkeypatch, second_url, tmp_path / "second")
    assert cli.main(["restore", str(out)]) == 0
    assert "Restored the backup" in capsys.readouterr().out
    assert table_rows(second_url) == rows
    assert cli.main(["restore", str(out)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert cli.main(["restore", str(tmp_path / "nope.tar.gz")]) == 1
    assert "No backup archive" in capsys.readouterr().err


# --- the daily schedule ---------------------------------------------------------------------------


@pytest.fixture
def backup_folder(aerie_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "backups"
    monkeypatch.setenv("AERIE_BACKUP_DIR", str(folder))
    monkeypatch.setenv("AERIE_BACKUP_KEEP", "2")
    reset_caches()
    return folder


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_scheduler_backs_up_daily_and_keeps_the_newest(backup_folder: Path) -> None:
    scheduler = backup.BackupScheduler()
    t0 = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    first = scheduler.run_once(now=t0)
    assert first is not None and first.name == "aerie-backup-20260101T030000Z.tar.gz"
    backup.verify_archive(first)
    (backup_folder / "notes.txt").write_text("not a backup")
    assert scheduler.run_once(now=t0 + timedelta(hours=23, minutes=59)) is None
    second = scheduler.run_once(now=t0 + timedelta(hours=24))
    assert second is not None and second != first
    third = scheduler.run_once(now=t0 + timedelta(hours=50))
    assert third is not None
    assert backup.list_backups(backup_folder) == [third, second]
    assert not first.exists() and (backup_folder / "notes.txt").exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_scheduler_skips_while_another_process_backs_up(backup_folder: Path) -> None:
    backup_folder.mkdir()
    with _folder_lock(backup_folder) as locked:
        assert locked
        assert backup.BackupScheduler().run_once() is None
    assert backup.BackupScheduler().run_once() is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_scheduler_thread_runs_only_when_enabled(
    backup_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = backup.BackupScheduler(interval_s=3600)
    scheduler.start()
    assert scheduler._thread is None
    monkeypatch.setenv("AERIE_BACKUP_DAILY", "true")
    reset_caches()
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        while not backup.list_backups(backup_folder) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(backup.list_backups(backup_folder)) == 1
    finally:
        scheduler.stop()
    assert scheduler._thread is None
    assert not [t for t in threading.enumerate() if t.name == "backup-scheduler"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_conversion_worker_writes_the_daily_backup(
    backup_folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``python -m aerie_app worker`` on a host with AERIE_BACKUP_DAILY on writes the backup
    (so a team can keep it off its web hosts), and stops cleanly on SIGTERM."""
    monkeypatch.setenv("AERIE_BACKUP_DAILY", "true")
    log = tmp_path / "worker.log"
    with job_worker(log) as worker:
        deadline = time.monotonic() + 90
        while not backup.list_backups(backup_folder) and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text(errors="replace")
            time.sleep(0.1)
        assert len(backup.list_backups(backup_folder)) == 1, log.read_text(errors="replace")
        assert f"daily backup to {backup_folder}" in log.read_text()
    assert "Conversion worker stopped." in log.read_text()
