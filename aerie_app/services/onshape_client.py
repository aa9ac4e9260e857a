"""The Onshape client as this server's settings configure it (drawings, BOM import, part exports)."""

from __future__ import annotations

import threading

from aerie_app.integrations.onshape import OnshapeClient
from aerie_app.settings import get_settings


def onshape_client(cancel: threading.Event | None = None) -> OnshapeClient:
    """A client with the configured address, keys, time limits and the upload size cap."""
    settings = get_settings()
    access = settings.onshape_access_key.get_secret_value() if settings.onshape_access_key else ""
    secret = settings.onshape_secret_key.get_secret_value() if settings.onshape_secret_key else ""
    return OnshapeClient(
        settings.onshape_base_url,
        access,
        secret,
        timeout=settings.onshape_timeout_s,
        poll_interval=settings.onshape_poll_interval_s,
        max_wait=settings.onshape_max_wait_s,
        max_bytes=settings.max_upload_bytes,
        cancel=cancel,
    )
