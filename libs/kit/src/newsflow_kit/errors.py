"""The one exception tree and the one error shape on the wire (RFC 9457 problem details).

    NewsflowError                 500 unless a subclass says otherwise
    ├── InvalidInput              422 a value is wrong (names the field)
    ├── Unauthorized              401 no or unknown credentials
    ├── Forbidden                 403 credentials without the right
    ├── NotFound                  404
    ├── Conflict                  409 the state forbids it (e.g. a retracted article)
    ├── PayloadTooLarge           413
    ├── RateLimited               429 carries Retry-After
    └── DependencyUnavailable     503 a backing server or service does not answer

Every response error is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail``, ``instance`` and, where useful, ``errors`` (field-level) and ``request_id``. No stack
trace or internal host name ever reaches a client.
"""

import logging
from collections.abc import Mapping
from typing import Any

from elastic_transport import ConnectionError as EsConnectionError
from elastic_transport import ConnectionTimeout as EsConnectionTimeout
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, OperationFailure
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsflow_kit.context import request_id_var

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://newsflow.dev/problems/"


class NewsflowError(Exception):
    """Base of every error a service raises on purpose."""

    status = 500
    code = "internal-error"
    title = "Internal error"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = dict(headers or {})


class InvalidInput(NewsflowError):
    """A value the client sent is wrong; ``errors`` names the fields."""

    status, code, title = 422, "invalid-input", "Invalid input"


class Unauthorized(NewsflowError):
    """No credentials, or unknown/revoked ones."""

    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(NewsflowError):
    """Valid credentials without the right for this action (or a wrong edit token)."""

    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(NewsflowError):
    """The resource does not exist (or is not visible to the caller)."""

    status, code, title = 404, "not-found", "Not found"


class Conflict(NewsflowError):
    """The resource's state forbids the action."""

    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(NewsflowError):
    """The request body is over the cap."""

    status, code, title = 413, "payload-too-large", "Payload too large"


class RateLimited(NewsflowError):
    """Too many requests; ``retry_after`` seconds until the next one is allowed."""

    status, code, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after


class DependencyUnavailable(NewsflowError):
    """A backing server or service does not answer; always says when to retry (``Retry-After``)."""

    status, code, title = 503, "dependency-unavailable", "Service unavailable"

    def __init__(self, detail: str = "", *, retry_after: int = 2, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after)), **(headers or {})})


_STATUS_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    431: "request-header-fields-too-large",
    422: "invalid-input",
    429: "rate-limited",
    503: "dependency-unavailable",
}


def problem_body(
    *, status: int, code: str, title: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The RFC 9457 fields of a problem (also used for per-item errors inside a batch answer)."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def error_body(exc: NewsflowError) -> dict[str, Any]:
    """:func:`problem_body` of a raised error."""
    return problem_body(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, errors=exc.errors)


def problem(
    request: Request | None,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Builds a problem-details response."""
    body = problem_body(status=status, code=code, title=title, detail=detail, errors=errors)
    if request is not None:
        body["instance"] = request.url.path
    if (rid := request_id_var.get()) is not None:
        body["request_id"] = rid
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as ``{field, message, type}``, field as a dotted path without ``body``."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return out


async def _newsflow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NewsflowError)
    if exc.status >= 500:
        log.warning("request failed: %s", exc.detail)
    return problem(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    fields = ", ".join(e["field"] for e in errors) or "request"
    return problem(
        request,
        status=422,
        code="invalid-input",
        title="Invalid input",
        detail=f"invalid value for: {fields}",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    title = code.replace("-", " ").capitalize()
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem(request, status=exc.status_code, code=code, title=title, detail=detail, headers=exc.headers)


async def _unencodable_text(request: Request, exc: Exception) -> JSONResponse:
    """Client text that cannot be stored or sent as UTF-8 (a JSON ``\\ud800`` without its pair)."""
    log.info("unencodable text on %s %s: %s", request.method, request.url.path, exc)
    message = "text must be valid Unicode (no unpaired surrogates)"
    return problem(
        request,
        status=422,
        code="invalid-input",
        title="Invalid input",
        detail=message,
        errors=[{"field": "body", "message": message, "type": "unicode_error"}],
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        request,
        status=500,
        code="internal-error",
        title="Internal error",
        detail="The server could not complete the request.",
    )


# A backing server that does not answer (down, restarting, frozen) is a 503 the client retries, never a 500.
UNREACHABLE = (ConnectionFailure, EsConnectionError, EsConnectionTimeout)


# Server error codes that mean "the store cannot serve right now" (FerretDB answers InternalError, 1,
# while its PostgreSQL is down; the others are MongoDB's shutdown, fail-over and time-limit codes).
UNAVAILABLE_CODES = frozenset({1, 6, 7, 89, 91, 189, 262, 10107, 11600, 11602, 13435})


async def _store_failure(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationFailure)
    if exc.code in UNAVAILABLE_CODES:
        return await _unreachable(request, exc)
    return await _unhandled(request, exc)


async def _unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("a backing server is unreachable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return await _newsflow_error(request, DependencyUnavailable("a backing server is unavailable, retry later"))


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn every error into problem details."""
    for kind in UNREACHABLE:
        app.add_exception_handler(kind, _unreachable)
    app.add_exception_handler(OperationFailure, _store_failure)
    app.add_exception_handler(NewsflowError, _newsflow_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(UnicodeEncodeError, _unencodable_text)
    app.add_exception_handler(Exception, _unhandled)
