"""The daily backup: a thread that makes one when the newest is a day old, and prunes to ``backup_keep``."""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aerie_app.db import session_scope
from aerie_app.models import utcnow
from aerie_app.services.backup.create import NAME_RE, backup_dir, create_backup
from aerie_app.settings import get_settings

log = logging.getLogger("aerie.backup")

DAY = timedelta(hours=24)


def _name_key(path: Path) -> tuple[datetime, int] | None:
    match = NAME_RE.match(path.name)
    if match is None:
        return None
    made = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return made, int(match.group(2) or 1)


def archive_time(path: Path) -> datetime | None:
    """When a backup in the backup folder was made, from its name (None: not a backup's name)."""
    key = _name_key(path)
    return key[0] if key else None


def list_backups(folder: Path | None = None) -> list[Path]:
    """Backups in the folder (named by :func:`create_backup`), newest first."""
    folder = folder or backup_dir()
    if not folder.is_dir():
        return []
    keyed = [(key, p) for p in folder.iterdir() if p.is_file() and (key := _name_key(p))]
    return [p for _, p in sorted(keyed, reverse=True)]


def prune_backups(*, keep: int, folder: Path | None = None) -> list[Path]:
    """Delete all but the ``keep`` newest backups. Returns the deleted paths."""
    doomed = list_backups(folder)[max(keep, 1) :]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@contextmanager
def _folder_lock(folder: Path) -> Iterator[bool]:
    """An advisory lock on the backup folder, so two app processes never back up at once."""
    with (folder / ".lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class BackupScheduler:
    """A daemon thread that makes a backup when the newest is a day old, and prunes old ones."""

    def __init__(self, interval_s: float = 3600.0) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> Path | None:
        """Back up if the newest backup is older than 24 h (or there is none); prune to ``backup_keep``.

        Returns the new archive, or None when none was due (or another process holds the folder).
        """
        now = now or utcnow()
        folder = backup_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with _folder_lock(folder) as locked:
            if not locked:
                return None
            newest = list_backups(folder)
            made: Path | None = None
            last = archive_time(newest[0]) if newest else None
            if last is None or now - last >= DAY:
                with session_scope() as session:
                    made = create_backup(session, now=now).path
            prune_backups(keep=get_settings().backup_keep, folder=folder)
            return made

    def start(self) -> None:
        """Start the thread, when ``backup_daily`` is on (else this does nothing)."""
        if self._thread is not None or not get_settings().backup_daily:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="backup-scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                made = self.run_once()
                if made is not None:
                    log.info("daily backup written to %s", made)
            except Exception:
                log.exception("daily backup failed")
            self._stop.wait(self.interval_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


scheduler = BackupScheduler()
