"""Validated column values for machines, stock and shop settings from a client body (camelCase).

Every refusal is :class:`InvalidValue` (422, naming the field): the body was well-formed JSON,
but a size is zero, negative or absurd, a process or material is unknown, or a length does not
parse. Lengths are numbers in mm or text with a unit ("24 in", "1/4\"", "6 mm").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from aerie_app.cad.materials import MATERIAL_KEYS, material_key
from aerie_app.errors import InvalidValue
from aerie_app.models import Process, StockKind
from aerie_app.units import MM_PER_IN, is_inch_size, parse_length_mm

MAX_SIZE_MM = 10_000.0  # 10 m: anything larger is a typo (or a unit mistake)
MAX_MARGIN_MM = 100.0
MAX_COUNT = 1_000_000
MAX_MATERIALS = 50
KG_PER_LB = 0.45359237
MAX_WEIGHT_KG = 10_000.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PROCESS_ALIASES = {
    "3d printer": Process.PRINTER,
    "3d-printer": Process.PRINTER,
    "3dprinter": Process.PRINTER,
    "3d print": Process.PRINTER,
    "cnc router": Process.ROUTER,
    "cnc": Process.ROUTER,
    "laser cutter": Process.LASER,
    "water jet": Process.WATERJET,
    "mill": Process.MILL,
    "cnc mill": Process.MILL,
    "hand tools": Process.HAND,
}


def _body(body: Any, partial: bool) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidValue("body", "Request body must be a JSON object")
    if partial and not body:
        raise InvalidValue("body", "Nothing to update: no known field was given")
    return body


def text(value: Any, field: str, *, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, f"{field} must be text")
    cleaned = _CONTROL.sub("", value).strip()
    if not cleaned:
        raise InvalidValue(field, f"{field} must not be empty")
    if len(cleaned) > limit:
        raise InvalidValue(field, f"{field} must be at most {limit} characters")
    return cleaned


def length(
    value: Any, field: str, *, allow_zero: bool = False, limit: float = MAX_SIZE_MM
) -> float:
    """A length in mm: a number (mm) or text with a unit; positive (or zero) and at most ``limit``."""
    if isinstance(value, bool) or value is None:
        raise InvalidValue(field, f"{field} must be a length: a number in mm or text like '24 in'")
    if isinstance(value, int | float):
        mm = float(value)
    elif isinstance(value, str):
        parsed = (
            0.0 if allow_zero and value.strip() in ("0", "0 mm", "0mm") else parse_length_mm(value)
        )
        if parsed is None:
            raise InvalidValue(
                field, f"Cannot read {value[:40]!r} as a length (try '6 mm' or '1/4 in')"
            )
        mm = parsed
    else:
        raise InvalidValue(field, f"{field} must be a length: a number in mm or text like '24 in'")
    if not math.isfinite(mm) or mm < 0 or (mm == 0 and not allow_zero):
        raise InvalidValue(field, f"{field} must be greater than 0")
    if mm > limit:
        raise InvalidValue(field, f"{field} must be at most {limit:g} mm")
    return round(mm, 4)


def _optional_length(value: Any, field: str) -> float | None:
    return None if value is None else length(value, field)


def process(value: Any) -> Process:
    raw = text(value, "process", limit=40).lower()
    try:
        return Process(raw)
    except ValueError:
        pass
    if raw in PROCESS_ALIASES:
        return PROCESS_ALIASES[raw]
    choices = ", ".join(p.value for p in Process)
    raise InvalidValue("process", f"process must be one of {choices}")


def material(value: Any, field: str = "material") -> str:
    raw = text(value, field, limit=200)
    key = material_key(raw)
    if key is None:
        raise InvalidValue(
            field, f"Unknown material {raw[:60]!r}; known: {', '.join(MATERIAL_KEYS)}"
        )
    return key


def _materials(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidValue("materials", "materials must be a list of material names (empty = any)")
    if len(value) > MAX_MATERIALS:
        raise InvalidValue("materials", f"materials may list at most {MAX_MATERIALS}")
    return list(dict.fromkeys(material(v, f"materials[{i}]") for i, v in enumerate(value)))


def _envelope(value: Any, proc: Process) -> tuple[float | None, float | None, float | None]:
    """(x, y, z) as stored; a lathe's {diameter, length} become (x, y)."""
    if value is None:
        if proc is Process.HAND:
            return None, None, None
        raise InvalidValue("envelopeMm", "envelopeMm is required (a hand process may leave it out)")
    if not isinstance(value, Mapping):
        raise InvalidValue("envelopeMm", "envelopeMm must be an object")
    if proc is Process.LATHE:
        for key in ("diameter", "length"):
            if value.get(key) is None:
                raise InvalidValue(f"envelopeMm.{key}", f"A lathe needs envelopeMm.{key}")
        return (
            length(value["diameter"], "envelopeMm.diameter"),
            length(value["length"], "envelopeMm.length"),
            None,
        )
    sizes = {k: _optional_length(value.get(k), f"envelopeMm.{k}") for k in ("x", "y", "z")}
    if proc is not Process.HAND:
        for key in ("x", "y"):
            if sizes[key] is None:
                raise InvalidValue(f"envelopeMm.{key}", f"envelopeMm.{key} is required")
    return sizes["x"], sizes["y"], sizes["z"]


def infer_units(*sizes: float | None) -> str:
    """``in`` when every given size is a whole number of eighths of an inch (a 24 × 48 in bed)."""
    given = [s for s in sizes if s is not None]
    return "in" if given and all(is_inch_size(s) for s in given) else "mm"


def _units(value: Any) -> str:
    raw = text(value, "units", limit=10).lower()
    if raw in ("mm", "metric"):
        return "mm"
    if raw in ("in", "inch", "inches", "imperial"):
        return "in"
    raise InvalidValue("units", "units must be mm or in")


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(field, f"{field} must be true or false")
    return value


def _count(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise InvalidValue("count", f"count must be a whole number from 0 to {MAX_COUNT}")
    return value


def machine_input(
    body: Any, *, partial: bool, current_process: Process | None = None
) -> dict[str, Any]:
    """Column values of a machine from ``{name, process, envelopeMm, units, materials,
    minThicknessMm, maxThicknessMm, marginMm, enabled}``; an update gives only what changes
    (its envelope is read for the process it will have)."""
    body = _body(body, partial)
    out: dict[str, Any] = {}
    if "name" in body or not partial:
        out["name"] = text(body.get("name"), "name", limit=100)
    proc = current_process
    if "process" in body or not partial:
        proc = process(body.get("process"))
        out["process"] = proc.value
    if "envelopeMm" in body or not partial or ("process" in body and proc is not current_process):
        assert proc is not None
        if "envelopeMm" not in body and partial:
            raise InvalidValue("envelopeMm", "Changing the process needs its envelopeMm too")
        x, y, z = _envelope(body.get("envelopeMm"), proc)
        out |= {"envelope_x_mm": x, "envelope_y_mm": y, "envelope_z_mm": z}
    if body.get("units") is not None:
        out["units"] = _units(body["units"])
    elif "envelope_x_mm" in out:
        out["units"] = infer_units(out["envelope_x_mm"], out["envelope_y_mm"], out["envelope_z_mm"])
    if "materials" in body or not partial:
        out["materials"] = _materials(body.get("materials"))
    for key, column in (
        ("minThicknessMm", "min_thickness_mm"),
        ("maxThicknessMm", "max_thickness_mm"),
    ):
        if key in body or not partial:
            out[column] = _optional_length(body.get(key), key)
    if "marginMm" in body or not partial:
        raw = body.get("marginMm", 0.0)
        out["margin_mm"] = (
            0.0 if raw is None else length(raw, "marginMm", allow_zero=True, limit=MAX_MARGIN_MM)
        )
    if "enabled" in body or not partial:
        out["enabled"] = _bool(body.get("enabled", True), "enabled")
    if partial and not out:
        raise InvalidValue("body", "Nothing to update: no known field was given")
    return out


def check_thickness_range(low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidValue("minThicknessMm", "minThicknessMm must not be more than maxThicknessMm")


def stock_input(
    body: Any, *, partial: bool, current_kind: StockKind | None = None
) -> dict[str, Any]:
    """Column values of a stock item from ``{material, thickness | thicknessMm, kind, sizeMm, count}``.

    A sheet's ``sizeMm`` is ``{x, y}``; a bar's is ``{length}`` and its ``thickness`` (or
    ``diameterMm``) is the bar's diameter.
    """
    body = _body(body, partial)
    out: dict[str, Any] = {}
    if "material" in body or not partial:
        out["material"] = material(body.get("material"))
    kind = current_kind or StockKind.SHEET
    if "kind" in body:
        raw = text(body["kind"], "kind", limit=10).lower()
        try:
            kind = StockKind(raw)
        except ValueError:
            raise InvalidValue("kind", "kind must be sheet or bar") from None
        out["kind"] = kind.value
    elif not partial:
        out["kind"] = kind.value
    for key in ("thickness", "thicknessMm", "diameterMm"):
        if key in body:
            out["thickness_mm"] = length(body[key], key)
            break
    else:
        if not partial:
            raise InvalidValue("thickness", "thickness is required (e.g. '1/4 in' or 6.35)")
    if "sizeMm" in body or not partial or "kind" in body:
        size = body.get("sizeMm")
        if not isinstance(size, Mapping):
            raise InvalidValue("sizeMm", "sizeMm must be {x, y} for a sheet or {length} for a bar")
        if kind is StockKind.BAR:
            out["size_x_mm"] = length(size.get("length", size.get("x")), "sizeMm.length")
            out["size_y_mm"] = None
        else:
            out["size_x_mm"] = length(size.get("x"), "sizeMm.x")
            out["size_y_mm"] = length(size.get("y"), "sizeMm.y")
    if "count" in body or not partial:
        out["count"] = _count(body.get("count", 0))
    if partial and not out:
        raise InvalidValue("body", "Nothing to update: no known field was given")
    return out


def weight_limit_kg(body: Any) -> float:
    """The robot weight limit from ``{weightLimitKg}`` or ``{weightLimitLb}`` (or text: "125 lb")."""
    body = _body(body, partial=True)
    for key, factor in (("weightLimitKg", 1.0), ("weightLimitLb", KG_PER_LB), ("weightLimit", 1.0)):
        if key not in body:
            continue
        value = body[key]
        if isinstance(value, str) and key == "weightLimit":
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(kg|lb|lbs)?\s*", value.lower())
            if not match:
                raise InvalidValue(key, "weightLimit must read like '125 lb' or '56.7 kg'")
            value = float(match[1])
            factor = KG_PER_LB if (match[2] or "kg").startswith("lb") else 1.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(key, f"{key} must be a number")
        kg = float(value) * factor
        if not math.isfinite(kg) or kg <= 0 or kg > MAX_WEIGHT_KG:
            raise InvalidValue(key, f"{key} must be more than 0 and at most {MAX_WEIGHT_KG:g} kg")
        return round(kg, 4)
    raise InvalidValue("weightLimitKg", "Give weightLimitKg or weightLimitLb")


def inches(mm: float) -> float:
    return round(mm / MM_PER_IN, 4)
