"""Part lists as JSON bytes, re-serialising only the parts that changed.

A part's JSON depends only on its row, and every change to a row bumps its ``version`` and
``updated_at``. So a list is rendered as: a narrow query for (id, uuid, version, updated_at) in
the requested order, the cached JSON fragment of each of those rows, and a full read only of the
rows whose fragment is missing. After one edit, a 10k-part list re-serialises one part.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
from sqlmodel import Session, col

from aerie_app.models import Part
from aerie_app.schemas import part_public
from aerie_app.services import partquery
from aerie_app.services.partquery import PartQuery

KEY_COLUMNS = [col(Part.id), col(Part.uuid), col(Part.version), col(Part.updated_at)]
MAX_FRAGMENTS = 250_000

_lock = threading.Lock()
_fragments: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()


def _key(row: Any) -> tuple[Any, ...]:
    # uuid and updated_at as well as version: ids and versions restart after a season wipe.
    return (row.id, row.uuid, row.version, row.updated_at)


def fragments_for(session: Session, keys: Sequence[tuple[Any, ...]]) -> list[bytes]:
    """The JSON of each part, from the cache or freshly rendered."""
    with _lock:
        found = {k: _fragments.get(k) for k in keys}
    missing = [k for k, v in found.items() if v is None]
    if missing:
        rendered = {}
        for row in partquery.rows_by_id(session, [k[0] for k in missing]):
            rendered[_key(row)] = orjson.dumps(part_public(row))
        with _lock:
            for key, body in rendered.items():
                _fragments[key] = body
                found[key] = body
            while len(_fragments) > MAX_FRAGMENTS:
                _fragments.popitem(last=False)
    out: list[bytes] = []
    for key in keys:
        cached = found.get(key)
        if cached is None:  # changed between the two reads: render it directly
            row = partquery.rows_by_id(session, [key[0]])
            cached = orjson.dumps(part_public(row[0])) if row else b"null"
        out.append(cached)
    return out


def list_json(session: Session, query: PartQuery) -> bytes:
    """``{"parts": [...], "total", "limit", "offset"}`` as bytes, identical to part_public's."""
    rows, total = partquery.list_parts(session, query, columns=KEY_COLUMNS)
    items = [b for b in fragments_for(session, [_key(r) for r in rows]) if b != b"null"]
    tail = orjson.dumps({"total": total, "limit": query.limit, "offset": query.offset})
    return b'{"parts":[' + b",".join(items) + b"]," + tail[1:]


def every_match(session: Session, query: PartQuery) -> list[dict[str, Any]]:
    """The part JSON of every part the query matches, its paging ignored (exports, labels)."""
    rows, _total = partquery.list_parts(
        session, replace(query, limit=None, offset=0), columns=KEY_COLUMNS
    )
    found = fragments_for(session, [_key(r) for r in rows])
    return [orjson.loads(b) for b in found if b != b"null"]


def clear() -> None:
    with _lock:
        _fragments.clear()
