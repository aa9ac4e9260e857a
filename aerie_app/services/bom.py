"""Parts from an Onshape assembly: its bill of materials previewed, imported, then each part's STEP.

The BOM's part lines become the same rows a spreadsheet import plans (``services.imports``), so
the preview, the validation and the one-transaction apply are that import's own. A part is
matched by its part number (or, without one, its name) as ``partId``: importing the assembly
again updates quantities, materials and sub-assemblies instead of adding parts twice. The same
part in several sub-assemblies is one row with the summed quantity (each line's quantity times
its sub-assemblies'). After the import, each part's STEP file is exported from its part studio
in the background and uploaded like any STEP, so it goes through the normal conversion; a part
whose export fails keeps its row and gets a timeline line saying why.
"""

from __future__ import annotations

import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from aerie_app.db import session_scope
from aerie_app.errors import AerieError, Unprocessable, ValidationFailed
from aerie_app.integrations.onshape import BomRow, PartSource, parse_onshape_url
from aerie_app.services import conversions, files, imports, parts
from aerie_app.services.onshape_client import onshape_client

log = logging.getLogger("aerie.bom")

ACTOR = "Onshape import"
EVENT_KIND = "onshape"
DEFAULT_SUBSYSTEM = "Robot"
WORKERS = 2


@dataclass
class BomPlan:
    plan: imports.ImportPlan
    sources: dict[int, PartSource]  # plan row number → where the part's geometry is

    def public(self, *, applied: bool, exports: int = 0) -> dict[str, Any]:
        return self.plan.public(applied=applied) | {"exports": exports}


def merge(
    rows: list[BomRow], *, default_subsystem: str
) -> list[tuple[dict[str, Any], PartSource | None]]:
    """One import row per part (part number, else name), quantities summed over its lines."""
    merged: dict[str, tuple[dict[str, Any], PartSource | None]] = {}
    for row in rows:
        key = row.part_number or row.name
        if key in merged:
            merged[key][0]["amount"] += row.quantity
            continue
        body: dict[str, Any] = {
            "partId": key,
            "name": row.name,
            "amount": row.quantity,
            "subsystem": row.subsystem or default_subsystem,
            "material": row.material,
        }
        if row.source is not None:
            body["onshapeUrl"] = row.source.url
        merged[key] = ({k: v for k, v in body.items() if v not in ("", None)}, row.source)
    return list(merged.values())


def preview(session: Session, *, url: Any, default_subsystem: Any = None) -> BomPlan:
    """What importing this assembly's BOM would do (it is read from Onshape; nothing is written)."""
    if not isinstance(url, str):
        raise ValidationFailed("url", "url must be the Onshape assembly's address")
    subsystem = default_subsystem if default_subsystem is not None else DEFAULT_SUBSYSTEM
    if not isinstance(subsystem, str) or not subsystem.strip():
        raise ValidationFailed("defaultSubsystem", "defaultSubsystem must be text")
    ref = parse_onshape_url(url)
    rows = onshape_client().fetch_bom(ref)
    if not rows:
        raise Unprocessable("This assembly's bill of materials lists no parts")
    merged = merge(rows, default_subsystem=subsystem.strip()[:200])
    bodies = [(number, body) for number, (body, _source) in enumerate(merged, start=1)]
    plan = imports.plan_bodies(session, bodies)
    sources = {n: src for n, (_body, src) in enumerate(merged, start=1) if src is not None}
    return BomPlan(plan, sources)


def apply(
    session: Session, *, url: Any, default_subsystem: Any = None, actor: str | None
) -> tuple[BomPlan, int]:
    """Import the BOM (every row or none), then queue each part's STEP export. Returns the plan
    and how many exports were queued."""
    result = preview(session, url=url, default_subsystem=default_subsystem)
    imports.apply_plan(session, result.plan, actor=actor)
    queued = 0
    for row in result.plan.rows:
        source = result.sources.get(row.row)
        if source is not None and row.part is not None:
            exports.submit(row.part, source)
            queued += 1
    return result, queued


class StepExports:
    """A small thread pool fetching parts' STEP files from Onshape into the upload pipeline."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    def submit(self, part_id: int, source: PartSource) -> None:
        with self._lock:
            if self._pool is None:
                self._cancel.clear()
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="onshape-step")
            self._pending += 1
            self._pool.submit(self._run, part_id, source)

    def _run(self, part_id: int, source: PartSource) -> None:
        try:
            step = onshape_client(self._cancel).fetch_part_step(source)
            with session_scope() as session:
                part = parts.get_part(session, part_id)
                row = files.save_upload(
                    session,
                    part_id,
                    filename=f"{part.part_id}.step",
                    stream=io.BytesIO(step),
                    uploaded_by=ACTOR,
                )
            if row.conversion_status == "queued":
                conversions.queue.kick()
        except AerieError as err:
            _record_failure(part_id, err.message)
        except Exception as exc:
            log.exception("STEP export of part %s crashed", part_id)
            _record_failure(part_id, f"unexpected {type(exc).__name__}")
        finally:
            with self._lock:
                self._pending -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every queued export ended (tests, CLI). False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self) -> None:
        self._cancel.set()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _record_failure(part_id: int, message: str) -> None:
    try:
        with session_scope() as session:
            parts.record_event(
                session,
                part_id,
                kind=EVENT_KIND,
                actor=ACTOR,
                note=f"STEP export from Onshape failed: {message}"[:2000],
            )
    except AerieError:
        pass  # the part was deleted meanwhile


exports = StepExports()
