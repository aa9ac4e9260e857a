"""Builds the FastAPI app: routers, the one error shape, size limits, CORS, offline API docs."""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aerie_app.api.boundary import check_request
from aerie_app.api.limits import BodyLimit, BodyTooLarge, too_large
from aerie_app.db import check_database, get_loop_engine
from aerie_app.errors import AerieError, NotFound, RateLimited
from aerie_app.settings import VERSION, get_settings

log = logging.getLogger("aerie.api")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

HTTP_MESSAGES = {
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
}


def error_response(exc: AerieError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
    loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path", "header")]
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "body", "Malformed JSON"
    field = ".".join(loc) or "body"
    message = str(first.get("msg", "Invalid value"))
    if kind in ("dict_type", "model_attributes_type"):
        message = "Request body must be a JSON object"
    return field, message


class WorkerHeader:
    """Adds ``X-Aerie-Worker`` (this process id): which worker answered, for operators and tests.

    Plain ASGI rather than ``@app.middleware("http")``, which costs about a millisecond a request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        worker = str(os.getpid()).encode()  # per request: workers are forked after import

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-aerie-worker", worker)]
            await send(message)

        await self.app(scope, receive, send_with_header)


def create_api() -> FastAPI:
    from aerie_app.api import (
        routes_actions,
        routes_admin,
        routes_drawings,
        routes_files,
        routes_onshape,
        routes_parts,
        routes_people,
        routes_pins,
        routes_shop,
        routes_webhooks,
    )

    settings = get_settings()
    api = FastAPI(
        title="Aerie API",
        version=VERSION,
        description="Part management for robotics fabrication shops. Authenticate with the "
        "`X-API-Key` header (the `api_key` query parameter still works for old clients but puts "
        "the key in logs and browser history: avoid it).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(check_request)],
    )

    @api.exception_handler(AerieError)
    async def _aerie_error(_: Request, exc: AerieError) -> JSONResponse:
        return error_response(exc)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        field, message = _validation_message(exc)
        return JSONResponse(
            {"error": "Validation failed", "details": {"field": field, "message": message}},
            status_code=400,
        )

    @api.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            response = error_response(too_large(exc.limit))
            response.headers["Connection"] = "close"
            return response
        message = HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return JSONResponse(
            {"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("Unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "Internal error"}, status_code=500)

    api.include_router(routes_parts.router)
    api.include_router(routes_actions.router)
    api.include_router(routes_files.router)
    api.include_router(routes_admin.router)
    api.include_router(routes_drawings.router)
    api.include_router(routes_shop.router)
    api.include_router(routes_webhooks.router)
    api.include_router(routes_onshape.router)
    api.include_router(routes_pins.router)
    api.include_router(routes_people.router)

    def _health(ok_word: str) -> JSONResponse:
        # On the loop's own connection: a probe every few seconds should not cost a thread hop.
        ok = check_database(get_loop_engine())
        body = {
            "status": ok_word if ok else "degraded",
            "version": VERSION,
            "database": "ok" if ok else "unreachable",
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @api.get("/api/health", tags=["meta"], summary="Liveness and database check (no key needed)")
    async def health() -> JSONResponse:
        return _health("ok")

    @api.get("/health", include_in_schema=False)
    async def legacy_health() -> JSONResponse:
        # The old app's probe answers "healthy"; scripts compare that word.
        return _health("healthy")

    from swagger_ui_bundle import swagger_ui_path

    api.mount("/api/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @api.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Aerie API",
            swagger_js_url="/api/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/api/docs-assets/swagger-ui.css",
            swagger_favicon_url="/api/docs-assets/favicon-32x32.png",
        )

    if settings.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    api.add_middleware(BodyLimit)
    from aerie_app.api import openapi

    openapi.install(api)

    api.add_middleware(WorkerHeader)

    # Last of the API's routes: under the running app, Reflex mounts its own app after them, and
    # an /api URL no route matched would get Reflex's plain-text 404 instead of the error shape.
    @api.api_route("/api/{rest:path}", methods=ALL_METHODS, include_in_schema=False)
    def no_such_route(request: Request) -> None:
        routes = [
            r
            for r in api.router.routes
            if getattr(r, "endpoint", None) is not no_such_route
            and not (isinstance(r, Mount) and r.path == "")  # Reflex's app, which takes anything
        ]
        allowed = [
            method
            for method in ALL_METHODS
            if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
        ]
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise NotFound("Not found")

    return api


def route_every_api_path(outer: ASGIApp, api: ASGIApp) -> ASGIApp:
    """Every /api request (and the old ``/health`` probe) goes straight to the API.

    Reflex's outer app would otherwise run each of them through its own stack first: its CORS
    middleware, which allows any origin (with credentials) and so overrode ``AERIE_CORS_ORIGINS``,
    its context middleware, its router and a catch-all mount (whose pattern cannot even match a
    path holding a line feed: such a request got a plain-text 404). None of that is the API's:
    skipping it is about a millisecond less per request on a 2-core box (docs/benchmarks.md).
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            if path.startswith("/api/") or path in ("/api", "/health"):
                await api(scope, receive, send)
                return
        await outer(scope, receive, send)

    return app
