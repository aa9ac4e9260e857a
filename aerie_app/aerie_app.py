"""Wiring only: builds the Reflex app, mounts the REST API, adds the pages, starts background work."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import reflex as rx
from starlette.routing import Mount
from starlette.types import ASGIApp

from aerie_app.api.app import create_api, route_every_api_path
from aerie_app.components.people_admin import PeopleState
from aerie_app.components.webhooks_admin import WebhookState
from aerie_app.logs import install_redaction
from aerie_app.pages import admin, board, card, cutlist, part, settings, stats
from aerie_app.settings import get_settings
from aerie_app.state.auth import AuthState
from aerie_app.state.board import BoardState
from aerie_app.state.part import DetailState
from aerie_app.state.shop import ShopSettingsState

install_redaction()


@contextlib.asynccontextmanager
async def _background_work() -> AsyncIterator[None]:
    """Live-update notices, conversions (left over, or queued by other processes), webhooks and
    the daily backup, if enabled."""
    from aerie_app.services import backup, conversions, drawings, webhooks
    from aerie_app.services.livefeed import feed

    feed.start()
    if get_settings().conversion_in_web:
        conversions.poller.start()
    else:
        conversions.queue.enabled = False  # `python -m aerie_app worker` converts
    backup.scheduler.start()
    webhooks.dispatcher.start()
    try:
        yield
    finally:
        feed.stop()
        conversions.poller.stop()
        backup.scheduler.stop()
        webhooks.dispatcher.stop()
        drawings.jobs.shutdown()
        conversions.queue.shutdown()


class AerieApp(rx.App):
    """The Reflex app, except that no /api request can miss the API (see route_every_api_path)."""

    def __call__(self) -> ASGIApp:
        return route_every_api_path(super().__call__(), api)


api = create_api()


def _under_the_api(reflex_app: ASGIApp) -> ASGIApp:
    """Reflex's pages, websocket and uploads, mounted after the API's routes.

    A function rather than the FastAPI app itself: given an app, Reflex would also wrap it in
    its own CORS middleware (any origin, with credentials), overriding ``AERIE_CORS_ORIGINS``.
    """
    if not any(isinstance(r, Mount) and r.path == "" for r in api.router.routes):
        api.mount("", reflex_app)
    return api


app = AerieApp(
    api_transformer=_under_the_api,
    head_components=[
        rx.script(src="/confetti.js"),
        rx.script(src="/focus-return.js"),
        rx.script(src="/scan.js"),
    ],
    stylesheets=["/a11y.css", "/print.css", "/shop-floor.css"],
)
app.register_lifespan_task(_background_work)
app.add_page(
    part.page,
    route="/parts/[part_key]",
    title="Aerie · Part",
    on_load=[AuthState.check, DetailState.load, DetailState.watch],
)
app.add_page(
    card.page,
    route="/p/[part_key]",
    title="Aerie · Part card",
    on_load=[AuthState.check, card.CardState.picture_first, DetailState.load, DetailState.watch],
)
app.add_page(
    board.page,
    route="/",
    title="Aerie",
    on_load=[AuthState.check, BoardState.load, BoardState.watch],
)
app.add_page(
    stats.page,
    route="/stats",
    title="Aerie · Stats",
    on_load=[AuthState.check, stats.StatsState.load, stats.StatsState.watch],
)
app.add_page(
    settings.page,
    route="/settings",
    title="Aerie · Settings",
    on_load=[AuthState.check, ShopSettingsState.load],
)
app.add_page(
    cutlist.page,
    route="/cutlist",
    title="Aerie · Cut list",
    on_load=[AuthState.check, cutlist.CutListState.load, cutlist.CutListState.watch],
)
app.add_page(
    admin.page,
    route="/admin",
    title="Aerie · Admin",
    on_load=[AuthState.check, admin.AdminState.load, WebhookState.load, PeopleState.load],
)
