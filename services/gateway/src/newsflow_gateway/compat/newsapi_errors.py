"""NewsAPI's error envelope, for ``/v2`` only: ``{"status": "error", "code": ..., "message": ...}``.

The rest of the gateway answers RFC 9457 problem details; ``/v2`` speaks NewsAPI's dialect so that
its clients read our errors as they read theirs. ``NewsApiRoute`` turns every error of a ``/v2``
route (its dependencies' too) into the envelope, keeping the status and headers (``Retry-After``).
"""

import logging

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from newsflow_gateway.error_routes import ErrorAnsweringRoute
from newsflow_kit.errors import DependencyUnavailable, InvalidInput, NewsflowError, RateLimited, Unauthorized

log = logging.getLogger(__name__)
UNEXPECTED = "This shouldn't happen, and if it does then it's our fault."


class NewsApiError(Exception):
    """An error with one of NewsAPI's codes (``apiKeyMissing``, ``parameterInvalid``, ...)."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def parameter_invalid(message: str) -> NewsApiError:
    return NewsApiError(400, "parameterInvalid", message)


def envelope(exc: NewsApiError) -> JSONResponse:
    body = {"status": "error", "code": exc.code, "message": exc.message}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def translated(exc: NewsflowError) -> NewsApiError:
    """A kit error raised below a ``/v2`` route, in NewsAPI's words."""
    if isinstance(exc, RateLimited):
        message = "You have made too many requests recently. Please wait and try again."
        return NewsApiError(429, "rateLimited", message, headers=exc.headers)
    if isinstance(exc, Unauthorized):
        return NewsApiError(401, "apiKeyInvalid", "Your API key is invalid or incorrect.")
    if isinstance(exc, InvalidInput) or 400 <= exc.status < 500:
        fields = ", ".join(str(e.get("field", "")).removeprefix("query.") for e in exc.errors or [])
        return parameter_invalid(f"{exc.detail}" + (f" ({fields})" if fields and fields not in exc.detail else ""))
    if isinstance(exc, DependencyUnavailable):
        return NewsApiError(503, "unexpectedError", "The service is temporarily unavailable; please try again.")
    return NewsApiError(500, "unexpectedError", UNEXPECTED)


class NewsApiRoute(ErrorAnsweringRoute):
    """A route whose every error answers NewsAPI's envelope."""

    def answer_error(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, NewsApiError):
            return envelope(exc)
        if isinstance(exc, NewsflowError):
            return envelope(translated(exc))
        if isinstance(exc, RequestValidationError):
            return envelope(parameter_invalid("A parameter of the request is invalid."))
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return envelope(NewsApiError(500, "unexpectedError", UNEXPECTED))
