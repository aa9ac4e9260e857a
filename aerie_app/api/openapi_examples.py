"""Examples for the OpenAPI document: what each route answers, its media types, Aerie's errors.

Data only; ``api/openapi.py`` puts them into the schema FastAPI generates.
"""

from __future__ import annotations

from typing import Any

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
    "personId": None,
    "role": "reviewer",
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
WEBHOOK = {
    "id": 1,
    "url": "https://bot.example/aerie",
    "events": ["part.moved", "conversion.failed"],
    "description": "Discord build-season channel",
    "active": True,
    "createdAt": "2026-01-10T18:00:00Z",
    "createdBy": "admin",
}
DELIVERY = {
    "id": 7,
    "webhookId": 1,
    "event": "part.moved",
    "partId": 42,
    "status": "delivered",
    "attempts": 1,
    "nextAttemptAt": None,
    "lastStatus": 200,
    "lastError": None,
    "createdAt": "2026-01-12T15:04:05Z",
    "deliveredAt": "2026-01-12T15:04:06Z",
}
IMPORT_PLAN = {
    "applied": False,
    "summary": {"create": 1, "update": 1, "unchanged": 0, "error": 0, "rows": 2},
    "ignoredColumns": [],
    "unknownColumns": [],
    "rows": [
        {
            "row": 1,
            "action": "create",
            "id": None,
            "label": "IN-014",
            "changes": {"name": [None, "Intake side plate"], "amount": [None, 2]},
            "errors": [],
        },
        {
            "row": 2,
            "action": "update",
            "id": 12,
            "label": "IN-015",
            "changes": {"amount": [2, 4]},
            "errors": [],
        },
    ],
}

PERSON = {
    "id": 5,
    "name": "Ada Lovelace",
    "role": "fabricator",
    "active": True,
    "canSignIn": True,
    "createdAt": "2026-01-05T18:00:00Z",
    "deactivatedAt": None,
}
PIN = {
    "number": 1,
    "note": "tap 10-32",
    "point": [12.5, -30.0, 6.0],
    "normal": [0.0, 0.0, 1.0],
    "body": "Gusset",
    "face": 118,
    "onModel": True,
    "ticked": False,
    "tickedBy": None,
    "tickedAt": None,
    "stale": False,
    "createdBy": "Grace (key: review)",
    "createdAt": "2026-01-12T15:00:00Z",
}

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
    ("get", "/api/keys/me"): {
        "name": "CAD export script",
        "scope": "write",
        "role": "reviewer",
        "personId": None,
    },
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
    ("post", "/api/onshape/bom/preview"): IMPORT_PLAN | {"exports": 0},
    ("post", "/api/onshape/bom/import"): IMPORT_PLAN | {"applied": True, "exports": 2},
    ("post", "/api/parts/import"): IMPORT_PLAN,
    ("get", "/api/people"): {"people": [PERSON]},
    ("post", "/api/people"): PERSON,
    ("get", "/api/people/{person_id}"): PERSON,
    ("get", "/api/people/names"): {"names": [{"name": "ada", "parts": 12}]},
    ("post", "/api/people/{person_id}/merge"): {"parts": 12, "workers": 3, "events": 40},
    ("patch", "/api/people/{person_id}"): PERSON | {"role": "reviewer"},
    ("post", "/api/people/{person_id}/keys"): KEY
    | {"name": "Ada's key", "personId": 5, "key": "aerie_Xy12…(shown once)"},
    ("get", "/api/parts/{part_id}/pins"): {"pins": [PIN], "open": 1},
    ("post", "/api/parts/{part_id}/pins"): PIN,
    ("patch", "/api/parts/{part_id}/pins/{number}"): PIN
    | {"ticked": True, "tickedBy": "Ada (key: shop)", "tickedAt": "2026-01-12T16:10:00Z"},
    ("delete", "/api/parts/{part_id}/pins/{number}"): {"message": "Pin #1 removed"},
    ("get", "/api/webhooks"): {
        "webhooks": [WEBHOOK],
        "events": {"part.moved": "A workflow action: reviewed, claimed, started, …"},
    },
    ("post", "/api/webhooks"): WEBHOOK | {"secret": "whsec_…(shown once)"},
    ("patch", "/api/webhooks/{webhook_id}"): WEBHOOK | {"active": False},
    ("delete", "/api/webhooks/{webhook_id}"): {"message": "Webhook deleted"},
    ("post", "/api/webhooks/{webhook_id}/ping"): DELIVERY | {"event": "ping", "status": "pending"},
    ("get", "/api/webhooks/{webhook_id}/deliveries"): {"deliveries": [DELIVERY]},
    ("post", "/api/webhooks/deliveries/{delivery_id}/redeliver"): DELIVERY
    | {"status": "pending", "attempts": 0},
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
    ("post", "/api/parts/{part_id}/pins"): {
        "note": "tap 10-32",
        "point": [12.5, -30.0, 6.0],
        "normal": [0, 0, 1],
        "body": "Gusset",
        "face": 118,
    },
    ("patch", "/api/parts/{part_id}/pins/{number}"): {"ticked": True},
    ("post", "/api/people/{person_id}/merge"): {"names": ["ada", "Ada L."]},
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
    ("get", "/api/parts/export.csv"): ["text/csv"],
    ("get", "/api/parts/labels.pdf"): ["application/pdf"],
    ("get", "/api/parts/export.xlsx"): [
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ],
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
ID_PARAMS = {
    "part_id": "42",
    "file_id": "7",
    "key_id": "3",
    "machine_id": "1",
    "stock_id": "4",
    "number": "1",
    "person_id": "5",
}
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
    "422-onshape": (
        "Onshape could not be used: its keys are not set or were rejected, it failed or did "
        "not answer, or the bill of materials lists no parts",
        {
            "error": "Onshape rejected Aerie's API keys (401 Unauthorized): check "
            "AERIE_ONSHAPE_ACCESS_KEY and AERIE_ONSHAPE_SECRET_KEY"
        },
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
    "409-person": (
        "Someone else has this name, or the person is deactivated",
        {"error": "Someone is already called 'Ada Lovelace'", "details": {"field": "name"}},
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
