"""Request dependencies: the database session and the caller (API key), with failed-auth throttling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from aerie_app.db import get_engine
from aerie_app.errors import AuthRequired, Forbidden, InvalidApiKey, RateLimited
from aerie_app.models import Scope
from aerie_app.services import keys
from aerie_app.services.keys import Principal
from aerie_app.services.throttle import auth_checks, failed_auth
from aerie_app.settings import get_settings


def get_session() -> Iterator[Session]:
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
__all__ = ["SessionDep", "auth_checks", "failed_auth"]


def client_id(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _raw_key(request: Request) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header
    query = request.query_params.get("api_key")
    if query:
        return query
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError):
            return None
        if isinstance(body, dict) and isinstance(body.get("api_key"), str):
            return str(body["api_key"])
    return None


async def current_principal(request: Request, session: SessionDep) -> Principal:
    client = client_id(request)
    limit = get_settings().auth_fail_limit
    failures, retry = failed_auth.count(client)
    if failures >= limit:
        raise RateLimited("Too many failed API-key attempts; wait and try again", retry)
    raw = await _raw_key(request)
    if not raw:
        cookie = request.cookies.get(keys.SESSION_COOKIE)
        if cookie and request.method in ("GET", "HEAD"):
            # The signed-in browser loading a model, thumbnail or drawing: reads only.
            try:
                principal = keys.resolve_session(session, cookie)
            except InvalidApiKey:
                failed_auth.add(client)
                raise
            request.state.principal = principal
            return principal
        raise AuthRequired("API key required", {"header": "X-API-Key"})
    try:
        principal = keys.verify_key(session, raw)
    except InvalidApiKey:
        failed_auth.add(client)
        raise
    request.state.principal = principal
    return principal


def require(scope: Scope):  # type: ignore[no-untyped-def]
    async def _dep(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(scope):
            raise Forbidden(f"This action needs a key with {scope.value} scope")
        return principal

    return _dep


Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
