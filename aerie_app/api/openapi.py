"""OpenAPI polish: Aerie's one error shape instead of FastAPI's 422 schema, and an example per route."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aerie_app.api.openapi_examples import (
    BINARY,
    BODIES,
    ERRORS,
    EXAMPLES,
    HEALTH_DOWN,
    ID_PARAMS,
    PENDING,
    PUBLIC,
)


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
            "role": {
                "type": "string",
                "enum": ["viewer", "fabricator", "reviewer", "admin"],
                "description": "A named integration's role (instead of the scope's)",
            },
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

VECTOR = {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3}
PIN_NOTE = {"type": "string", "minLength": 1, "maxLength": 200}
BODY_SCHEMAS[("post", "/api/parts/{part_id}/pins")] = {
    "type": "object",
    "required": ["note"],
    "additionalProperties": False,
    "properties": {
        "note": PIN_NOTE | {"description": "What to check or do there: 'tap 10-32'"},
        "point": VECTOR | {"description": "The clicked point, mm, in the STEP model's axes"},
        "normal": VECTOR | {"description": "The face's normal there"},
        "body": {"type": "string", "maxLength": 200, "description": "The body's name"},
        "face": {"type": "integer", "minimum": 0, "description": "The triangle of its mesh"},
        "actor": NAME,
    },
}
ROLE = {"type": "string", "enum": ["viewer", "fabricator", "reviewer", "admin"]}
PASSWORD = {"type": "string", "minLength": 8, "maxLength": 200}
PERSON_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
BODY_SCHEMAS[("post", "/api/people")] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {"name": PERSON_NAME, "role": ROLE, "password": PASSWORD},
}
BODY_SCHEMAS[("patch", "/api/people/{person_id}")] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "name": PERSON_NAME,
        "role": ROLE,
        "active": {"type": "boolean"},
        "password": PASSWORD,
        "clearPassword": {"type": "boolean"},
    },
}
BODY_SCHEMAS[("post", "/api/people/{person_id}/keys")] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"name": {"type": "string", "maxLength": 100}},
}
BODY_SCHEMAS[("post", "/api/people/{person_id}/merge")] = {
    "type": "object",
    "required": ["names"],
    "additionalProperties": False,
    "properties": {
        "names": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1, "maxLength": 200},
        }
    },
}
PEOPLE_WRITES = ("/api/people", "/api/people/{person_id}", "/api/people/{person_id}/keys")
BODY_SCHEMAS[("patch", "/api/parts/{part_id}/pins/{number}")] = {
    "type": "object",
    "minProperties": 1,
    "additionalProperties": False,
    "properties": {
        "ticked": {"type": "boolean"},
        "note": PIN_NOTE,
        "keep": {"type": "boolean", "description": "A stale pin still applies: open, not stale"},
        "actor": NAME,
    },
}
SHOP_WRITES = tuple(path for _, path in SHOP_BODIES)


ONSHAPE_PATHS = ("/api/onshape/bom/preview", "/api/onshape/bom/import")


def _error_codes(method: str, path: str) -> list[str]:
    codes = [] if (method, path) in PUBLIC else ["401", "429"]
    if (method, path) not in PUBLIC and method != "get":
        codes.append("403")
    codes.append("400")
    if "{" in path or path in ("/api/parts/labels.pdf", *ONSHAPE_PATHS):
        codes.append("404")
    if path == "/api/parts/{part_id}/approve":
        codes.append("409-approve")
    elif "/api/parts/{part_id}" in path and method in ("put", "post"):
        codes.append("409")
    if path.startswith("/api/machines") and method in ("post", "put", "patch"):
        codes.append("409-machine")
    if path in PEOPLE_WRITES and method in ("post", "patch"):
        codes.append("409-person")
    if method in ("post", "put", "patch"):
        codes.append("413")
    if path.endswith(("/upload", "/model", "/thumbnail", "/drawing", "/views")):
        codes.append("422")
    if path in SHOP_WRITES and method in ("post", "put", "patch"):
        codes.append("422-shop")
    if path in ONSHAPE_PATHS:
        codes.append("422-onshape")
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
