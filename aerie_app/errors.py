"""Aerie's error tree: every domain error knows its HTTP status and renders as one shape.

Adapters translate these: the API's single exception handler into
``{"error": message, "details": {...}}``, the UI into a toast. Foreign exceptions
(OCP, SQLAlchemy, httpx) are translated into these at the boundary that meets them.
"""

from __future__ import annotations

from typing import Any


class AerieError(Exception):
    """Base of every error Aerie raises on purpose."""

    status_code = 400
    default_message = "Bad request"

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailed(AerieError):
    """Input that breaks a rule; names the field."""

    status_code = 400
    default_message = "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__("Validation failed", {"field": field, "message": message})
        self.field = field


class InvalidValue(ValidationFailed):
    """A well-formed value Aerie cannot take (a zero-size machine, an unknown material): 422."""

    status_code = 422


class BadRequest(AerieError):
    status_code = 400


class AuthRequired(AerieError):
    status_code = 401
    default_message = "API key required"


class InvalidApiKey(AerieError):
    status_code = 401
    default_message = "Invalid API key"


class Forbidden(AerieError):
    status_code = 403
    default_message = "Forbidden"


class NotFound(AerieError):
    status_code = 404
    default_message = "Not found"


class Conflict(AerieError):
    """An invalid transition or a stale version: someone else was faster."""

    status_code = 409
    default_message = "Conflict"


class TooLarge(AerieError):
    status_code = 413
    default_message = "Payload too large"


class Unprocessable(AerieError):
    """Well-formed input Aerie cannot process (garbage named .step, a failed conversion)."""

    status_code = 422
    default_message = "Unprocessable content"


class RateLimited(AerieError):
    status_code = 429
    default_message = "Rate limited"

    def __init__(self, message: str | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message or "Too many requests, slow down")
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "Rate limited",
            "message": self.message,
            "retry_after": round(self.retry_after, 1),
        }


class ConversionFailed(Unprocessable):
    """A CAD file that could not be turned into a model; ``message`` says why in plain words."""

    default_message = "Conversion failed"


class InvalidFile(Unprocessable):
    """An upload whose content does not match what it claims to be."""

    default_message = "Invalid file"


class StorageUnavailable(AerieError):
    """The object store (S3) did not answer: nothing was stored, the request can be retried."""

    status_code = 503
    default_message = "File storage unavailable"
