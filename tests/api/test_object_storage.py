"""Files in an S3-compatible bucket (issue 15), against a real S3 endpoint on loopback: moto's
standalone server, which speaks the S3 REST protocol boto3 uses with any store.

With ``AERIE_S3_BUCKET`` set, an upload is in the bucket before the database records it, a
conversion's model, thumbnail and views go there too, and a second host with an empty data
folder (same database, same bucket) serves every file. A store that does not answer is a 503 in
Aerie's error shape with nothing recorded, and the same upload succeeds once it is back.
Deleting a part removes its objects; a backup taken on a host with an empty cache holds every
object, and a restore puts them back in an empty bucket.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from aerie_app.services import conversions
from tests.api.conftest import Api
from tests.conftest import reset_caches
from tests.s3_server import CREDENTIALS, free_port, s3_server

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


@pytest.fixture
def bucket(s3_endpoint: str, aerie_env: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    name = f"aerie-{os.urandom(4).hex()}"
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    monkeypatch.setenv("AERIE_S3_BUCKET", name)
    monkeypatch.setenv("AERIE_S3_ENDPOINT_URL", s3_endpoint)
    reset_caches()

    class Bucket:
        def listing(self) -> list[str]:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

        def get(self, key: str) -> bytes:
            return bytes(client.get_object(Bucket=name, Key=key)["Body"].read())

        def empty(self) -> None:
            for key in self.listing():
                client.delete_object(Bucket=name, Key=key)

    return Bucket()


def _second_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> Path:
    """Another machine: the same database and bucket, a data folder of its own, empty."""
    data = tmp_path / name
    data.mkdir()
    monkeypatch.setenv("AERIE_DATA_DIR", str(data))
    reset_caches()
    return data


def _upload(api: Api, pid: int, name: str, data: bytes) -> Any:
    return api.post(f"/api/parts/{pid}/upload", files={"file": (name, io.BytesIO(data))})


def test_an_upload_and_its_model_live_in_the_bucket_and_any_host_serves_them(
    api: Api, bucket: Any, steps: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = (steps / "plate_with_holes.step").read_bytes()
    pid = api.create(name="Plate")["id"]
    response = _upload(api, pid, "plate.step", step)
    assert response.status_code == 201, response.text
    sha = response.json()["file"]["sha256"]
    assert f"blobs/{sha[:2]}/{sha}" in bucket.listing()
    assert conversions.queue.wait_idle(180)
    assert api.get(f"/api/parts/{pid}/conversion").json()["status"] == "ready"
    keys = bucket.listing()
    assert f"models/{sha}/model.glb" in keys
    assert f"models/{sha}/thumb.png" in keys
    assert any(k.startswith(f"models/{sha}/views/") for k in keys), keys
    glb = api.get(f"/api/parts/{pid}/model?format=plain").content

    data = _second_host(monkeypatch, tmp_path, "host-b")
    assert not any(data.rglob("*.glb"))
    download = api.get(f"/api/parts/{pid}/download")
    assert download.status_code == 200 and download.content == step
    model = api.get(f"/api/parts/{pid}/model?format=plain")
    assert model.status_code == 200 and model.content == glb
    assert api.get(f"/api/parts/{pid}/model").status_code == 200  # the compressed copy
    thumb = api.get(f"/api/parts/{pid}/thumbnail")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    views = api.get(f"/api/parts/{pid}/views").json()["views"]
    assert views and views["files"]
    # The same content uploaded to another part on this host: stored once, converted never again.
    other = api.create(name="Plate copy")["id"]
    again = _upload(api, other, "copy.step", step)
    assert again.json()["conversion"]["status"] == "ready"
    assert len([k for k in bucket.listing() if k.startswith("blobs/")]) == 1


def test_an_unreachable_store_is_a_503_and_nothing_is_recorded(
    api: Api, bucket: Any, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = api.create(name="Bracket")["id"]
    monkeypatch.setenv("AERIE_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    reset_caches()
    started = time.monotonic()
    response = _upload(api, pid, "bracket.pdf", b"%PDF-1.4\n" + b"x" * 2000)
    assert response.status_code == 503, response.text
    assert time.monotonic() - started < 30
    body = response.json()
    assert body["error"].startswith("File storage is unavailable") and "Try again" in body["error"]
    assert body["details"]["store"].startswith("s3://aerie-")
    assert api.get(f"/api/parts/{pid}/files").json()["files"] == []
    assert api.get(f"/api/parts/{pid}").json()["file"] in (None, "")
    assert bucket.listing() == []
    # The store is back: the same request now succeeds.
    monkeypatch.setenv("AERIE_S3_ENDPOINT_URL", s3_endpoint)
    reset_caches()
    retried = _upload(api, pid, "bracket.pdf", b"%PDF-1.4\n" + b"x" * 2000)
    assert retried.status_code == 201, retried.text
    assert len(bucket.listing()) == 1


def test_deleting_a_part_removes_its_objects(api: Api, bucket: Any) -> None:
    keep = api.create(name="Keep")["id"]
    drop = api.create(name="Drop")["id"]
    assert _upload(api, keep, "a.pdf", b"%PDF-1.4\nkeep" + b"k" * 100).status_code == 201
    assert _upload(api, drop, "b.pdf", b"%PDF-1.4\ndrop" + b"d" * 100).status_code == 201
    assert len(bucket.listing()) == 2
    assert api.delete(f"/api/parts/{drop}").status_code in (200, 204)
    remaining = bucket.listing()
    assert len(remaining) == 1
    assert bucket.get(remaining[0]).startswith(b"%PDF-1.4\nkeep")


def test_a_backup_holds_the_bucket_and_a_restore_refills_it(
    api: Api,
    bucket: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    from aerie_app.db import session_scope
    from aerie_app.services import backup

    pid = api.create(name="Archived")["id"]
    pdf = b"%PDF-1.4\narchived" + b"a" * 500
    assert _upload(api, pid, "a.pdf", pdf).status_code == 201
    _second_host(monkeypatch, tmp_path, "backup-host")  # its cache is empty
    archive = tmp_path / "aerie.tar.gz"
    with session_scope() as session:
        made = backup.create_backup(session, out=archive)
    assert made.files == 1 and not made.warnings, made
    bucket.empty()
    if database_url.startswith("sqlite"):
        monkeypatch.setenv("AERIE_DATABASE_URL", f"sqlite:///{tmp_path / 'restored.db'}")
        force = False
    else:
        force = True  # the test's own PostgreSQL database, replaced
    _second_host(monkeypatch, tmp_path, "restored-host")
    with session_scope() as session:
        backup.restore_backup(session, archive=archive, force=force)
    assert len(bucket.listing()) == 1
    assert bucket.get(bucket.listing()[0]) == pdf
    _second_host(monkeypatch, tmp_path, "after-restore")
    assert api.get(f"/api/parts/{pid}/download").content == pdf


def test_downloads_redirect_to_the_bucket_when_the_admin_allows(
    api: Api, bucket: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AERIE_S3_PRESIGNED_DOWNLOADS_S: after the key is checked, a download is a 307 to a
    presigned URL the store answers with the file and the same name and disposition; off (the
    default) Aerie streams it; a file missing from the bucket is Aerie's own 404."""
    import httpx

    pid = api.create(name="Bracket")["id"]
    first = b"%PDF-1.4\nfirst" + b"1" * 500
    second = b"%PDF-1.4\nsecond" + b"2" * 500
    assert _upload(api, pid, "bracket rev A.pdf", first).status_code == 201
    assert _upload(api, pid, "bracket.pdf", second).status_code == 201
    streamed = api.get(f"/api/parts/{pid}/download", follow_redirects=False)
    assert streamed.status_code == 200 and streamed.content == second

    monkeypatch.setenv("AERIE_S3_PRESIGNED_DOWNLOADS_S", "300")
    reset_caches()
    _second_host(monkeypatch, tmp_path, "web2")  # nothing cached: the bytes come from the bucket
    assert api.get(f"/api/parts/{pid}/download", key="", follow_redirects=False).status_code == 401
    cases = [
        (f"/api/parts/{pid}/download", second, 'attachment; filename="bracket.pdf"'),
        (f"/api/parts/{pid}/file", second, 'inline; filename="bracket.pdf"'),
    ]
    revisions = api.get(f"/api/parts/{pid}/files").json()["files"]
    oldest = min(revisions, key=lambda r: r["revision"])
    cases.append(
        (
            f"/api/parts/{pid}/files/{oldest['id']}/download",
            first,
            f'attachment; filename="{oldest["name"]}"',  # as stored: bracket_rev_A.pdf
        )
    )
    for url, content, disposition in cases:
        answer = api.get(url, follow_redirects=False)
        assert answer.status_code == 307, (url, answer.text)
        assert answer.headers["cache-control"] == "no-store"
        location = answer.headers["location"]
        assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
        fetched = httpx.get(location)
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == content
        assert fetched.headers["content-disposition"] == disposition
        assert fetched.headers["content-type"] == "application/pdf"
    cached = [f.read_bytes() for f in (tmp_path / "web2").rglob("*") if f.is_file()]
    assert first not in cached and second not in cached, "the bytes went through this host"

    bucket.empty()
    missing = api.get(f"/api/parts/{pid}/download", follow_redirects=False)
    assert missing.status_code == 404 and "missing" in missing.json()["error"]


@pytest.mark.parametrize(
    ("name", "inline", "header"),
    [
        ("bracket.pdf", False, 'attachment; filename="bracket.pdf"'),
        ("bracket.pdf", True, 'inline; filename="bracket.pdf"'),
        ("Lager ø20.step", False, "attachment; filename*=utf-8''Lager%20%C3%B820.step"),
        ('a"b.pdf', False, "attachment; filename*=utf-8''a%22b.pdf"),
    ],
)
def test_the_presigned_disposition_names_the_file_safely(
    name: str, inline: bool, header: str
) -> None:
    from aerie_app.services.storage import content_disposition

    assert content_disposition(name, inline=inline) == header
