"""An S3-compatible object store (AWS S3, MinIO, Ceph, Garage…) through boto3.

Only what Aerie's file storage needs: put a file, fetch one to a local path, ask whether a key
exists, list and delete keys under a prefix. Every failure to reach the store (refused, timed
out, bad credentials, missing bucket) leaves as :class:`aerie_app.errors.StorageUnavailable`, a
503 with a message a person can act on; a key that does not exist is ``False``, not an error.
Timeouts are short: a store that is down costs a request a few seconds, not a minute.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from aerie_app.errors import StorageUnavailable

# Everything reaching the store can raise: connection and timeout errors (botocore), the
# store's own refusals (ClientError), boto3's transfer wrappers, and local disk errors.
FAILURES = (BotoCoreError, ClientError, Boto3Error, OSError)

log = logging.getLogger("aerie.objectstore")


class S3Store:
    def __init__(
        self, bucket: str, *, endpoint_url: str | None, region: str, prefix: str = ""
    ) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                connect_timeout=3,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
                signature_version="s3v4",  # presigned URLs too (boto3 presigns with v2 else)
                s3={"addressing_style": "path"} if endpoint_url else None,
            ),
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _unavailable(self, exc: Exception, what: str) -> StorageUnavailable:
        log.warning("object store: %s failed: %s", what, exc)
        reason = type(exc).__name__
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return StorageUnavailable(
            "File storage is unavailable; nothing was stored. Try again shortly",
            {"store": f"s3://{self.bucket}", "reason": code or reason},
        )

    def put(self, key: str, path: Path) -> None:
        """Upload a file. A file that vanished meanwhile raises FileNotFoundError, not 503."""
        try:
            self.client.upload_file(str(path), self.bucket, self._key(key))
        except FileNotFoundError:
            raise
        except FAILURES as exc:
            raise self._unavailable(exc, f"put {key}") from None

    def fetch(self, key: str, dest: Path) -> bool:
        """Download ``key`` to ``dest`` (written whole, then renamed). False when it is absent."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            self.client.download_file(self.bucket, self._key(key), str(tmp))
        except ClientError as exc:
            tmp.unlink(missing_ok=True)
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._unavailable(exc, f"get {key}") from None
        except FAILURES as exc:
            tmp.unlink(missing_ok=True)
            raise self._unavailable(exc, f"get {key}") from None
        os.replace(tmp, dest)
        return True

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._unavailable(exc, f"head {key}") from None
        except FAILURES as exc:
            raise self._unavailable(exc, f"head {key}") from None

    def presign(self, key: str, *, expires_s: int, disposition: str, media_type: str) -> str:
        """A URL that lets whoever holds it GET ``key`` for ``expires_s`` seconds, answered with
        these Content-Disposition and Content-Type headers. Signed locally: no request."""
        try:
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(key),
                    "ResponseContentDisposition": disposition,
                    "ResponseContentType": media_type,
                },
                ExpiresIn=expires_s,
            )
        except FAILURES as exc:
            raise self._unavailable(exc, f"presign {key}") from None
        return url

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (without the store's own prefix)."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield str(item["Key"])[len(self.prefix) :]
        except FAILURES as exc:
            raise self._unavailable(exc, f"list {prefix}") from None

    def delete(self, keys: list[str]) -> None:
        try:
            for start in range(0, len(keys), 1000):
                batch = [{"Key": self._key(k)} for k in keys[start : start + 1000]]
                if batch:
                    self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                    )
        except FAILURES as exc:
            raise self._unavailable(exc, "delete") from None
