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
}
REQUESTS: dict[str, Any] = {
    "approve": {"reviewer": "Grace", "miscInfo": {"finish": "anodize black"}},
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
    ("put", "/api/parts/{part_id}"): {"notes": "Countersink both holes", "version": 4},
    ("post", "/api/parts/wipe"): {"password": "<an admin key>"},
}

BINARY: dict[tuple[str, str], str] = {
    ("get", "/api/parts/{part_id}/download"): "application/step",
    ("get", "/api/parts/{part_id}/file"): "application/pdf",
    ("get", "/api/parts/{part_id}/files/{file_id}/download"): "application/octet-stream",
    ("get", "/api/parts/{part_id}/model"): "model/gltf-binary",
    ("get", "/api/parts/{part_id}/thumbnail"): "image/png",
    ("get", "/api/parts/{part_id}/views/{index}"): "image/png",
    ("get", "/api/parts/{part_id}/drawing"): "application/pdf",
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


def _error_codes(method: str, path: str) -> list[str]:
    codes = [] if (method, path) in PUBLIC else ["401", "429"]
    if (method, path) not in PUBLIC and method != "get":
        codes.append("403")
    codes.append("400")
    if "{" in path:
        codes.append("404")
    if "/api/parts/{part_id}" in path and method in ("put", "post"):
        codes.append("409")
    if method in ("post", "put"):
        codes.append("413")
    if path.endswith(("/upload", "/model", "/thumbnail", "/drawing", "/views")):
        codes.append("422")
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
                        BINARY[key]: {"schema": {"type": "string", "format": "binary"}}
                    }
                elif key in EXAMPLES:
                    content = body.setdefault("content", {}).setdefault("application/json", {})
                    content["example"] = EXAMPLES[key]
                for code in _error_codes(method, path):
                    text, example = ERRORS[code]
                    responses.setdefault(
                        code,
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
                if key in BODIES:
                    request = op.setdefault("requestBody", {"content": {"application/json": {}}})
                    for media in request.get("content", {}).values():
                        media.setdefault("example", BODIES[key])
                if key not in PUBLIC:
                    op["security"] = [{"ApiKey": []}]
        api.openapi_schema = schema
        return schema

    api.openapi = openapi  # type: ignore[method-assign]
