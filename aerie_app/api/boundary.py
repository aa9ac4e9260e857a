"""Checks at the API's edge: what a request may carry before any of it reaches a service or the database.

Text with control characters, numbers no database column can hold and JSON values that cannot be
stored or sent back (NaN, infinities, lone surrogates) are refused here with 400, in Aerie's error
shape, so no route has to remember them and no driver raises on them.
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import Request

from aerie_app.errors import NotFound, ValidationFailed

MAX_INT = 2**63 - 1  # the largest integer a SQLite INTEGER or a PostgreSQL BIGINT holds
MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL
# C0 controls except tab, newline and carriage return; DEL; C1 controls; lone UTF-16 surrogates
# (neither database's UTF-8 can store them).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_JSON_TYPES = ("application/json", "application/merge-patch+json")


def check_text(value: str, field: str) -> None:
    """Refuse text that holds a control character (tab, newline and carriage return are text)."""
    if _FORBIDDEN.search(value):
        raise ValidationFailed(field, f"{field} must not contain control characters")


def check_json(value: Any, field: str = "body") -> None:
    """Refuse a JSON value that a database or a JSON encoder would choke on, naming where it is.

    Every string (keys included) is text as :func:`check_text` means it; every number fits in a
    64-bit integer column or is a finite float.
    """
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise ValidationFailed(field, f"{field} must be between {-MAX_INT - 1} and {MAX_INT}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationFailed(field, f"{field} must be a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(str(key), field)
            check_json(item, str(key) if field == "body" else f"{field}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, f"{field}[{index}]")


async def check_request(request: Request) -> None:
    """Applied to every route: the query string, and a JSON body if one was sent."""
    for name, value in request.query_params.multi_items():
        check_text(name, "query")
        check_text(value, name)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _JSON_TYPES or content_type.endswith("+json"):
        try:
            body = await request.json()  # already parsed (and cached) by FastAPI for its routes
        except (ValueError, UnicodeDecodeError):
            return  # the route's own parsing reports malformed JSON, if it reads a body at all
        check_json(body)


def parse_id(raw: str, missing: str) -> int:
    """A database id from a path segment; anything else (text, 0, negative, too big) is ``missing``.

    Path ids are text in the routes so that ``/api/parts/abc`` is a 404, as for any unknown id.
    """
    try:
        value = int(raw)
    except ValueError:
        raise NotFound(missing, {"id": raw}) from None
    if not 1 <= value <= MAX_ID:
        raise NotFound(missing, {"id": raw})
    return value
