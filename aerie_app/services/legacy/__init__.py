"""Import from the old Aerie (Flask): its SQLite ``parts`` table and its ``uploads/<id>/`` folder.

Parts keep their ids and uuids. Each ``misc_info`` key maps to where Aerie keeps it: ``reviewer``,
``storage`` and ``serviceMethod`` stay in misc info (the workflow reads them there),
``handWorkers`` (and ``assigned``) also become ``part_worker`` rows for the leaderboard,
``completed_at`` fills the ``completed_at`` column, ``completedIncorrectly`` the
``completed_incorrectly`` column, and ``views`` (the old client's preview PNGs) are copied into the
part's folder and dropped from misc info, since they named the old server's paths. Unknown keys
are kept as custom fields.

Idempotent: parts are matched on uuid, so a second run imports nothing and says so. Rows that
cannot be imported (invalid id or uuid, an unknown status or category, an id taken by another part)
are skipped with the reason; fixable problems (malformed misc info, a missing or invalid file,
unparsable dates) import the part and record a warning. Nothing of the old database is changed: it
is opened read-only.

Modules: :mod:`.rows` (reading the old table, mapping each row to a part), :mod:`.uploads` (its
files and preview images) and :mod:`.importer` (one transaction per part, the report).
"""

from __future__ import annotations

from aerie_app.services.legacy.importer import ImportReport, import_legacy
from aerie_app.services.legacy.rows import read_legacy_rows

__all__ = ["ImportReport", "import_legacy", "read_legacy_rows"]
