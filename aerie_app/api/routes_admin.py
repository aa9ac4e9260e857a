"""API-key management (admin scope): create (the key is shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from aerie_app.api.boundary import parse_id
from aerie_app.api.deps import Admin, Reader, SessionDep
from aerie_app.errors import ValidationFailed
from aerie_app.models import Scope
from aerie_app.permissions import SCOPES, Role
from aerie_app.services import keys

router = APIRouter(prefix="/api/keys", tags=["api keys"])


@router.get("", summary="List API keys (never their values)")
def list_keys(session: SessionDep, _: Admin) -> dict[str, Any]:
    return {"keys": [keys.key_public(k) for k in keys.list_keys(session)]}


@router.post("", status_code=201, summary="Create an API key; its value is returned only here")
def create_key(
    session: SessionDep,
    _: Admin,
    body: Annotated[
        dict[str, Any] | None,
        Body(
            openapi_examples={
                "key": {"value": {"name": "CAD export script", "scope": "write"}},
                "integration": {"value": {"name": "Line sensor", "role": "fabricator"}},
            }
        ),
    ] = None,
) -> dict[str, Any]:
    name = (body or {}).get("name")
    scope_raw = (body or {}).get("scope", "write")
    role_raw = (body or {}).get("role")
    if not isinstance(name, str):
        raise ValidationFailed("name", "Key name is required")
    try:
        scope = Scope(scope_raw)
    except ValueError:
        raise ValidationFailed("scope", "scope must be read, write or admin") from None
    role = None
    if role_raw is not None:
        try:
            role = Role(role_raw)
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise ValidationFailed("role", f"role must be one of {choices}") from None
        scope = SCOPES[role]  # a named integration's role decides what it may do
    key, raw = keys.create_key(session, name=name, scope=scope, role=role)
    return keys.key_public(key) | {"key": raw}


@router.post("/{key_id}/revoke", summary="Revoke a key (its browser sessions end too)")
def revoke_key(session: SessionDep, _: Admin, key_id: str) -> dict[str, Any]:
    return keys.key_public(keys.revoke_key(session, parse_id(key_id, "API key not found")))


@router.get("/me", summary="Who the caller is: name, scope, role and person (null for a team key)")
def whoami(principal: Reader) -> dict[str, Any]:
    return {
        "name": principal.name,
        "scope": principal.scope.value,
        "role": principal.effective_role.value,
        "personId": principal.person_id,
    }
