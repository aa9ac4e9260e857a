"""Request dependencies: the database session and the caller (API key), with failed-auth throttling.

The throttle (counts shared by all workers, who is refused and why) is services/throttle.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from aerie_app.db import get_engine, loop_session
from aerie_app.errors import AuthRequired, Forbidden
from aerie_app.models import Scope
from aerie_app.services import keys, throttle
from aerie_app.services.keys import Principal
from aerie_app.services.throttle import auth_checks, failed_auth


async def get_session() -> AsyncIterator[Session]:
    """One session per request. An async generator on purpose: creating a Session opens nothing
    (the connection is taken at its first query, in the route's thread), and a sync generator
    dependency would cost two extra thread hops per request (enter and exit) on the hot path."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
__all__ = ["SessionDep", "auth_checks", "failed_auth"]


def client_id(request: Request) -> str:
    """The client's address: the peer, or what trusted proxies forwarded (see throttle.client_address)."""
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")) or None
    return throttle.client_address(request.client.host if request.client else None, forwarded)


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


async def current_principal(request: Request) -> Principal:
    """Who is calling. A key verified in the last few seconds is answered from memory; a lookup
    (or a throttle check) reads through :func:`loop_session`, on the loop, without a thread hop."""
    client = client_id(request)
    raw = await _raw_key(request)
    if not raw:
        cookie = request.cookies.get(keys.SESSION_COOKIE)
        if cookie and request.method in ("GET", "HEAD"):
            # The signed-in browser loading a model, thumbnail or drawing: reads only.
            with loop_session() as session:
                principal = throttle.resolve_session(session, cookie, client)
            request.state.principal = principal
            return principal
        raise AuthRequired("API key required", {"header": "X-API-Key"})
    with loop_session() as session:
        principal = throttle.verify_key(session, raw, client)
    request.state.principal = principal
    return principal


def require(scope: Scope):  # type: ignore[no-untyped-def]
    # One dependency level, not two (scope check on top of a key dependency): FastAPI's
    # dependency resolution is a sixth of a write's time in process (bench/hotpath.py --profile).
    async def _dep(request: Request) -> Principal:
        principal = await current_principal(request)
        if not principal.can(scope):
            raise Forbidden(f"This action needs a key with {scope.value} scope")
        return principal

    return _dep


Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
