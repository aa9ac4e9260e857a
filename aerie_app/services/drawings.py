"""Drawings of hand-fab parts: the stored PDF, or a background export from the part's Onshape URL.

A request never waits for Onshape. :func:`request_drawing` answers at once with the state of the
part's drawing and, when one is needed, queues an export job on a small in-process pool (at most
one job per part at a time). A finished job stores the PDF as the part's new file revision; a
failed one writes a ``drawing`` line on the part's timeline and keeps its error here, so the
next request can report it (until ``refresh=true`` retries, the part's Onshape URL changes, or,
for Onshape's rate limit, its ``Retry-After`` has passed).

Jobs live in the database (``drawing_job``), so every server worker answers the same about a
part's export and exactly one process runs it: a web worker, or ``python -m aerie_app worker``
when ``AERIE_CONVERSION_IN_WEB`` is off. A job whose process died is queued again once it is
older than an export can take.
"""

from __future__ import annotations

import enum
import io
import logging
import threading
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app import errors
from aerie_app.db import begin_write, session_scope
from aerie_app.errors import AerieError, BadRequest, NotFound, RateLimited, Unprocessable
from aerie_app.integrations.onshape import (
    parse_onshape_url,
    require_exportable,
)
from aerie_app.models import DrawingJob, Part, PartFile, PartType, utcnow
from aerie_app.services import files, parts
from aerie_app.services.onshape_client import onshape_client
from aerie_app.settings import get_settings

log = logging.getLogger("aerie.drawings")

ACTOR = "Onshape"
EVENT_KIND = "drawing"
WORKERS = 2


class DrawingState(enum.StrEnum):
    NONE = "none"  # nothing stored and nothing asked for yet (status only)
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class DrawingStatus:
    """What a caller can show: the PDF revision when ready, the error when failed."""

    state: DrawingState
    file: PartFile | None = None
    error: AerieError | None = None
    retry_after: float = 2.0


def _error_record(error: AerieError) -> dict[str, Any]:
    return {
        "type": type(error).__name__,
        "message": error.message,
        "details": error.details,
        "retryAfter": getattr(error, "retry_after", None),
    }


def _error_from(record: dict[str, Any] | None) -> AerieError:
    """The failure as it was raised, rebuilt from its row (any worker may be asked about it):
    the same class, so the same status and error shape."""
    record = record or {}
    found = getattr(errors, str(record.get("type") or ""), None)
    cls = found if isinstance(found, type) and issubclass(found, AerieError) else Unprocessable
    error = cls.__new__(cls)
    AerieError.__init__(
        error, str(record.get("message") or "The drawing export failed"), record.get("details")
    )
    if isinstance(error, RateLimited):
        error.retry_after = float(record.get("retryAfter") or 1.0)
    return error


@dataclass(frozen=True)
class _Job:
    """A part's export as its row says (see :class:`DrawingJob`)."""

    part_uuid: str
    url: str
    state: DrawingState
    queued: bool = False  # pending and not yet taken by any process
    stale: bool = False  # running since before any export can take: its process died
    error: AerieError | None = None
    ended: datetime | None = None  # to compare with file uploads
    retry_at: datetime | None = None  # a rate-limited failure no longer sticks after this

    @classmethod
    def of(cls, row: DrawingJob) -> _Job:
        running = row.state in (JobState.PENDING, JobState.RUNNING)
        return cls(
            part_uuid=row.part_uuid,
            url=row.url,
            state=DrawingState.PENDING
            if running
            else DrawingState.FAILED
            if row.state == JobState.FAILED
            else DrawingState.READY,
            queued=row.state == JobState.PENDING,
            stale=row.state == JobState.RUNNING and not _busy(row),
            error=_error_from(row.error) if row.state == JobState.FAILED else None,
            ended=row.ended_at,
            retry_at=row.retry_at,
        )

    def applies_to(self, uuid: str, url: str | None) -> bool:
        # Ids can be reused after a wipe, and a changed URL deserves a fresh attempt.
        return self.part_uuid == uuid and self.url == url

    def failure_sticks(self) -> bool:
        return self.retry_at is None or utcnow() < self.retry_at


class JobState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


def _abandoned_before() -> datetime:
    """A job running since before this lost its process: an export is bounded by Onshape's
    wait, its request timeouts and the client's waits on 429s (at most 3 × 60 s a request,
    integrations/onshape.py), over its four kinds of request, with a minute to spare."""
    settings = get_settings()
    per_request = settings.onshape_timeout_s + 3 * 60.0
    bound = settings.onshape_max_wait_s + 4 * per_request + 60
    return utcnow() - timedelta(seconds=bound)


class DrawingJobs:
    """Runs queued exports on a small thread pool, at most one per part across every process.

    The queue is the ``drawing_job`` table: a request queues (:func:`queue_export`), a process
    that runs jobs claims a row with one conditional UPDATE and records the outcome on it. Web
    workers run them unless ``AERIE_CONVERSION_IN_WEB`` is off; then ``python -m aerie_app
    worker`` does, woken by the change notice the queued row sends.
    """

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._futures: dict[int, Future[None]] = {}
        self._cancel = threading.Event()

    @staticmethod
    def enabled() -> bool:
        return get_settings().conversion_in_web or _in_worker.is_set()

    def get(self, session: Session, part_id: int) -> _Job | None:
        row = session.get(DrawingJob, part_id)
        if row is None:
            return None
        session.expunge(row)
        return _Job.of(row)

    def kick(self) -> int:
        """Start every queued export not already running here (and take back abandoned ones).
        Returns how many were started; 0 where this process runs no jobs."""
        if not self.enabled():
            return 0
        with session_scope() as session:
            _recover(session)
            queued = session.exec(
                select(DrawingJob.part_id).where(DrawingJob.state == JobState.PENDING.value)
            ).all()
        started = 0
        with self._lock:
            for part_id in queued:
                if part_id in self._futures:
                    continue
                if self._pool is None:
                    self._cancel.clear()
                    self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="drawing")
                future = self._pool.submit(self._run, part_id)
                self._futures[part_id] = future
                future.add_done_callback(partial(self._forget_future, part_id))
                started += 1
        return started

    def _forget_future(self, part_id: int, _future: Future[None]) -> None:
        with self._lock:
            self._futures.pop(part_id, None)

    def _run(self, part_id: int) -> None:
        claimed = _claim(part_id)
        if claimed is None:
            return  # another process took it, or it is gone
        part_uuid, url = claimed
        error: AerieError | None = None
        try:
            ref = parse_onshape_url(url)
            pdf = onshape_client(self._cancel).fetch_drawing_pdf(ref)
            _store(part_id, pdf)
        except AerieError as exc:
            error = exc
        except Exception as exc:
            log.exception("Drawing export for part %s crashed", part_id)
            error = Unprocessable(
                f"Fetching the drawing failed unexpectedly ({type(exc).__name__})"
            )
        if error is not None:
            _record_failure(part_id, error)
        # Last: a caller polling sees "pending" until the PDF or the timeline line is committed.
        _finish(part_id, part_uuid, error)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no export is queued for or running in this process (tests, CLI)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.kick()
            with self._lock:
                futures = list(self._futures.values())
            if not futures:
                return True
            for future in futures:
                try:
                    future.result(timeout=max(0.01, deadline - time.monotonic()))
                except (TimeoutError, CancelledError):
                    break  # _run records every outcome itself; only waiting can end here
        return False

    def shutdown(self) -> None:
        """Stop waiting on Onshape and let running jobs record their end."""
        self._cancel.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._futures.clear()


jobs = DrawingJobs()
# Set by ``python -m aerie_app worker``: this process runs jobs whatever the web setting says.
_in_worker = threading.Event()


def run_in_this_process() -> None:
    """This process is a job worker (``python -m aerie_app worker``)."""
    _in_worker.set()


def queue_export(session: Session, part: Part) -> bool:
    """Queue an export of the part's drawing unless one is queued or running. True if queued
    here (several workers asked at once: exactly one queues, the others see it pending)."""
    begin_write(session)
    row = session.get(DrawingJob, part.id)
    if row is not None and row.part_uuid == part.uuid and _busy(row):
        session.rollback()
        return False
    if row is None:
        assert part.id is not None
        row = DrawingJob(part_id=part.id, part_uuid=part.uuid, url=part.onshape_url or "")
    row.part_uuid, row.url = part.uuid, part.onshape_url or ""
    row.state, row.error, row.queued_at = JobState.PENDING.value, None, utcnow()
    row.started_at = row.ended_at = row.retry_at = None
    session.add(row)
    try:
        session.commit()
    except sa.exc.IntegrityError:  # another worker inserted it first: that one is queued
        session.rollback()
        return False
    return True


def _busy(row: DrawingJob) -> bool:
    """Queued, or running in a live process (a run older than any export lost its process)."""
    if row.state == JobState.PENDING:
        return True
    return row.state == JobState.RUNNING and not (
        row.started_at is not None and row.started_at < _abandoned_before()
    )


def _claim(part_id: int) -> tuple[str, str] | None:
    with session_scope() as session:
        begin_write(session)
        result = session.execute(
            sa.update(DrawingJob)
            .where(
                col(DrawingJob.part_id) == part_id,
                col(DrawingJob.state) == JobState.PENDING.value,
            )
            .values(state=JobState.RUNNING.value, started_at=utcnow())
        )
        session.commit()
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        row = session.get(DrawingJob, part_id)
        return (row.part_uuid, row.url) if row is not None else None


def _finish(part_id: int, part_uuid: str, error: AerieError | None) -> None:
    retry_at = None
    if isinstance(error, RateLimited):
        retry_at = utcnow() + timedelta(seconds=error.retry_after)
    with session_scope() as session:
        begin_write(session)
        session.execute(
            sa.update(DrawingJob)
            .where(
                col(DrawingJob.part_id) == part_id,
                col(DrawingJob.part_uuid) == part_uuid,
                col(DrawingJob.state) == JobState.RUNNING.value,
            )
            .values(
                state=(JobState.FAILED if error else JobState.READY).value,
                error=_error_record(error) if error else None,
                ended_at=utcnow(),
                retry_at=retry_at,
            )
        )
        session.commit()


def _recover(session: Session) -> int:
    """Exports left running by a process that died are queued again (read first: an idle
    check takes no write lock)."""
    stale = sa.and_(
        col(DrawingJob.state) == JobState.RUNNING.value,
        col(DrawingJob.started_at) < _abandoned_before(),
    )
    if session.exec(select(DrawingJob.part_id).where(stale).limit(1)).first() is None:
        session.rollback()
        return 0
    begin_write(session)
    result = session.execute(
        sa.update(DrawingJob).where(stale).values(state=JobState.PENDING.value)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def _store(part_id: int, pdf: bytes) -> None:
    with session_scope() as session:
        part = parts.get_part(session, part_id)
        row = files.save_upload(
            session,
            part_id,
            filename=f"{part.part_id}-drawing.pdf",
            stream=io.BytesIO(pdf),
            uploaded_by=ACTOR,
        )
        parts.record_event(
            session,
            part_id,
            kind=EVENT_KIND,
            actor=ACTOR,
            note=f"Drawing exported from Onshape as {row.display_name} (revision {row.revision})",
        )


def _record_failure(part_id: int, error: AerieError) -> None:
    try:
        with session_scope() as session:
            parts.record_event(
                session,
                part_id,
                kind=EVENT_KIND,
                actor=ACTOR,
                note=f"Drawing export failed: {error.message}"[:2000],
            )
    except (AerieError, sa.exc.SQLAlchemyError):
        # The part was deleted meanwhile; the in-memory status still reports the failure.
        log.warning("Could not record the drawing failure of part %s", part_id)


def _ensure_keys() -> None:
    settings = get_settings()
    if not (settings.onshape_access_key and settings.onshape_secret_key):
        raise Unprocessable(
            "Onshape API keys are not configured on this server "
            "(AERIE_ONSHAPE_ACCESS_KEY and AERIE_ONSHAPE_SECRET_KEY)"
        )


def _stored_pdf(session: Session, part_id: int) -> PartFile | None:
    row = files.current_file(session, part_id)
    return row if row is not None and row.kind == "pdf" else None


def _pending() -> DrawingStatus:
    return DrawingStatus(
        DrawingState.PENDING, retry_after=max(1.0, get_settings().onshape_poll_interval_s)
    )


def request_drawing(session: Session, part_id: int, *, refresh: bool) -> DrawingStatus:
    """The part's drawing, or the export that will produce it.

    Guarantees: only hand parts have drawings (else BadRequest); while an export runs for the
    part the answer is PENDING (refresh or not, and no second export starts); without
    ``refresh`` a current PDF file is READY; otherwise the part needs a valid Onshape URL
    (else NotFound, or BadRequest when ``refresh`` asked for a fetch; ValidationFailed for a
    malformed URL), an unretried failure for that URL is FAILED, and
    anything else queues an export and is PENDING.
    """
    part = parts.get_part(session, part_id)
    if part.type != PartType.HAND.value:
        raise BadRequest("Drawings are only for hand-fab parts")
    job = jobs.get(session, part_id)
    if job is not None and job.state is DrawingState.PENDING and job.part_uuid == part.uuid:
        if job.queued or job.stale:
            jobs.kick()  # left by a process that ended before running (or finishing) it
        return _pending()
    stored = _stored_pdf(session, part_id)
    if stored is not None and not refresh:
        return DrawingStatus(DrawingState.READY, file=stored)
    if not part.onshape_url:
        if not refresh:
            # Nothing stored and nowhere to fetch from: the old API's (and its clients') 404.
            raise NotFound(
                "This part has no drawing: upload a PDF or set its Onshape URL",
                {"field": "onshapeUrl"},
            )
        raise BadRequest(
            "This part has no Onshape URL to fetch its drawing from", {"field": "onshapeUrl"}
        )
    ref = parse_onshape_url(part.onshape_url)
    require_exportable(ref)
    if (
        not refresh
        and job is not None
        and job.state is DrawingState.FAILED
        and job.applies_to(part.uuid, part.onshape_url)
        and job.failure_sticks()
    ):
        return DrawingStatus(DrawingState.FAILED, error=job.error)
    _ensure_keys()
    if queue_export(session, part):
        jobs.kick()  # here, at once, where this process runs jobs; else a worker's notice
    return _pending()


def drawing_status(session: Session, part_id: int) -> DrawingStatus:
    """The drawing's state without starting anything (for status displays and pollers)."""
    part = parts.get_part(session, part_id)
    if part.type != PartType.HAND.value:
        raise BadRequest("Drawings are only for hand-fab parts")
    job = jobs.get(session, part_id)
    if job is not None and job.state is DrawingState.PENDING and job.part_uuid == part.uuid:
        return _pending()
    stored = _stored_pdf(session, part_id)
    if (
        job is not None
        and job.state is DrawingState.FAILED
        and job.applies_to(part.uuid, part.onshape_url)
        and (stored is None or job.ended is None or stored.uploaded_at < job.ended)
    ):
        return DrawingStatus(DrawingState.FAILED, error=job.error, file=stored)
    if stored is not None:
        return DrawingStatus(DrawingState.READY, file=stored)
    return DrawingStatus(DrawingState.NONE)
