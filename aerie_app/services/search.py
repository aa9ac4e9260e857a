"""Search text: how a part's fields are folded for matching, and the filter that uses the index."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from aerie_app.models import Part

SEARCHED_FIELDS = (
    "part_id",
    "name",
    "subsystem",
    "material",
    "material_thickness",
    "assigned",
    "notes",
    "file",
    "type",
    "status",
    "onshape_url",
)


def fold(text: str) -> str:
    """Unicode case folding plus accent stripping, so ``ÜNÏCØDÉ`` finds ``ünïcødé`` and ``unicode``-ish text."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _misc_text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k} {_misc_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(_misc_text(v) for v in value)
    return "" if value is None else str(value)


def search_text_for(part: Part) -> str:
    values = [str(getattr(part, f) or "") for f in SEARCHED_FIELDS]
    if part.misc_info:
        values.append(_misc_text(part.misc_info))
    return fold(" \u2502 ".join(values))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_filter(query: str, dialect: str) -> ColumnElement[bool] | None:
    """A WHERE clause matching every part whose text contains ``query`` literally (``%``/``_`` included).

    SQLite answers through the FTS5 trigram table when the query has three or more characters;
    PostgreSQL's pg_trgm GIN index serves the LIKE directly.
    """
    folded = fold(query.strip())
    if not folded:
        return None
    like: ColumnElement[bool] = col(Part.search_text).like(f"%{_escape_like(folded)}%", escape="\\")
    if dialect == "sqlite" and len(folded) >= 3:
        phrase = '"' + folded.replace('"', '""') + '"'
        fts = sa.text("part.id IN (SELECT rowid FROM part_search WHERE part_search MATCH :q)")
        return sa.and_(fts.bindparams(q=phrase), like)
    return like


def rank_expression(query: str) -> ColumnElement[int]:
    """0 for an exact part-id match, 1 exact name, 2 name prefix, 3 the rest."""
    folded = fold(query.strip())
    return sa.case(
        (sa.func.lower(Part.part_id) == folded, 0),
        (sa.func.lower(Part.name) == folded, 1),
        (sa.func.lower(Part.name).like(f"{_escape_like(folded)}%", escape="\\"), 2),
        else_=3,
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
