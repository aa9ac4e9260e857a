"""Uploads, revisions, downloads and the background conversion, through the API (real STEP files)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest

from aerie_app.services import conversions
from tests.api.conftest import Api

pytestmark = pytest.mark.api
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def plate(steps: Path) -> Path:
    """A 120 × 80 × 6 mm plate with holes (tests/step_fixtures.py)."""
    return steps / "plate_with_holes.step"


def upload(api: Api, pid: int, name: str, data: bytes):
    return api.post(f"/api/parts/{pid}/upload", files={"file": (name, io.BytesIO(data))})


def all_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "files").rglob("*") if p.is_file()]


def test_pdf_upload_download_and_revisions(api: Api, aerie_env: Path) -> None:
    pid = api.create()["id"]
    response = upload(api, pid, "Drawing v1.pdf", PDF)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "File uploaded successfully"
    assert body["filename"] == "Drawing_v1.pdf"
    assert not body["file_path"].startswith("/") and "files/blobs/" in body["file_path"]
    assert "conversion" not in body
    assert api.get(f"/api/parts/{pid}").json()["file"] == "Drawing_v1.pdf"
    inline = api.get(f"/api/parts/{pid}/file")
    assert inline.status_code == 200 and inline.content == PDF
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline")
    attachment = api.get(f"/api/parts/{pid}/download")
    assert attachment.headers["content-disposition"].startswith("attachment")
    second = PDF.replace(b"1.4", b"1.7")
    upload(api, pid, "Drawing v2.pdf", second)
    revisions = api.get(f"/api/parts/{pid}/files").json()["files"]
    assert [r["revision"] for r in revisions] == [2, 1]
    assert [r["current"] for r in revisions] == [True, False]
    old = api.get(f"/api/parts/{pid}/files/{revisions[1]['id']}/download")
    assert old.content == PDF
    assert api.get(f"/api/parts/{pid}/file").content == second
    assert api.get(f"/api/parts/{pid}/model").status_code == 404
    kinds = [e["kind"] for e in api.get(f"/api/parts/{pid}/events").json()["events"]]
    assert kinds.count("upload") == 2


@pytest.mark.parametrize(
    ("name", "data", "status", "needle"),
    [
        ("part.exe", b"MZ...", 400, "Invalid file type"),
        ("part.step", b"", 422, "empty"),
        ("part.step", b"\x89PNG\r\n\x1a\n" + b"0" * 100, 422, "ISO-10303-21"),
        ("drawing.pdf", b"hello", 422, "%PDF"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    api: Api, aerie_env: Path, name: str, data: bytes, status: int, needle: str
) -> None:
    pid = api.create()["id"]
    response = upload(api, pid, name, data)
    assert response.status_code == status
    assert needle in str(response.json())
    assert "error" in response.json()
    assert [p for p in all_files(aerie_env) if "blobs" in p.parts] == []
    assert not any(p.name.startswith("upload-") for p in all_files(aerie_env))
    assert api.get(f"/api/parts/{pid}").json()["file"] is None


def test_upload_without_file_field(api: Api) -> None:
    pid = api.create()["id"]
    response = api.post(f"/api/parts/{pid}/upload", data={"other": "x"})
    assert response.status_code == 400 and response.json()["error"] == "No file provided"
    assert upload(api, 999, "a.pdf", PDF).status_code == 404


def test_upload_size_limit(api: Api, aerie_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import reset_caches

    monkeypatch.setenv("AERIE_MAX_UPLOAD_MB", "1")
    reset_caches()
    pid = api.create()["id"]
    response = upload(api, pid, "big.pdf", b"%PDF" + b"0" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert (
        response.json()["error"].startswith("Payload too large")
        or "limit" in response.json()["error"]
    )
    assert not any(p.name.startswith("upload-") for p in all_files(aerie_env))


@pytest.mark.parametrize("name", ["é" * 300 + ".pdf", "Ünïcødé Halter.pdf", "../../x/../y.pdf"])
def test_odd_file_names(api: Api, name: str) -> None:
    pid = api.create()["id"]
    response = upload(api, pid, name, PDF)
    assert response.status_code == 201
    stored = response.json()["filename"]
    assert stored.endswith(".pdf") and len(stored) <= 120
    assert "/" not in stored and ".." not in stored


def test_delete_part_deletes_its_files(api: Api, aerie_env: Path) -> None:
    keep = api.create()["id"]
    gone = api.create()["id"]
    upload(api, keep, "a.pdf", PDF)
    upload(api, gone, "b.pdf", PDF.replace(b"1.4", b"1.5"))
    upload(api, gone, "shared.pdf", PDF)  # same content as keep's file: must survive
    api.delete(f"/api/parts/{gone}")
    blobs = [p for p in all_files(aerie_env) if "blobs" in p.parts]
    assert len(blobs) == 1
    assert api.get(f"/api/parts/{keep}/file").content == PDF


def test_old_client_views_roundtrip(api: Api) -> None:
    pid = api.create()["id"]
    assert api.get(f"/api/parts/{pid}/views").json() == {"views": None}
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    response = api.post(
        f"/api/parts/{pid}/views",
        files={"view_0": ("v0.png", png), "view_3": ("v3.png", png)},
    )
    assert response.status_code == 200 and response.json()["success"] is True
    assert set(response.json()["views"]["files"]) == {"0", "3"}
    assert api.get(f"/api/parts/{pid}/views/3").content == png
    assert api.get(f"/api/parts/{pid}/views/5").status_code == 404
    bad = api.post(f"/api/parts/{pid}/views", files={"view_1": ("x.png", b"GIF89a")})
    assert bad.status_code == 422


@pytest.mark.cad
def test_step_upload_converts_in_background(api: Api, aerie_env: Path, plate: Path) -> None:
    pid = api.create(material="Acetal")["id"]
    response = upload(api, pid, plate.name, plate.read_bytes())
    assert response.status_code == 201
    assert response.json()["conversion"]["status"] in ("queued", "running", "ready")
    assert conversions.queue.wait_idle(120)
    model = api.get(f"/api/parts/{pid}/model")
    assert model.status_code == 200, model.text
    assert model.headers["content-type"] == "model/gltf-binary"
    assert model.content[:4] == b"glTF"
    thumb = api.get(f"/api/parts/{pid}/thumbnail")
    assert thumb.status_code == 200 and thumb.content[:8] == b"\x89PNG\r\n\x1a\n"
    part = api.get(f"/api/parts/{pid}").json()
    stock = part["geometry"]["stockMm"]
    assert sorted(round(v, 1) for v in stock) == [6.0, 80.0, 120.0]
    assert part["geometry"]["massG"] and part["geometry"]["massG"] > 0
    views = api.get(f"/api/parts/{pid}/views").json()["views"]
    assert len(views["files"]) == 8
    assert api.get(f"/api/parts/{pid}/views/7").content[:4] == b"\x89PNG"
    status = api.get(f"/api/parts/{pid}/conversion").json()
    assert status["status"] == "ready" and status["facts"]["triangles"] > 0
    sortable = api.get("/api/parts/?sort_by=mass_g").json()
    assert sortable["parts"][0]["id"] == pid
    mass = part["geometry"]["massG"]
    assert [p["id"] for p in api.get(f"/api/parts/?min_mass_g={mass - 0.01}").json()["parts"]] == [
        pid
    ]
    assert api.get(f"/api/parts/?max_mass_g={mass / 2}").json()["total"] == 0
    assert api.get("/api/parts/?has_model=false").json()["total"] == 0
    assert api.get("/api/parts/?has_model=true").json()["total"] == 1


@pytest.mark.cad
def test_model_is_served_compressed_unless_plain_is_asked(
    api: Api, aerie_env: Path, plate: Path
) -> None:
    pid = api.create(material="6061")["id"]
    assert upload(api, pid, plate.name, plate.read_bytes()).status_code == 201
    assert conversions.queue.wait_idle(120)
    packed = api.get(f"/api/parts/{pid}/model")
    plain = api.get(f"/api/parts/{pid}/model?format=plain")
    assert packed.status_code == plain.status_code == 200
    assert packed.headers["content-type"] == plain.headers["content-type"] == "model/gltf-binary"
    assert b"EXT_meshopt_compression" in packed.content[:4096]
    assert b"EXT_meshopt_compression" not in plain.content[:4096]
    assert len(packed.content) <= 0.35 * len(plain.content)
    assert (
        packed.headers["etag"].endswith('-meshopt"')
        and packed.headers["etag"] != plain.headers["etag"]
    )
    assert api.get(f"/api/parts/{pid}/model?format=meshopt").content == packed.content
    # The ghost route (one revision's model) takes the same choice.
    file_id = api.get(f"/api/parts/{pid}/files").json()["files"][0]["id"]
    assert api.get(f"/api/parts/{pid}/files/{file_id}/model").content == packed.content
    ghost_plain = api.get(f"/api/parts/{pid}/files/{file_id}/model?format=plain")
    assert ghost_plain.content == plain.content

    bad = api.get(f"/api/parts/{pid}/model?format=draco")
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "format", bad.text

    # A model converted before compression existed (no copy on disk) is served plain.
    for copy in aerie_env.rglob("model.meshopt.glb"):
        copy.unlink()
    fallback = api.get(f"/api/parts/{pid}/model")
    assert fallback.content == plain.content and fallback.headers["etag"] == plain.headers["etag"]


@pytest.mark.cad
def test_failed_conversion_keeps_part_and_says_why(api: Api, steps: Path) -> None:
    pid = api.create(name="Truncated")["id"]
    response = upload(api, pid, "half.step", (steps / "truncated.step").read_bytes())
    assert response.status_code == 201
    assert conversions.queue.wait_idle(120)
    model = api.get(f"/api/parts/{pid}/model")
    assert model.status_code == 422
    assert model.json()["error"] == "Conversion failed" and model.json()["details"]
    part = api.get(f"/api/parts/{pid}").json()
    assert part["name"] == "Truncated" and part["file"] == "half.step"
    events = api.get(f"/api/parts/{pid}/events").json()["events"]
    assert any(e["kind"] == "conversion" and "failed" in (e["note"] or "") for e in events)


@pytest.mark.cad
def test_same_file_uploaded_concurrently_converts_once(api: Api, plate: Path) -> None:
    data = plate.read_bytes()
    ids = [api.create(name=f"Copy {i}")["id"] for i in range(4)]
    results: list[int] = []

    def send(pid: int) -> None:
        results.append(upload(api, pid, plate.name, data).status_code)

    threads = [threading.Thread(target=send, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 4
    assert conversions.queue.wait_idle(120)
    seconds = set()
    for pid in ids:
        status = api.get(f"/api/parts/{pid}/conversion").json()
        assert status["status"] == "ready"
        seconds.add(status["seconds"])
    assert len(seconds) == 1  # one conversion's timing shared by every copy
    # A copy uploaded after the model was ready reuses it, and says how long it took.
    late = api.create(name="Late copy")["id"]
    response = upload(api, late, plate.name, data)
    assert response.json()["conversion"]["status"] == "ready"
    assert api.get(f"/api/parts/{late}/conversion").json()["seconds"] in seconds


@pytest.mark.cad
def test_content_whose_conversion_failed_is_tried_again(
    api: Api, plate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure is not "converted once": the same bytes uploaded again (or POST …/convert)
    convert anew, and every part showing that content gets the new outcome."""
    from aerie_app.cad.worker import CRASH_ENV

    first = api.create(name="First")["id"]
    monkeypatch.setenv(CRASH_ENV, "1")  # the server's fault, not the file's
    assert upload(api, first, plate.name, plate.read_bytes()).status_code == 201
    assert conversions.queue.wait_idle(120)
    failed = api.get(f"/api/parts/{first}/conversion").json()
    assert failed["status"] == "failed" and "crashed" in failed["error"]
    monkeypatch.delenv(CRASH_ENV)
    second = api.create(name="Second")["id"]
    again = upload(api, second, plate.name, plate.read_bytes())
    assert again.status_code == 201 and again.json()["conversion"]["status"] == "queued"
    assert conversions.queue.wait_idle(120)
    for pid in (first, second):
        status = api.get(f"/api/parts/{pid}/conversion").json()
        assert status["status"] == "ready", status
        assert api.get(f"/api/parts/{pid}/model").status_code == 200
    # And an explicit retry of a failed conversion works the same way.
    monkeypatch.setenv(CRASH_ENV, "1")
    third = api.create(name="Third")["id"]
    bracket = (plate.parent / "bent_bracket.step").read_bytes()
    assert upload(api, third, "bracket.step", bracket).status_code == 201
    assert conversions.queue.wait_idle(120)
    assert api.get(f"/api/parts/{third}/conversion").json()["status"] == "failed"
    monkeypatch.delenv(CRASH_ENV)
    retry = api.post(f"/api/parts/{third}/convert")
    assert retry.status_code in (200, 202), retry.text
    assert conversions.queue.wait_idle(120)
    assert api.get(f"/api/parts/{third}/conversion").json()["status"] == "ready"


def test_claims_respect_the_global_cap(api: Api, session) -> None:
    """However many server workers poll, no more than `limit` conversions run at once."""
    from aerie_app.models import PartFile

    for i in range(3):
        pid = api.create(name=f"cap {i}")["id"]
        session.add(
            PartFile(
                part_id=pid,
                kind="step",
                display_name="x.step",
                size=1,
                sha256=f"{i:064x}",
                conversion_status="queued",
            )
        )
    session.commit()
    assert conversions.claim(session, f"{0:064x}", limit=2) is True
    assert conversions.claim(session, f"{0:064x}", limit=2) is False  # already running
    assert conversions.claim(session, f"{1:064x}", limit=2) is True
    assert conversions.claim(session, f"{2:064x}", limit=2) is False  # cap reached
    conversions.finish(session, f"{0:064x}", facts=None, error="test", seconds=None)
    assert conversions.claim(session, f"{2:064x}", limit=2) is True


def test_a_revision_queued_late_is_never_converted_twice(api: Api, session) -> None:
    """An upload decides "reuse or queue" before it commits; a conversion of the same content
    may start or finish meanwhile (two server workers on PostgreSQL). The claim settles it."""
    from aerie_app.models import PartFile
    from aerie_app.services import storage

    sha = f"{7:064x}"

    def revision(name: str, status: str, **extra: object) -> PartFile:
        session.rollback()  # end this session's read snapshot: the API writes in between
        pid = api.create(name=name)["id"]
        row = PartFile(
            part_id=pid,
            kind="step",
            display_name="x.step",
            size=1,
            sha256=sha,
            is_current=True,
            conversion_status=status,
            **extra,
        )
        session.add(row)
        session.commit()
        return row

    first = revision("first", "queued")
    assert conversions.claim(session, sha) is True
    # Queued while the first one runs: not claimed again; the running job's finish takes it along.
    late = revision("late", "queued")
    assert conversions.claim(session, sha) is False
    (storage.model_dir(sha)).mkdir(parents=True, exist_ok=True)
    (storage.model_dir(sha) / "model.glb").write_bytes(b"glTF")
    conversions.finish(session, sha, facts={"solids": 1}, error=None, seconds=0.25)
    session.expire_all()
    assert session.get(PartFile, late.id).conversion_status == "ready"
    # Queued after it finished (the upload had looked before the finish committed): the finished
    # model is reused, with its facts and its time, and nothing runs.
    later = revision("later", "queued")
    assert conversions.claim(session, sha) is False
    session.expire_all()
    row = session.get(PartFile, later.id)
    assert (row.conversion_status, row.facts, row.conversion_seconds) == (
        "ready",
        {"solids": 1},
        0.25,
    )
    assert api.get(f"/api/parts/{later.part_id}/conversion").json()["status"] == "ready"
    # Without the model on disk (a restored database, a cleared cache) it is converted again.
    (storage.model_dir(sha) / "model.glb").unlink()
    again = revision("again", "queued")
    assert conversions.claim(session, sha) is True
    session.expire_all()
    assert session.get(PartFile, again.id).conversion_status == "running"
    assert session.get(PartFile, first.id).conversion_status == "ready"


@pytest.mark.cad
def test_garbage_step_fails_cleanly_while_server_answers(api: Api, aerie_env: Path) -> None:
    """60 MB of garbage behind a valid STEP header: the job fails, nothing else suffers."""
    pid = api.create(name="Garbage")["id"]
    garbage = b"ISO-10303-21;\nHEADER;\n" + os.urandom(60 * 1024 * 1024)
    response = upload(api, pid, "garbage.step", garbage)
    assert response.status_code == 201
    sha = response.json()["file"]["sha256"]
    kicked = threading.Thread(target=conversions.queue.wait_idle, args=(180,))
    kicked.start()
    while kicked.is_alive():
        assert api.client.get("/api/health").status_code == 200  # the server keeps answering
        assert api.get(f"/api/parts/{pid}").status_code == 200
        kicked.join(0.5)
    model = api.get(f"/api/parts/{pid}/model")
    assert model.status_code == 422 and model.json()["details"]
    assert not any((aerie_env / "files" / "models" / sha).glob("*.glb"))
    assert not list((aerie_env / "files" / "tmp").glob("*"))
    assert api.get(f"/api/parts/{pid}").json()["name"] == "Garbage"
