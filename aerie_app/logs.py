"""Log hygiene: API keys never reach a log line, even when an old client sends one in the query string."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(api_key=|x-api-key[\"']?\s*[:=]\s*[\"']?|password=)([^&\s\"']+)", re.I)


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "[redacted]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction() -> None:
    """Attach the filter to every handler that exists now and to the root logger."""
    flt = RedactingFilter()
    root = logging.getLogger()
    root.addFilter(flt)
    for name in [None, *logging.root.manager.loggerDict]:
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            handler.addFilter(flt)
        if name and name.startswith(("uvicorn", "granian", "gunicorn")):
            logger.addFilter(flt)
