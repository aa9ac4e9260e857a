"""Drawings of hand-fab parts: the stored PDF, or a background export from the part's Onshape URL.

A request never waits for Onshape. :func:`request_drawing` answers at once with the state of the
part's drawing and, when one is needed, queues an export job on a small in-process pool (at most
one job per part at a time). A finished job stores the PDF as the part's new file revision; a
failed one writes a ``drawing`` line on the part's timeline and keeps its error here, so the
next request can report it (until ``refresh=true`` retries, the part's Onshape URL changes, or,
for Onshape's rate limit, its ``Retry-After`` has passed).

Job states live in this process's memory: they are lost on restart (the timeline keeps the
failures) and several server processes could each export the same drawing once.
"""

from __future__ import annotations

import enum
import io
import logging
import threading
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from aerie_app.db import session_scope
from aerie_app.errors import AerieError, BadRequest, NotFound, RateLimited, Unprocessable
from aerie_app.integrations.onshape import (
    OnshapeRef,
    parse_onshape_url,
    require_exportable,
)
from aerie_app.models import PartFile, PartType, utcnow
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


@dataclass
class _Job:
    part_uuid: str
    url: str
    state: DrawingState
    error: AerieError | None = None
    finished_at: float | None = None
    ended: datetime | None = None  # wall clock, to compare with file uploads
    retry_at: float | None = None  # monotonic time after which a failure no longer sticks

    def applies_to(self, uuid: str, url: str | None) -> bool:
        # Ids can be reused after a wipe, and a changed URL deserves a fresh attempt.
        return self.part_uuid == uuid and self.url == url

    def failure_sticks(self) -> bool:
        return self.retry_at is None or time.monotonic() < self.retry_at


class DrawingJobs:
    """A small thread pool running Onshape exports, at most one per part, and their outcomes."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._jobs: dict[int, _Job] = {}
        self._futures: dict[int, Future[None]] = {}
        self._cancel = threading.Event()

    def get(self, part_id: int) -> _Job | None:
        with self._lock:
            return self._jobs.get(part_id)

    def submit(self, part_id: int, *, part_uuid: str, url: str, ref: OnshapeRef) -> bool:
        """Queue an export unless one is already running for this part. True if queued."""
        with self._lock:
            if part_id in self._futures:
                return False
            if self._pool is None:
                self._cancel.clear()
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="drawing")
            self._jobs[part_id] = _Job(part_uuid=part_uuid, url=url, state=DrawingState.PENDING)
            future = self._pool.submit(self._run, part_id, ref)
            self._futures[part_id] = future
        future.add_done_callback(lambda _f: self._forget_future(part_id))
        return True

    def _forget_future(self, part_id: int) -> None:
        with self._lock:
            self._futures.pop(part_id, None)

    def _finish(self, part_id: int, error: AerieError | None) -> None:
        with self._lock:
            job = self._jobs.get(part_id)
            if job is None:
                return
            job.state = DrawingState.FAILED if error else DrawingState.READY
            job.error = error
            job.finished_at = time.monotonic()
            job.ended = utcnow()
            if isinstance(error, RateLimited):
                job.retry_at = job.finished_at + error.retry_after

    def _run(self, part_id: int, ref: OnshapeRef) -> None:
        error: AerieError | None = None
        try:
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
        self._finish(part_id, error)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no export is running (tests, CLI). False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
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
        """Stop waiting on Onshape, let running jobs record their end, forget every state."""
        self._cancel.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._jobs.clear()
            self._futures.clear()


jobs = DrawingJobs()


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
    job = jobs.get(part_id)
    if job is not None and job.state is DrawingState.PENDING:
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
    jobs.submit(part_id, part_uuid=part.uuid, url=part.onshape_url, ref=ref)
    return _pending()


def drawing_status(session: Session, part_id: int) -> DrawingStatus:
    """The drawing's state without starting anything (for status displays and pollers)."""
    part = parts.get_part(session, part_id)
    if part.type != PartType.HAND.value:
        raise BadRequest("Drawings are only for hand-fab parts")
    job = jobs.get(part_id)
    if job is not None and job.state is DrawingState.PENDING:
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
