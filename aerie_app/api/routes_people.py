"""The team's roster (``/api/people``): anyone signed in reads it (the pickers need it); admins
add people, change roles, reset passwords, deactivate and issue personal API keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from aerie_app.api.boundary import parse_id
from aerie_app.api.deps import Admin, Reader, SessionDep
from aerie_app.api.routes_parts import ActionBody
from aerie_app.errors import ValidationFailed
from aerie_app.services import keys, people

router = APIRouter(prefix="/api/people", tags=["people"])
CREATE_FIELDS = frozenset({"name", "role", "password"})
EDIT_FIELDS = frozenset({"name", "role", "active", "password", "clearPassword"})


def _object(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed("body", "Send a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed(unknown[0], f"Unknown field {unknown[0]!r}")
    return body


def _person_id(raw: str) -> int:
    return parse_id(raw, "Person not found")


@router.get("", summary="The roster: everyone's name and role (inactive people included)")
def list_people(session: SessionDep, _: Reader, active: bool = False) -> dict[str, Any]:
    rows = people.list_people(session, active_only=active)
    return {"people": [people.person_public(p) for p in rows]}


@router.post("", status_code=201, summary="Add a person (a password lets them sign in)")
def create_person(session: SessionDep, _: Admin, body: ActionBody = None) -> JSONResponse:
    data = _object(body, CREATE_FIELDS)
    person = people.create_person(
        session,
        name=data.get("name"),
        role=data.get("role", "fabricator"),
        password=data.get("password"),
    )
    return JSONResponse(people.person_public(person), status_code=201)


@router.get(
    "/names",
    summary="Names typed before people existed that match nobody on the roster, with how many "
    "parts use each (what the merge tool offers)",
)
def loose_names(session: SessionDep, _: Admin) -> dict[str, Any]:
    return {"names": people.loose_names(session)}


@router.post(
    "/{person_id}/merge",
    summary="Credit every part claimed or worked on under these spellings to this person "
    "(maker, workers and timeline actors)",
)
def merge_names(
    session: SessionDep, principal: Admin, person_id: str, body: ActionBody = None
) -> dict[str, Any]:
    data = _object(body, frozenset({"names"}))
    return people.merge_names(
        session, _person_id(person_id), data.get("names"), actor=principal.name
    )


@router.get("/{person_id}", summary="One person")
def get_person(session: SessionDep, _: Reader, person_id: str) -> dict[str, Any]:
    return people.person_public(people.get_person(session, _person_id(person_id)))


@router.patch(
    "/{person_id}",
    summary="Rename, change the role, deactivate (active: false) or reset the password "
    "(their open sessions end)",
)
def update_person(
    session: SessionDep, _: Admin, person_id: str, body: ActionBody = None
) -> dict[str, Any]:
    data = _object(body, EDIT_FIELDS)
    if not data:
        raise ValidationFailed("body", "Send name, role, active, password or clearPassword")
    for flag in ("active", "clearPassword"):
        if flag in data and not isinstance(data[flag], bool):
            raise ValidationFailed(flag, f"{flag} must be true or false")
    person = people.update_person(
        session,
        _person_id(person_id),
        name=data.get("name"),
        role=data.get("role"),
        active=data.get("active"),
        password=data.get("password"),
        clear_password=bool(data.get("clearPassword")),
    )
    return people.person_public(person)


@router.post(
    "/{person_id}/keys",
    status_code=201,
    summary="A personal API key: it acts as this person, with their role (shown once)",
)
def create_personal_key(
    session: SessionDep, _: Admin, person_id: str, body: ActionBody = None
) -> JSONResponse:
    data = _object(body if body is not None else {}, frozenset({"name"}))
    key, raw = people.create_personal_key(session, _person_id(person_id), name=data.get("name"))
    return JSONResponse(keys.key_public(key) | {"key": raw}, status_code=201)
