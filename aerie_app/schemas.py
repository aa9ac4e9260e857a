"""Shapes that cross Aerie's boundary: input normalisation (camelCase or snake_case) and the part JSON."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aerie_app.errors import ValidationFailed
from aerie_app.models import Category, Part, PartType, Status
from aerie_app.units import thickness_label
from aerie_app.workflow import allowed_actions

# camelCase key -> column; snake_case keys map to themselves.
CAMEL_TO_SNAKE = {
    "partId": "part_id",
    "materialThickness": "material_thickness",
    "onshapeUrl": "onshape_url",
    "miscInfo": "misc_info",
    "claimedDate": "claimed_date",
    "quantityDone": "quantity_done",
    "measuredMassG": "measured_mass_g",
}

TEXT_LIMITS = {
    "material": 200,
    "material_thickness": 100,
    "part_id": 100,
    "name": 200,
    "subsystem": 200,
    "assigned": 200,
    "notes": 5000,
    "onshape_url": 1000,
    "file": 255,
}
EDITABLE = set(TEXT_LIMITS) | {"type", "amount", "misc_info", "claimed_date", "measured_mass_g"}
MAX_MASS_G = 1_000_000.0  # a tonne: past that a "mass" is a typo
MISC_INFO_MAX_KEYS = 50
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any, field: str, *, limit: int, multiline: bool = False) -> str:
    """Text as stored: a string, control characters removed, trimmed, within its length limit."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationFailed(field, f"{_label(field)} must be text")
    text = _CONTROL.sub("", str(value))
    if not multiline:
        text = text.replace("\r", " ").replace("\n", " ")
    text = text.strip()
    if len(text) > limit:
        raise ValidationFailed(field, f"{_label(field)} must be at most {limit} characters")
    return text


def sanitize_filename(name: str) -> str:
    """A display name safe anywhere: ASCII letters, digits, '.', '_', '-' (the contract's rule)."""
    name = name.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    joined = "_".join(parts)
    ascii_name = unicodedata.normalize("NFKD", joined).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", ascii_name.replace(" ", "_"))
    if safe.startswith(".") and "." not in safe[1:] and "." in joined.lstrip("."):
        safe = "file" + safe  # only the extension survived (e.g. a Japanese name)
    safe = safe.lstrip(".")
    if len(safe) > 120:
        stem, dot, ext = safe.rpartition(".")
        safe = (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else safe[:120]
    return safe or "file"


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def _amount(value: Any) -> int:
    if isinstance(value, bool):
        raise ValidationFailed("amount", "Amount must be a whole number greater than 0")
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or value < 1:
        raise ValidationFailed("amount", "Amount must be a whole number greater than 0")
    if value > 100_000:
        raise ValidationFailed("amount", "Amount must be at most 100000")
    return value


def _misc_info(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationFailed("miscInfo", "miscInfo must be an object")
    if len(value) > MISC_INFO_MAX_KEYS:
        raise ValidationFailed("miscInfo", f"miscInfo may have at most {MISC_INFO_MAX_KEYS} keys")
    out: dict[str, Any] = {}
    for key, item in value.items():
        k = clean_text(key, "miscInfo", limit=100)
        out[k] = _misc_value(item, depth=0)
    return out


def _misc_value(item: Any, *, depth: int) -> Any:
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, int) and not -(2**63) <= item < 2**63:
        raise ValidationFailed("miscInfo", "miscInfo numbers must fit in 64 bits")
    if isinstance(item, float) and not math.isfinite(item):
        raise ValidationFailed("miscInfo", "miscInfo numbers must be finite")
    if isinstance(item, int | float):
        return item
    if isinstance(item, str):
        return clean_text(item, "miscInfo", limit=2000, multiline=True)
    if depth < 2 and isinstance(item, list | tuple):
        return [_misc_value(i, depth=depth + 1) for i in list(item)[:500]]
    if depth < 2 and isinstance(item, Mapping):
        return {
            clean_text(k, "miscInfo", limit=100): _misc_value(v, depth=depth + 1)
            for k, v in list(item.items())[:100]
        }
    raise ValidationFailed("miscInfo", "miscInfo values must be text, numbers, booleans or lists")


def _datetime(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if isinstance(value, datetime):
            # Stored in UTC: a time whose UTC equivalent falls outside years 1-9999 is refused here.
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise ValidationFailed(field, f"{_label(field)} must be an ISO 8601 date-time")


def normalize_part_input(body: Any, *, partial: bool) -> dict[str, Any]:
    """Validated column values from a client body (camelCase or snake_case; unknown keys ignored).

    ``partial`` is an update: only the fields present are returned. ``status`` and ``category`` are
    returned under ``_status``/``_category`` for the workflow to judge; they are never set directly.
    """
    if not isinstance(body, Mapping):
        raise ValidationFailed("body", "Request body must be a JSON object")
    if not body:
        raise ValidationFailed("body", "Request body must not be empty")
    raw: dict[str, Any] = {}
    for key, value in body.items():
        if not isinstance(key, str):
            continue
        column = CAMEL_TO_SNAKE.get(key, key)
        if column in EDITABLE or column in ("status", "category"):
            raw[column] = value
    out: dict[str, Any] = {}
    for column, value in raw.items():
        if column in ("status", "category"):
            if value is not None:
                text = clean_text(value, column, limit=20)
                out["_" + column] = _choice(text, column) if partial and text else text
        elif column == "amount":
            out["amount"] = _amount(value)
        elif column == "misc_info":
            out["misc_info"] = _misc_info(value)
        elif column == "claimed_date":
            out["claimed_date"] = _datetime(value, column)
        elif column == "type":
            out["type"] = _part_type(value)
        elif column == "measured_mass_g":
            out["measured_mass_g"] = _mass(value)
        elif column == "file":
            text = clean_text(value, "file", limit=255) if value is not None else ""
            out["file"] = sanitize_filename(text) if text else None
        elif value is None:
            if column in ("material", "subsystem", "part_id", "name"):
                raise ValidationFailed(column, f"{_label(column)} cannot be empty")
            out[column] = None
        else:
            out[column] = clean_text(
                value, column, limit=TEXT_LIMITS[column], multiline=column == "notes"
            )
    for required in ("material", "subsystem"):
        if required in out and not out[required]:
            raise ValidationFailed(required, f"{_label(required)} is required")
        if not partial and required not in out:
            raise ValidationFailed(required, f"{_label(required)} is required")
    if "part_id" in out and not out["part_id"]:
        del out["part_id"]
    if partial and not out:
        raise ValidationFailed("body", "Nothing to update: no known field was given")
    return out


def _mass(value: Any) -> float | None:
    """A mass weighed by hand, in grams; null clears it."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValidationFailed(
                "measuredMassG", "measuredMassG must be a number of grams"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed("measuredMassG", "measuredMassG must be a number of grams")
    if not math.isfinite(value) or value <= 0 or value > MAX_MASS_G:
        raise ValidationFailed(
            "measuredMassG", f"measuredMassG must be more than 0 and at most {MAX_MASS_G:g} g"
        )
    return round(float(value), 3)


def _choice(text: str, field: str) -> str:
    """A status or category an update asks for, spelled as Aerie spells it (any letter case)."""
    choices = [s.value for s in Status] if field == "status" else [c.value for c in Category]
    for choice in choices:
        if text.casefold() == choice.casefold():
            return choice
    raise ValidationFailed(field, f"{_label(field)} must be one of {', '.join(choices)}")


def _part_type(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().lower()
    aliases = {"hand fab": "hand", "handfab": "hand", "laser": "cnc", "cnc/laser": "cnc"}
    text = aliases.get(text, text)
    if text not in {t.value for t in PartType}:
        raise ValidationFailed("type", "Type must be one of cnc, hand, misc")
    return text


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def part_public(part: Part | Any) -> dict[str, Any]:
    """The part as every endpoint returns it: the old app's keys plus Aerie's extras."""
    geometry = None
    if part.stock_x_mm is not None:
        geometry = {
            "stockMm": [part.stock_x_mm, part.stock_y_mm, part.stock_z_mm],
            "volumeMm3": part.volume_mm3,
            "massG": part.mass_g,
        }
    return {
        "id": part.id,
        "uuid": part.uuid,
        "partId": part.part_id,
        "type": part.type,
        "material": part.material,
        "materialThickness": part.material_thickness,
        "name": part.name,
        "subsystem": part.subsystem,
        "assigned": part.assigned,
        "status": part.status,
        "miscInfo": part.misc_info,
        "notes": part.notes,
        "file": part.file,
        "onshapeUrl": part.onshape_url,
        "claimedDate": iso(part.claimed_date),
        "createdAt": iso(part.created_at),
        "updatedAt": iso(part.updated_at),
        "category": part.category,
        "amount": part.amount,
        # Aerie's additions
        "quantityDone": part.quantity_done,
        "completedAt": iso(part.completed_at),
        "version": part.version,
        "geometry": geometry,
        "allowedActions": [a.value for a in allowed_actions(part)],
        # The geometry-aware shop (services/shop)
        "measuredMassG": part.measured_mass_g,
        "thicknessMm": part.thickness_mm,
        "thicknessLabel": thickness_label(part.thickness_mm) if part.thickness_mm else None,
        "fit": {
            "status": part.fit_status,
            "machines": part.fit_machines or [],
            "reason": part.fit_reason,
        },
        "stock": (
            {"id": part.stock_item_id, "label": part.stock_label}
            if part.stock_item_id is not None
            else None
        ),
        "stockReason": part.stock_reason,
        "duplicateOf": (
            {"id": part.duplicate_of, **(part.duplicate_ref or {})}
            if part.duplicate_of is not None
            else None
        ),
    }
