"""Wiring only: builds the Reflex app, mounts the REST API, adds the pages."""

from __future__ import annotations

import reflex as rx

from aerie_app.api.app import create_api
from aerie_app.logs import install_redaction
from aerie_app.pages import board
from aerie_app.pages.auth import AuthState

install_redaction()

app = rx.App(
    api_transformer=create_api(),
    theme=rx.theme(appearance="dark", accent_color="blue", radius="large"),
)
app.add_page(board.page, route="/", title="Aerie", on_load=AuthState.check)
