"""The conversion queue: STEP revisions become GLBs, thumbnails and geometry facts, off the request path.

Jobs live in the database (``part_file.conversion_status``), not in memory, so that:
- a job is claimed with one conditional UPDATE (queued → running); of several server workers
  polling the same database exactly one converts a given file, and identical files (same hash)
  are converted once;
- a server that dies mid-job leaves rows ``running``; :func:`recover` puts them back in the queue
  once the job's lease lapses: the process converting a file stamps its rows every few seconds
  (:class:`Leases`), so a job whose process was killed is queued again within ``LEASE_S``;
Each job runs in its own child process (``aerie_app.cad.worker``) with a timeout and a memory cap;
at most ``conversion_workers`` (default: one per core) run at once in a process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aerie_app.db import begin_write, session_scope
from aerie_app.errors import AerieError
from aerie_app.models import ConversionStatus, Part, PartFile, utcnow
from aerie_app.services import files, model_facts, parts, storage
from aerie_app.settings import get_settings

if TYPE_CHECKING:
    from aerie_app.cad.worker import ConversionResult

log = logging.getLogger("aerie.conversions")


CLAIM_LOCK = 0x4AE41E  # PostgreSQL advisory lock id that serialises claims
# A running job's rows are stamped every RENEW_S by the process running it; a job whose stamp is
# older than LEASE_S lost its process (killed, host gone) and goes back to the queue. Hosts'
# clocks must agree within a few seconds (NTP), as for every other timestamp Aerie compares.
RENEW_S = 5.0
LEASE_S = 30.0


def max_running() -> int:
    """Conversions allowed at once across every server process (default: one per core)."""
    return get_settings().conversion_workers or os.cpu_count() or 1


def claim(session: Session, sha256: str, *, limit: int | None = None) -> bool:
    """Atomically take every queued revision of this content.

    False if another worker has it (its finish settles these revisions too), if a finished model
    of the same content exists (reused: the revisions become ready with its facts, not converted
    again), or if ``limit`` conversions already run anywhere: the cap
    is checked in the same transaction (SQLite's write lock, a PostgreSQL advisory lock), so
    several server workers together never run more than one job per core.
    """
    begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CLAIM_LOCK})
    # An upload decides "reuse or queue" before its commit; on PostgreSQL nothing orders that
    # with a conversion of the same content finishing meanwhile, so a revision can arrive queued
    # next to a running job or after a finished one. Both are settled here, under the claim lock:
    # the running job's finish() takes the queued rows along, and a finished model is reused.
    same = (col(PartFile.sha256) == sha256,)
    if session.exec(
        select(PartFile.id)
        .where(*same, PartFile.conversion_status == ConversionStatus.RUNNING.value)
        .limit(1)
    ).first():
        session.rollback()
        return False
    done = session.exec(
        select(PartFile)
        .where(*same, PartFile.conversion_status == ConversionStatus.READY.value)
        .limit(1)
    ).first()
    if done is not None and storage.stored(storage.model_dir(sha256) / "model.glb"):
        facts, seconds = done.facts, done.conversion_seconds
        session.rollback()
        finish(session, sha256, facts=facts, error=None, seconds=seconds)
        return False
    running = session.exec(
        select(sa.func.count(sa.distinct(col(PartFile.sha256)))).where(
            PartFile.conversion_status == ConversionStatus.RUNNING.value
        )
    ).one()
    if running >= (limit or max_running()):
        session.rollback()
        return False
    result = session.execute(
        sa.update(PartFile)
        .where(
            col(PartFile.sha256) == sha256,
            col(PartFile.conversion_status) == ConversionStatus.QUEUED.value,
        )
        .values(
            conversion_status=ConversionStatus.RUNNING.value,
            conversion_started_at=utcnow(),
            conversion_heartbeat_at=utcnow(),
        )
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def renew(session: Session, shas: list[str]) -> int:
    """Stamp the running rows of these contents: their process is alive. Returns rows stamped."""
    if not shas:
        return 0
    begin_write(session)
    result = session.execute(
        sa.update(PartFile)
        .where(
            col(PartFile.sha256).in_(shas),
            col(PartFile.conversion_status) == ConversionStatus.RUNNING.value,
        )
        .values(conversion_heartbeat_at=utcnow())
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


class Leases:
    """The jobs this process runs; one thread renews their stamps every ``renew_s`` while any
    runs (and exits when none does). Any process that converts holds its leases here: a web
    worker, a conversion worker, the CLI."""

    def __init__(self, renew_s: float = RENEW_S) -> None:
        self.renew_s = renew_s
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, sha256: str) -> None:
        with self._lock:
            self._held.add(sha256)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lease", daemon=True)
                self._thread.start()

    def release(self, sha256: str) -> None:
        with self._lock:
            self._held.discard(sha256)

    @property
    def held(self) -> list[str]:
        with self._lock:
            return sorted(self._held)

    def _run(self) -> None:
        while True:
            time.sleep(self.renew_s)
            with self._lock:
                shas = sorted(self._held)
                if not shas:
                    self._thread = None
                    return
            try:
                with session_scope() as session:
                    renew(session, shas)
            except Exception:  # the database is away: the next round tries again
                log.exception("renewing conversion leases")


leases = Leases()


def finish(
    session: Session,
    sha256: str,
    *,
    facts: dict[str, Any] | None,
    error: str | None,
    seconds: float | None,
) -> None:
    """Record the outcome on every revision with this content and on the parts showing it."""
    status = ConversionStatus.FAILED if error else ConversionStatus.READY
    begin_write(session)
    rows = session.exec(
        select(PartFile).where(
            PartFile.sha256 == sha256,
            col(PartFile.conversion_status).in_(
                [ConversionStatus.RUNNING.value, ConversionStatus.QUEUED.value]
            ),
        )
    ).all()
    for row in rows:
        row.conversion_status = status.value
        row.facts = facts
        row.conversion_error = error
        row.conversion_seconds = seconds
        session.add(row)
    session.commit()
    for row in rows:
        part = session.get(Part, row.part_id)
        if part is None:
            continue
        note = f"{row.display_name}: " + (f"failed: {error}" if error else "3D model ready")
        current = bool(facts and row.is_current)
        try:
            begin_write(session)
            session.refresh(part)
            fields = model_facts.facts_fields(session, part, facts) if current else {}
            parts.save_changes(
                session, part, fields, actor="converter", kind="conversion", note=note
            )
        except AerieError:
            # The part changed meanwhile; its geometry columns are refreshed on the next read.
            session.rollback()
            continue
        if current:
            try:
                model_facts.after_new_facts(session, row.part_id, row)
            except AerieError:
                session.rollback()
                log.warning("part %s: changed/duplicate geometry check failed", row.part_id)


def convert_one(sha256: str) -> None:
    """Claim and convert one blob (runs in a pool thread; the heavy work is in a child process)."""
    with session_scope() as session:
        if not claim(session, sha256):
            return
    leases.hold(sha256)
    try:
        _convert_claimed(sha256)
    finally:
        leases.release(sha256)


def _convert_claimed(sha256: str) -> None:
    from aerie_app.cad.worker import run_conversion_job

    settings = get_settings()
    published = False

    def model_ready(result: ConversionResult) -> None:
        # The model is served from here on: the part shows it while the views are still drawn.
        # In the bucket first, so every host can serve what the database now says is ready.
        nonlocal published
        storage.publish(storage.model_dir(sha256), content_addressed=True)
        with session_scope() as session:
            finish(
                session,
                sha256,
                facts=result.facts.to_dict(),
                error=None,
                seconds=round(result.seconds, 3),
            )
        published = True

    error: str | None = None
    try:
        if not storage.ensure_local(storage.blob_path(sha256)):
            raise AerieError("The uploaded file is missing from storage")
        result = run_conversion_job(
            storage.blob_path(sha256),
            storage.model_dir(sha256),
            timeout_s=settings.conversion_timeout_s,
            memory_mb=settings.conversion_memory_mb,
            prewarm=settings.conversion_prewarm,
            # One idle spare per server process: with several workers, a spare per slot in each
            # would hold gigabytes while the shop is idle.
            spares=1,
            on_model=model_ready,
        )
        for warning in result.warnings:
            log.warning("Conversion of %s: %s", sha256[:12], warning)
        if published:
            # The thumbnail, views and compressed copy drawn after the model.
            storage.publish(storage.model_dir(sha256), content_addressed=True)
    except AerieError as exc:
        error = exc.message
    except Exception as exc:
        log.exception("Conversion of %s crashed the runner", sha256[:12])
        error = f"Conversion failed unexpectedly ({type(exc).__name__})"
    if published:
        if error:
            log.warning("Conversion of %s: after the model: %s", sha256[:12], error)
        return  # what came after the model (views, compressed copy) is optional
    with session_scope() as session:
        finish(session, sha256, facts=None, error=error or "Conversion failed", seconds=None)


class Queue:
    """A small per-process pool that drains the queued rows of the database."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        # False in a web worker when conversions run only in worker processes
        # (AERIE_CONVERSION_IN_WEB=false): a kick then leaves the queued rows to them.
        self.enabled = True
        self._inflight: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str], None]] = []

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            workers = max_running()
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="convert")
        return self._pool

    def kick(self) -> int:
        """Submit every queued content hash not already running here. Returns how many."""
        if not self.enabled:
            return 0
        with session_scope() as session:
            shas = session.exec(
                select(PartFile.sha256)
                .where(PartFile.conversion_status == ConversionStatus.QUEUED.value)
                .distinct()
            ).all()
        submitted = 0
        with self._lock:
            for sha in shas:
                if sha in self._inflight:
                    continue
                future = self._executor().submit(convert_one, sha)
                self._inflight[sha] = future
                future.add_done_callback(partial(self._on_future, sha))
                submitted += 1
        return submitted

    def _on_future(self, sha: str, _future: Future[None]) -> None:
        self._done(sha)

    def _done(self, sha: str) -> None:
        with self._lock:
            self._inflight.pop(sha, None)
        for listener in list(self._listeners):
            try:
                listener(sha)
            except Exception:
                log.exception("conversion listener failed")

    def on_done(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def wait_idle(self, timeout: float = 300.0) -> bool:
        """Block until nothing is queued or running in this process (tests, CLI)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                futures = list(self._inflight.values())
            for future in futures:
                future.result(timeout=max(0.1, deadline - time.monotonic()))
            if not self.kick() and not self._inflight:
                return True
            time.sleep(0.05)  # jobs may wait for a slot another process holds
        return False

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


queue = Queue()


def recover(session: Session) -> int:
    """Jobs left running by a process that died go back to the queue.

    A job counts as abandoned when its lease lapsed (no stamp for ``LEASE_S``): a live process
    renews it every ``RENEW_S``, so a worker restarting never steals a job another live worker is
    still running. Rows claimed before leases existed (no stamp) keep the old rule: older than
    the conversion timeout plus a minute.
    """
    now = utcnow()
    stale = now - timedelta(seconds=get_settings().conversion_timeout_s + 60)
    heartbeat = col(PartFile.conversion_heartbeat_at)
    abandoned = sa.and_(
        col(PartFile.conversion_status) == ConversionStatus.RUNNING.value,
        sa.or_(
            heartbeat < now - timedelta(seconds=LEASE_S),
            sa.and_(
                heartbeat.is_(None),
                sa.or_(
                    col(PartFile.conversion_started_at).is_(None),
                    col(PartFile.conversion_started_at) < stale,
                ),
            ),
        ),
    )
    # Every poller tick asks; almost always the answer is no. Reading first keeps an idle server
    # from taking SQLite's write lock every few seconds in every worker (which sent API writes
    # that met it to a thread, see api/writes.py).
    if session.exec(select(PartFile.id).where(abandoned).limit(1)).first() is None:
        session.rollback()
        return 0
    begin_write(session)
    result = session.execute(
        sa.update(PartFile).where(abandoned).values(conversion_status=ConversionStatus.QUEUED.value)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def requeue(session: Session, part_id: int) -> PartFile:
    """Convert the current revision again (after a failure, or a converter upgrade)."""
    row = files.require_current(session, part_id)
    if row.kind != "step":
        from aerie_app.errors import BadRequest

        raise BadRequest("Only STEP files are converted")
    begin_write(session)
    session.execute(
        sa.update(PartFile)
        .where(col(PartFile.sha256) == row.sha256)
        .values(conversion_status=ConversionStatus.QUEUED.value, conversion_error=None)
    )
    session.commit()
    session.refresh(row)
    return row


def keep_spare_ready() -> bool:
    """One pre-started converter waits in this process from server start on, and again after
    each job or expiry (``AERIE_CONVERSION_PREWARM``): the first upload after a restart or a
    quiet spell is not a cold start. True when a spare was started just now."""
    if not get_settings().conversion_prewarm:
        return False
    from aerie_app.cad import worker

    if not worker.PREWARM:
        return False
    before = len(worker.pool)
    worker.pool.replenish(get_settings().conversion_memory_mb, 1)
    started = len(worker.pool) > before
    if started:
        from aerie_app.cad import validate

        validate.warm_up()  # the check before publishing is ready too
    return started


class Poller:
    """A daemon thread that keeps this process's pool fed from the database queue."""

    def __init__(self, interval_s: float = 3.0) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._also: list[Callable[[], object]] = []

    def also(self, task: Callable[[], object]) -> None:
        """Run ``task`` on every tick too (the job worker's other queues: drawing exports)."""
        self._also.append(task)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="conversion-poller", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                keep_spare_ready()
                with session_scope() as session:
                    recover(session)
                queue.kick()
                for task in self._also:
                    task()
            except Exception:
                log.exception("conversion poller")
            self._wake.wait(self.interval_s)
            self._wake.clear()

    def wake(self) -> None:
        """Look at the queue now (a change notice: another process may have queued a job)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()


poller = Poller()
