"""Backups and restore: one ``.tar.gz`` holding a database dump, every stored file and a manifest.

The database is dumped as JSON lines through SQLAlchemy, not with ``sqlite3.backup`` or
``pg_dump``: one dialect-neutral format means a SQLite shop that outgrows it restores its backup
straight into PostgreSQL (and back), and neither making nor restoring a backup needs an external
tool of the right major version. The dump is consistent because every table is read inside one
transaction: REPEATABLE READ on PostgreSQL, the WAL read snapshot on SQLite. Rows are written as
the models see them (timestamps as UTC ISO 8601 with microseconds, JSON columns as JSON) and
inserted back through the same column types, so they come back equal, ids included.

Archive members: ``db/<table>.jsonl`` (one row per line, tables in foreign-key order), ``files/…``
(the data folder's ``files/`` tree without ``files/tmp``, modification times kept) and, last,
``manifest.json``: format version, creation time, app version, alembic revision, dialect, each
table's row count and column kinds, and the sha256 and size of every other member.

Restore reads the whole archive and checks it against the manifest before it writes anything,
refuses a target that has rows or files unless forced, extracts into a staging folder, brings the
schema to the archive's revision, inserts every row in one transaction (PostgreSQL sequences are
moved past the restored ids), migrates to head, and only then swaps the files into place.

Modules: :mod:`.archive` (the archive format and its verification), :mod:`.create` (writing one),
:mod:`.restore` (putting one back) and :mod:`.schedule` (the daily backup and pruning).
"""

from __future__ import annotations

from aerie_app.services.backup.archive import verify_archive
from aerie_app.services.backup.create import BackupInfo, backup_dir, create_backup
from aerie_app.services.backup.restore import RestoreInfo, reset_sequences, restore_backup
from aerie_app.services.backup.schedule import (
    BackupScheduler,
    archive_time,
    list_backups,
    prune_backups,
    scheduler,
)

__all__ = [
    "BackupInfo",
    "BackupScheduler",
    "RestoreInfo",
    "archive_time",
    "backup_dir",
    "create_backup",
    "list_backups",
    "prune_backups",
    "reset_sequences",
    "restore_backup",
    "scheduler",
    "verify_archive",
]
