"""OpenAPI polish: Aerie's one error shape instead of FastAPI's 422 schema, and an example per route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PART = {
    "id": 42,
    "uuid": "0b6f6f3e-6f2a-4a55-9d65-4c1f0b1a2b3c",
    "partId": "IN-014",
    "type": "cnc",
    "material": "6061 Aluminum",
    "materialThickness": "0.25 in",
    "name": "Intake side plate",
    "subsystem": "Intake",
    "assigned": "Ada",
    "status": "In Progress",
    "miscInfo": {"reviewer": "Grace", "storage": "Shelf B"},
    "notes": "Deburr all edges",
    "file": "intake_side_plate.step",
    "onshapeUrl": "https://cad.onshape.com/documents/0123456789abcdef01234567/w/0123456789abcdef01234567/e/0123456789abcdef01234567",
    "claimedDate": "2026-01-12T15:04:05Z",
    "createdAt": "2026-01-10T18:00:00Z",
    "updatedAt": "2026-01-12T15:04:05Z",
    "category": "cnc",
    "amount": 2,
    "quantityDone": 0,
    "completedAt": None,
    "version": 4,
    "geometry": {"stockMm": [203.2, 101.6, 6.35], "volumeMm3": 98000.0, "massG": 264.6},
    "allowedActions": ["assign", "unclaim", "complete"],
    "measuredMassG": 251.0,
    "thicknessMm": 6.35,
    "thicknessLabel": "1/4 in",
    "fit": {"status": "fits", "machines": [{"id": 1, "name": "Router"}], "reason": None},
    "stock": {"id": 4, "label": "1/4 in aluminium 6061 sheet, 24 × 48 in"},
    "stockReason": None,
    "duplicateOf": {"id": 17, "partId": "IN-003", "name": "Intake side plate (left)"},
}
GEOMETRY_CHANGE = {
    "changed": True,
    "movedToReview": True,
    "previousRevision": 1,
    "old": {"stockMm": [203.2, 101.6, 6.35], "volumeMm3": 98000.0, "massG": 264.6},
    "new": {"stockMm": [215.9, 101.6, 6.35], "volumeMm3": 104100.0, "massG": 281.07},
}
MACHINE = {
    "id": 1,
    "name": "Router",
    "process": "router",
    "envelopeMm": {"x": 609.6, "y": 1219.2, "z": 50.8},
    "units": "in",
    "label": "24 × 48 × 2 in router",
    "materials": ["aluminium", "polycarbonate", "hdpe"],
    "minThicknessMm": None,
    "maxThicknessMm": 25.4,
    "marginMm": 6.35,
    "enabled": True,
}
STOCK = {
    "id": 4,
    "material": "aluminium 6061",
    "thicknessMm": 6.35,
    "thicknessLabel": "1/4 in",
    "kind": "sheet",
    "sizeMm": {"x": 609.6, "y": 1219.2},
    "count": 2,
    "label": "1/4 in aluminium 6061 sheet, 24 × 48 in",
}
SHOP_SETTINGS = {"weightLimitKg": 56.7, "weightLimitLb": 125.0, "weightLimitG": 56700.0}
WEIGHT = {
    "limitG": 56700.0,
    "limitKg": 56.7,
    "limitLb": 125.0,
    "totalG": 48213.5,
    "estimatedG": 30113.5,
    "measuredG": 18100.0,
    "marginG": 8486.5,
    "overLimit": False,
    "parts": 212,
    "partsMeasured": 40,
    "partsWithoutMass": 37,
    "subsystems": [
        {
            "subsystem": "Drivetrain",
            "totalG": 21400.0,
            "estimatedG": 9400.0,
            "measuredG": 12000.0,
            "parts": 64,
            "partsMeasured": 22,
            "partsWithoutMass": 9,
        }
    ],
}
CUTLIST = {
    "groups": [
        {
            "material": "aluminium 6061",
            "thicknessMm": 6.35,
            "thicknessLabel": "1/4 in",
            "count": 6,
            "areaMm2": 123870.0,
            "marginMm": 6.35,
            "stock": {
                "id": 4,
                "label": "1/4 in aluminium 6061 sheet, 24 × 48 in",
                "sizeMm": [609.6, 1219.2],
                "onHand": 2,
            },
            "sheetsNeeded": 1,
            "piecesTooLarge": 0,
            "shortBy": 0,
            "parts": [
                {
                    "id": 42,
                    "partId": "IN-014",
                    "name": "Intake side plate",
                    "count": 2,
                    "footprintMm": [203.2, 101.6],
                    "areaMm2": 41290.0,
                }
            ],
        }
    ],
    "parts": 3,
    "pieces": 6,
    "queue": ["cnc", "hand"],
}
CONVERSION = {
    "status": "ready",
    "error": None,
    "seconds": 1.92,
    "facts": {
        "bbox_mm": {"x": 203.2, "y": 101.6, "z": 6.35},
        "volume_mm3": 98000.0,
        "triangles": 5088,
    },
    "geometryChange": GEOMETRY_CHANGE,
}
FILE = {
    "id": 7,
    "revision": 2,
    "kind": "step",
    "name": "intake_side_plate.step",
    "size": 236528,
    "sha256": "9cf23f0efc267de03c8d246fa0e644bd341b52f6d2281677212862cee03bf97b",
    "current": True,
    "uploadedBy": "CAD export script",
    "uploadedAt": "2026-01-12T15:00:00Z",
    "conversion": CONVERSION,
    "geometryChange": GEOMETRY_CHANGE,
}
KEY = {
    "id": 3,
    "name": "CAD export script",
    "scope": "write",
    "prefix": "aerie_Xy12",
    "createdAt": "2026-01-02T10:00:00Z",
    "lastUsedAt": None,
    "revoked": False,
}
EVENT = {
    "id": 91,
    "partId": 42,
    "at": "2026-01-12T15:04:05Z",
    "actor": "Ada (key: shop laptop)",
    "kind": "assign",
    "field": None,
    "old": None,
    "new": None,
    "note": None,
}

# (method, path) -> example of the success body
EXAMPLES: dict[tuple[str, str], Any] = {
    ("get", "/api/parts/"): {"parts": [PART], "total": 1, "limit": 50, "offset": 0},
    ("get", "/api/parts/categories/{category}"): {
        "parts": [PART],
        "total": 1,
        "limit": None,
        "offset": 0,
    },
    ("post", "/api/parts/"): PART,
    ("get", "/api/parts/{part_id}"): PART,
    ("put", "/api/parts/{part_id}"): PART,
    ("delete", "/api/parts/{part_id}"): {"message": "Part deleted successfully"},
    ("get", "/api/parts/{part_id}/events"): {"events": [EVENT]},
    ("get", "/api/parts/stats"): {
        "by_category": {"review": 3, "cnc": 5, "hand": 2, "misc": 1, "completed": 9},
        "by_status": {
            "pending": 3,
            "reviewed": 4,
            "in_progress": 3,
            "already_started": 1,
            "completed": 9,
        },
        "assignment": {"assigned": 12, "unassigned": 8},
        "total": 20,
    },
    ("get", "/api/parts/stats/detailed"): {
        "total_parts": 34,
        "completed_parts": 15,
        "in_progress_parts": 6,
        "average_completion_time": 5.4,
        "completion_time_distribution": {
            "< 1 hour": 4,
            "1-4 hours": 6,
            "4-8 hours": 2,
            "8-24 hours": 2,
            "> 24 hours": 1,
        },
        "by_type": {"cnc": 12, "hand": 6, "misc": 2},
        "by_category": {"review": 3, "cnc": 5, "hand": 2, "misc": 1, "completed": 9},
        "top_contributors": [{"name": "Ada", "count": 6}],
    },
    ("get", "/api/parts/leaderboard"): {
        "leaderboard": [{"name": "Ada", "score": 6.5}, {"name": "Grace", "score": 4.0}]
    },
    ("get", "/api/parts/auth/check"): {
        "status": "authenticated",
        "message": "API key is valid",
        "timestamp": "2026-01-12T15:04:05Z",
    },
    ("post", "/api/parts/wipe"): {"message": "Deleted 57 parts and their files", "count": 57},
    ("post", "/api/parts/{part_id}/upload"): {
        "message": "File uploaded successfully",
        "filename": "intake_side_plate.step",
        "file_path": "files/blobs/9c/9cf23f0efc267de03c8d246fa0e644bd341b52f6d2281677212862cee03bf97b",
        "file": FILE
        | {"conversion": {"status": "queued", "error": None, "seconds": None, "facts": None}},
        "conversion": {"status": "queued", "error": None, "seconds": None, "facts": None},
    },
    ("get", "/api/parts/{part_id}/files"): {"files": [FILE]},
    ("get", "/api/parts/{part_id}/conversion"): CONVERSION,
    ("post", "/api/parts/{part_id}/convert"): CONVERSION | {"status": "queued", "seconds": None},
    ("get", "/api/parts/{part_id}/views"): {
        "views": {
            "files": {"0": {"filename": "view_0.png", "timestamp": "2026-01-12T15:00:00Z"}},
            "updated_at": "2026-01-12T15:00:00Z",
        }
    },
    ("post", "/api/parts/{part_id}/views"): {
        "success": True,
        "views": {"files": {"0": {"filename": "view_0.png", "timestamp": 1768230000.0}}},
    },
    ("get", "/api/parts/{part_id}/drawing/status"): {"status": "pending"},
    ("get", "/api/keys"): {"keys": [KEY]},
    ("post", "/api/keys"): KEY | {"key": "aerie_Xy12…(shown once)"},
    ("post", "/api/keys/{key_id}/revoke"): KEY | {"revoked": True},
    ("get", "/api/keys/me"): {"name": "CAD export script", "scope": "write"},
    ("get", "/api/health"): {"status": "ok", "version": "0.1.0", "database": "ok"},
    ("get", "/api/machines"): {"machines": [MACHINE]},
    ("post", "/api/machines"): MACHINE,
    ("get", "/api/machines/{machine_id}"): MACHINE,
    ("patch", "/api/machines/{machine_id}"): MACHINE,
    ("put", "/api/machines/{machine_id}"): MACHINE,
    ("delete", "/api/machines/{machine_id}"): {"message": "Machine deleted", "partsChanged": 12},
    ("get", "/api/stock"): {"stock": [STOCK]},
    ("post", "/api/stock"): STOCK,
    ("get", "/api/stock/{stock_id}"): STOCK,
    ("patch", "/api/stock/{stock_id}"): STOCK,
    ("put", "/api/stock/{stock_id}"): STOCK,
    ("delete", "/api/stock/{stock_id}"): {"message": "Stock item deleted", "partsChanged": 3},
    ("get", "/api/settings/shop"): SHOP_SETTINGS,
    ("put", "/api/settings/shop"): SHOP_SETTINGS,
    ("get", "/api/stats/weight"): WEIGHT,
    ("get", "/api/cutlist"): CUTLIST,
}
REQUESTS: dict[str, Any] = {
    "approve": {
        "reviewer": "Grace",
        "miscInfo": {"finish": "anodize black"},
        "confirmNoFit": False,
    },
    "assign": {"assigned": "Ada"},
    "start": {"assigned": "Ada"},
    "unclaim": {"storage": "Shelf B"},
    "complete": {"quantity": 2, "storage": "Shelf B"},
    "revert": {},
    "mark-incorrect": {},
    "mark-correct": {},
}
for _action in REQUESTS:
    EXAMPLES[("post", f"/api/parts/{{part_id}}/{_action}")] = PART
BODIES: dict[tuple[str, str], Any] = {
    ("post", f"/api/parts/{{part_id}}/{action}"): body for action, body in REQUESTS.items()
} | {
    ("put", "/api/parts/{part_id}"): {
        "notes": "Countersink both holes",
        "measuredMassG": 251.0,
        "version": 4,
    },
    ("post", "/api/parts/wipe"): {"password": "<an admin key>"},
}

STORED = ["application/step", "application/pdf", "model/stl", "model/gltf-binary"]
BINARY: dict[tuple[str, str], list[str]] = {
    # A part's file is whatever was uploaded: its media type follows its kind.
    ("get", "/api/parts/{part_id}/download"): STORED,
    ("get", "/api/parts/{part_id}/file"): STORED,
    ("get", "/api/parts/{part_id}/files/{file_id}/download"): [*STORED, "application/octet-stream"],
    ("get", "/api/parts/{part_id}/model"): ["model/gltf-binary"],
    ("get", "/api/parts/{part_id}/files/{file_id}/model"): ["model/gltf-binary"],
    ("get", "/api/parts/{part_id}/thumbnail"): ["image/png"],
    ("get", "/api/parts/{part_id}/views/{index}"): ["image/png"],
    ("get", "/api/parts/{part_id}/drawing"): ["application/pdf"],
    ("get", "/api/cutlist.csv"): ["text/csv"],
}
# Answers that are not errors but not the file yet either: 202 while the work runs.
PENDING: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("get", "/api/parts/{part_id}/model"): (
        "The model is being converted; retry after Retry-After seconds",
        {"status": "running", "message": "The 3D model is being prepared"},
    ),
    ("get", "/api/parts/{part_id}/files/{file_id}/model"): (
        "The model is being converted; retry after Retry-After seconds",
        {"status": "running", "message": "The 3D model is being prepared"},
    ),
    ("get", "/api/parts/{part_id}/thumbnail"): (
        "The model is being converted; retry after Retry-After seconds",
        {"status": "queued", "message": "The 3D model is being prepared"},
    ),
    ("get", "/api/parts/{part_id}/drawing"): (
        "The drawing is being exported from Onshape; poll the plain URL",
        {
            "status": "pending",
            "message": "The drawing is being exported from Onshape",
            "poll": "/api/parts/42/drawing",
        },
    ),
}
# Path segments that name a row: digits (anything else is a 404, like an unknown id).
ID_PARAMS = {"part_id": "42", "file_id": "7", "key_id": "3", "machine_id": "1", "stock_id": "4"}
ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": (
        "Invalid input (the field is named)",
        {
            "error": "Validation failed",
            "details": {"field": "material", "message": "Material is required"},
        },
    ),
    "401": ("No key, or a wrong one", {"error": "Invalid API key"}),
    "403": (
        "The key's scope does not allow this",
        {"error": "This action needs a key with write scope"},
    ),
    "404": ("No such part (or file)", {"error": "Part not found", "details": {"id": 42}}),
    "409": (
        "Not allowed in the part's current state, or someone changed it first",
        {
            "error": "Already claimed by Ada",
            "details": {"action": "assign", "allowed": ["unclaim"]},
        },
    ),
    "413": (
        "Request or upload too large",
        {"error": "Payload too large", "details": {"limitBytes": 104857600}},
    ),
    "422": (
        "Content Aerie cannot process",
        {"error": "Conversion failed", "details": "No solids found in the STEP file"},
    ),
    "422-shop": (
        "A value Aerie cannot take: a zero, negative or absurd size, an unknown process or "
        "material, a length that does not parse",
        {
            "error": "Validation failed",
            "details": {"field": "envelopeMm.x", "message": "envelopeMm.x must be greater than 0"},
        },
    ),
    "409-approve": (
        "Not allowed in the part's current state, someone changed it first, or it fits no "
        "machine and confirmNoFit was not sent",
        {
            "error": "This part fits no machine (130 mm > 100 mm Laser bed by 30 mm on X); "
            "approve it with confirmNoFit to go ahead anyway",
            "details": {
                "action": "approve",
                "fit": "none",
                "reason": "130 mm > 100 mm Laser bed by 30 mm on X",
                "confirm": "confirmNoFit",
            },
        },
    ),
    "409-machine": (
        "Another machine has this name",
        {"error": "A machine named 'Router' already exists", "details": {"field": "name", "id": 1}},
    ),
    "429": (
        "Too many attempts; see Retry-After",
        {
            "error": "Rate limited",
            "message": "Too many failed API-key attempts; wait and try again",
            "retry_after": 42.0,
        },
    ),
}
PUBLIC = {("get", "/api/health")}
HEALTH_DOWN = {"status": "degraded", "version": "0.1.0", "database": "unreachable"}


def _text(max_length: int) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": max_length}


VERSION_FIELD = {
    "type": "integer",
    "minimum": 0,
    "description": "The part's version as last read: a newer one on the server is a 409",
}
MISC_INFO = {
    "type": ["object", "null"],
    "maxProperties": 50,
    "additionalProperties": {
        "anyOf": [
            {"type": ["string", "number", "boolean", "null"]},
            {"type": "array"},
            {"type": "object"},
        ]
    },
    "description": "Reviewer notes and custom fields: text, numbers, booleans, flat lists and objects",
}
PART_FIELDS: dict[str, Any] = {
    "name": _text(200),
    "material": _text(200),
    "subsystem": _text(200),
    "materialThickness": _text(100),
    "partId": _text(100),
    "assigned": _text(200),
    "notes": _text(5000),
    "onshapeUrl": _text(1000),
    "file": _text(255),
    "type": {
        "type": ["string", "null"],
        "enum": ["cnc", "hand", "misc", "laser", "cnc/laser", "hand fab", "handfab", "", None],
        "description": "cnc, hand or misc (the old client's spellings are understood, any case)",
    },
    "amount": {"type": "integer", "minimum": 1, "maximum": 100000},
    "measuredMassG": {
        "type": ["number", "null"],
        "exclusiveMinimum": 0,
        "maximum": 1000000,
        "description": "Mass weighed by hand, g (wins over the estimate); null clears it",
    },
    "miscInfo": MISC_INFO,
    "claimedDate": {
        "type": ["string", "null"],
        "anyOf": [{"format": "date-time"}, {"enum": ["", None]}],
        "description": "ISO 8601; naive times are UTC; empty or null for none",
    },
}
NON_EMPTY = {"type": "string", "minLength": 1, "maxLength": 200}
PART_CREATE = {
    "type": "object",
    "description": "camelCase or snake_case keys; unknown keys are ignored; new parts always "
    "start in review / Pending",
    "required": ["material", "subsystem"],
    "properties": PART_FIELDS | {"material": NON_EMPTY, "subsystem": NON_EMPTY},
}
PART_UPDATE = {
    "type": "object",
    "description": "Only the fields given change; status and category changes follow the workflow",
    "minProperties": 1,
    "properties": PART_FIELDS
    | {
        "subsystem": NON_EMPTY,
        "material": NON_EMPTY,
        "status": {
            "type": "string",
            "enum": ["Pending", "Reviewed", "In Progress", "Already Started", "Completed"],
        },
        "category": {"type": "string", "enum": ["review", "cnc", "hand", "misc", "completed"]},
        "version": VERSION_FIELD,
    },
}


def _action(**fields: Any) -> dict[str, Any]:
    return {"type": ["object", "null"], "properties": fields | {"version": VERSION_FIELD}}


NAME = {"type": "string", "minLength": 1, "maxLength": 200}
BINARY_FIELD = {"type": "string", "format": "binary"}
MULTIPART: dict[tuple[str, str], Any] = {
    ("post", "/api/parts/{part_id}/upload"): {
        "type": "object",
        "required": ["file"],
        "properties": {"file": BINARY_FIELD | {"description": "A STEP/STP or PDF file"}},
    },
    ("post", "/api/parts/{part_id}/views"): {
        "type": "object",
        "properties": {f"view_{i}": BINARY_FIELD | {"description": "A PNG"} for i in range(8)},
    },
}
BODY_SCHEMAS: dict[tuple[str, str], Any] = {
    ("post", "/api/parts/"): PART_CREATE,
    ("put", "/api/parts/{part_id}"): PART_UPDATE,
    ("post", "/api/parts/{part_id}/approve"): _action(
        reviewer=_text(200),
        miscInfo=MISC_INFO,
        confirmNoFit={
            "type": "boolean",
            "description": "Approve a part that fits no machine anyway (else 409 with the reason)",
        },
    ),
    ("post", "/api/parts/{part_id}/assign"): _action(assigned=NAME, name=NAME)
    | {"anyOf": [{"required": ["assigned"]}, {"required": ["name"]}]},
    ("post", "/api/parts/{part_id}/start"): _action(assigned=NAME, name=NAME),
    ("post", "/api/parts/{part_id}/unclaim"): _action(storage=_text(200)),
    ("post", "/api/parts/{part_id}/complete"): _action(
        quantity={"type": "integer", "minimum": 1}, storage=_text(200), miscInfo=MISC_INFO
    ),
    ("post", "/api/parts/{part_id}/revert"): _action(),
    ("post", "/api/parts/{part_id}/mark-incorrect"): _action(),
    ("post", "/api/parts/{part_id}/mark-correct"): _action(),
    ("post", "/api/parts/wipe"): {
        "type": "object",
        "required": ["password"],
        "properties": {"password": {"type": "string", "description": "An admin key, typed again"}},
    },
    ("post", "/api/keys"): {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "scope": {"type": "string", "enum": ["read", "write", "admin"], "default": "write"},
        },
    },
}


LENGTH = {
    "anyOf": [{"type": "number"}, {"type": "string", "maxLength": 60}],
    "description": "mm, or text with a unit: '24 in', '1/4\"', '6 mm'",
}
MACHINE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "process": {
        "type": "string",
        "enum": ["router", "laser", "waterjet", "lathe", "mill", "printer", "hand"],
    },
    "envelopeMm": {
        "type": ["object", "null"],
        "description": "{x, y, z}; a lathe: {diameter, length}; a hand process may give none",
        "properties": dict.fromkeys(("x", "y", "z", "diameter", "length"), LENGTH),
    },
    "units": {"type": "string", "enum": ["mm", "in"], "description": "Default: inferred"},
    "materials": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "maxItems": 50,
        "description": "Materials it cuts (names such as 6061, polycarbonate, HDPE); empty = any",
    },
    "minThicknessMm": {**LENGTH, "anyOf": [*LENGTH["anyOf"], {"type": "null"}]},
    "maxThicknessMm": {**LENGTH, "anyOf": [*LENGTH["anyOf"], {"type": "null"}]},
    "marginMm": {**LENGTH, "description": "Spacing between parts when packing sheets"},
    "enabled": {"type": "boolean"},
}
STOCK_FIELDS = {
    "material": {"type": "string", "minLength": 1, "maxLength": 200},
    "thickness": {**LENGTH, "description": "'1/4\"', '0.25in', '6 mm', 3/16; a bar: its diameter"},
    "thicknessMm": LENGTH,
    "diameterMm": LENGTH,
    "kind": {"type": "string", "enum": ["sheet", "bar"]},
    "sizeMm": {
        "type": "object",
        "description": "A sheet: {x, y}; a bar: {length}",
        "properties": dict.fromkeys(("x", "y", "length"), LENGTH),
    },
    "count": {"type": "integer", "minimum": 0, "maximum": 1000000},
}
SHOP_BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/machines"): {
        "type": "object",
        "required": ["name", "process"],
        "properties": MACHINE_FIELDS,
    },
    ("post", "/api/stock"): {
        "type": "object",
        "required": ["material", "thickness", "sizeMm"],
        "properties": STOCK_FIELDS,
    },
    ("put", "/api/settings/shop"): {
        "type": "object",
        "properties": {
            "weightLimitKg": {"type": "number", "exclusiveMinimum": 0, "maximum": 10000},
            "weightLimitLb": {"type": "number", "exclusiveMinimum": 0},
            "weightLimit": {"type": "string", "description": "'125 lb' or '56.7 kg'"},
        },
    },
}
for _method in ("patch", "put"):
    SHOP_BODIES[(_method, "/api/machines/{machine_id}")] = {
        "type": "object",
        "minProperties": 1,
        "properties": MACHINE_FIELDS,
    }
    SHOP_BODIES[(_method, "/api/stock/{stock_id}")] = {
        "type": "object",
        "minProperties": 1,
        "properties": STOCK_FIELDS,
    }
BODY_SCHEMAS |= SHOP_BODIES
SHOP_WRITES = tuple(path for _, path in SHOP_BODIES)


def _error_codes(method: str, path: str) -> list[str]:
    codes = [] if (method, path) in PUBLIC else ["401", "429"]
    if (method, path) not in PUBLIC and method != "get":
        codes.append("403")
    codes.append("400")
    if "{" in path:
        codes.append("404")
    if path == "/api/parts/{part_id}/approve":
        codes.append("409-approve")
    elif "/api/parts/{part_id}" in path and method in ("put", "post"):
        codes.append("409")
    if path.startswith("/api/machines") and method in ("post", "put", "patch"):
        codes.append("409-machine")
    if method in ("post", "put", "patch"):
        codes.append("413")
    if path.endswith(("/upload", "/model", "/thumbnail", "/drawing", "/views")):
        codes.append("422")
    if path in SHOP_WRITES and method in ("post", "put", "patch"):
        codes.append("422-shop")
    return codes


def install(api: FastAPI) -> None:
    """Replace ``api.openapi`` with a version that documents Aerie's real responses."""

    def openapi() -> dict[str, Any]:
        if api.openapi_schema:
            return api.openapi_schema
        schema = get_openapi(
            title=api.title, version=api.version, description=api.description, routes=api.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}, "details": {}},
        }
        schema.setdefault("components", {})["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        }
        for path, operations in schema["paths"].items():
            for method, op in operations.items():
                key = (method, path)
                responses = op.setdefault("responses", {})
                responses.pop("422", None)
                success = next((c for c in ("200", "201", "202") if c in responses), "200")
                body = responses.setdefault(success, {"description": "OK"})
                if key in BINARY:
                    body["content"] = {
                        media: {"schema": {"type": "string", "format": "binary"}}
                        for media in BINARY[key]
                    }
                elif key in EXAMPLES:
                    content = body.setdefault("content", {}).setdefault("application/json", {})
                    content["example"] = EXAMPLES[key]
                for code in _error_codes(method, path):
                    text, example = ERRORS[code]
                    responses.setdefault(
                        code.split("-")[0],
                        {
                            "description": text,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"},
                                    "example": example,
                                }
                            },
                        },
                    )
                if key in PENDING:
                    text, example = PENDING[key]
                    responses["202"] = {
                        "description": text,
                        "content": {"application/json": {"example": example}},
                    }
                if key == ("get", "/api/health"):
                    responses["503"] = {
                        "description": "The database does not answer",
                        "content": {"application/json": {"example": HEALTH_DOWN}},
                    }
                for param in op.get("parameters", []):
                    if param.get("in") == "path" and param["name"] in ID_PARAMS:
                        param["schema"] = {"type": "string", "pattern": "^[0-9]+$"}
                        param["example"] = ID_PARAMS[param["name"]]
                if key in BODY_SCHEMAS:
                    request = op.setdefault("requestBody", {"content": {"application/json": {}}})
                    request.setdefault("content", {}).setdefault("application/json", {})
                    request["content"]["application/json"]["schema"] = BODY_SCHEMAS[key]
                if key in MULTIPART:
                    op["requestBody"] = {
                        "required": True,
                        "content": {"multipart/form-data": {"schema": MULTIPART[key]}},
                    }
                if key in BODIES:
                    request = op.setdefault("requestBody", {"content": {"application/json": {}}})
                    for media in request.get("content", {}).values():
                        media.setdefault("example", BODIES[key])
                if key not in PUBLIC:
                    op["security"] = [{"ApiKey": []}]
        api.openapi_schema = schema
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
