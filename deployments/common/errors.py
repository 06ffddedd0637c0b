"""The platform's typed errors: what went wrong, the HTTP status it maps to, the field it names.

Raised anywhere (request parsing, stores, apps); the HTTP edge (:mod:`deployments.common.
http_app`) turns each into the one error body ``{"error": code, "detail": [{"field",
"message"}]}``. This module imports no web framework, Ray or Redis, so pure modules may raise
these errors too. Feed errors stay in :mod:`feeds.iqfeed.errors` (``feeds`` does not depend on
``deployments``); the edge maps them as well.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error with an HTTP meaning: ``status``, a stable ``code`` and the ``field`` at fault.

    ``field`` is the request field the caller should fix (dotted for nested body fields, e.g.
    ``grid.fast.step``), or None when no single field is to blame.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @property
    def message(self) -> str:
        """What went wrong, in words for the caller."""
        return str(self)


class FieldError(ApiError):
    """A request field with a bad value (422): ``FieldError("interval", "must look like 5m")``;
    for an uploaded file, ``row`` (1-based data row) and ``column`` say where in it."""

    status = 422
    code = "invalid_request"

    def __init__(self, field: str, message: str, *, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message, field)
        self.row = row
        self.column = column


class Unauthorized(ApiError):
    """The session (or access token) is missing, unknown or expired (401)."""

    status = 401
    code = "unauthorized"


class NotFound(ApiError):
    """The thing the request names does not exist, or belongs to another session (404)."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    """The request is valid but the resource's state does not allow it now (409)."""

    status = 409
    code = "conflict"


class Gone(ApiError):
    """The resource existed but expired; the caller should start over (410)."""

    status = 410
    code = "gone"


class RetryLater(ApiError):
    """A refusal for now that names when to retry: ``retry_after_s`` seconds, or the app's
    configured ``RETRY_AFTER_S`` when None."""

    def __init__(self, message: str, field: str | None = None,
                 retry_after_s: int | None = None) -> None:
        super().__init__(message, field)
        self.retry_after_s = retry_after_s


class TooManyRequests(RetryLater):
    """A per-session or per-client limit is reached (429 with ``Retry-After``)."""

    status = 429
    code = "too_many_requests"


class Unavailable(RetryLater):
    """Something the answer depends on is down or busy (503 with ``Retry-After``)."""

    status = 503
    code = "unavailable"


class StateUnavailable(Unavailable):
    """Redis cannot be reached."""

    code = "state_unavailable"


class ResultChanged(Unavailable):
    """A stored chart result was replaced or expired while it was being read; a retry reads
    the new one."""

    code = "result_changed"
