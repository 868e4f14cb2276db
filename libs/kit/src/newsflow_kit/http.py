"""ASGI middleware every service runs: request id, trace context, access log, metrics, body cap and deadline."""

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsflow_kit.context import new_traceparent, parse_traceparent, request_id_var, traceparent_var
from newsflow_kit.errors import PROBLEM_BASE, PROBLEM_JSON
from newsflow_kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("newsflow.http")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET = {"/healthz", "/readyz", "/metrics"}
MAX_HEADER_BYTES = 16 << 10  # all header names and values of a request together
# Query parameter names of every Newsflow API; `q[$ne]`-style names (nested objects) are refused.
_PARAM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# Sent on every answer of every service, including the ones the middleware and the server write.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
SECURITY_HEADER_LIST = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


class BodyTimeout(HTTPException):
    """The client did not send the whole body in time (rendered as a 408 problem by the kit's handlers)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body was not received within {seconds:g} s", {"Connection": "close"})


class RequestContextMiddleware:
    """Tags each request with ids, logs and measures it, and refuses bodies over ``max_body_bytes``.

    Pure ASGI (not BaseHTTPMiddleware) so streaming responses (SSE) pass through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = 1 << 20,
        body_timeout_s: float = 30.0,
        extra_headers: dict[str, str] | None = None,
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        headers = {**SECURITY_HEADERS, **(extra_headers or {})}
        self.extra_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        rid = rid if _SAFE_ID.match(rid) else uuid.uuid4().hex
        parent = parse_traceparent(headers.get("traceparent"))
        traceparent = new_traceparent(parent)
        rid_token = request_id_var.set(rid)
        tp_token = traceparent_var.set(traceparent)
        started = time.perf_counter()
        status = {"code": 500}
        context = _ProblemContext(rid, traceparent, scope.get("path", ""), self.extra_headers)
        try:
            if scope["type"] == "http":
                if sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
                    status["code"] = 431
                    detail = f"request headers over {MAX_HEADER_BYTES} bytes"
                    await _send_problem(
                        send, context, 431, "request-header-fields-too-large", "Headers too large", detail
                    )
                    return
                if (bad := _bad_target(scope)) is not None:
                    status["code"] = 400
                    await _send_problem(send, context, 400, "bad-request", "Bad request", bad)
                    return
                receive = _deadline(receive, started + self.body_timeout_s, self.body_timeout_s)
                try:
                    too_big, receive = await self._cap_body(scope, headers, receive)
                except BodyTimeout as exc:
                    status["code"] = 408
                    await _send_problem(send, context, 408, "request-timeout", "Request timeout", str(exc.detail))
                    return
                if too_big:
                    detail = f"request body over {self.max_body_bytes} bytes"
                    await _send_problem(send, context, 413, "payload-too-large", "Payload too large", detail)
                    status["code"] = 413
                    return

            async def send_wrapper(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                    status["started"] = 1
                    message.setdefault("headers", [])
                    message["headers"] = [
                        *message["headers"],
                        (b"x-request-id", rid.encode()),
                        (b"traceparent", traceparent.encode()),
                        *self.extra_headers,
                    ]
                    _observe(scope, status["code"], started)
                await send(message)

            try:
                await self.app(scope, receive, send_wrapper)
            except Exception:
                # Unhandled: answer here (inside the request's context) unless the response began.
                if scope["type"] != "http" or status.get("started"):
                    raise
                log.exception("unhandled error on %s %s", scope["method"], scope["path"])
                status["code"] = 500
                detail = "The server could not complete the request."
                await _send_problem(send, context, 500, "internal-error", "Internal error", detail)
        finally:
            if scope["type"] == "http" and scope["path"] not in _QUIET:
                log.info(
                    "%s %s %s %.1fms",
                    scope["method"],
                    scope["path"],
                    status["code"],
                    (time.perf_counter() - started) * 1000,
                    extra={"status": status["code"], "path": scope["path"]},
                )
            request_id_var.reset(rid_token)
            traceparent_var.reset(tp_token)

    async def _cap_body(self, scope: Scope, headers: dict[str, str], receive: Receive) -> tuple[bool, Receive]:
        length = headers.get("content-length")
        if length is not None:
            return (not length.isdigit() or len(length) > 18 or int(length) > self.max_body_bytes), receive
        if scope["method"] not in ("POST", "PUT", "PATCH") or "transfer-encoding" not in headers:
            return False, receive
        # Chunked body of unknown size: read it under the cap, then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return False, receive
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return True, receive
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return False, replay


def _observe(scope: Scope, status: int, started: float) -> None:
    route: Any = scope.get("route")
    path = getattr(route, "path", None) or "unmatched"
    HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
    HTTP_LATENCY.labels(scope["method"], path).observe(time.perf_counter() - started)


class _ProblemContext:
    """What every problem the middleware writes itself carries: ids, the path, the security headers."""

    def __init__(self, rid: str, traceparent: str, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.rid, self.traceparent, self.path, self.headers = rid, traceparent, path, headers


def problem_bytes(*, status: int, code: str, title: str, detail: str, rid: str, instance: str | None) -> bytes:
    """A problem-details body, for answers written below the framework (middleware, server)."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body["request_id"] = rid
    return json.dumps(body).encode()


def _bad_target(scope: Scope) -> str | None:
    """Why the path or query cannot be read (not UTF-8 once percent-decoded, odd parameter names), or None."""
    try:
        unquote_to_bytes(scope.get("raw_path") or scope["path"].encode()).decode()
        for pair in scope.get("query_string", b"").split(b"&"):
            if not pair:
                continue
            name, _, value = pair.partition(b"=")
            unquote_to_bytes(value.replace(b"+", b" ")).decode()
            if not _PARAM_NAME.match(unquote_to_bytes(name.replace(b"+", b" ")).decode()):
                return "query parameter names are letters, digits, '_', '-' and '.'"
    except UnicodeDecodeError:
        return "the path and query must be UTF-8 (percent-encoded)"
    return None


def _deadline(receive: Receive, deadline: float, seconds: float) -> Receive:
    """``receive`` that raises :class:`BodyTimeout` when the body is not complete by ``deadline``.

    Once the body is in, later calls (a streaming response waiting for the disconnect) wait freely.
    """
    done = False

    async def bounded() -> Message:
        nonlocal done
        if done:
            return await receive()
        remaining = deadline - time.perf_counter()
        try:
            message = await asyncio.wait_for(receive(), max(remaining, 0.0))
        except TimeoutError:
            raise BodyTimeout(seconds) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            done = True
        return message

    return bounded


async def _send_problem(send: Send, context: _ProblemContext, status: int, code: str, title: str, detail: str) -> None:
    body = problem_bytes(status=status, code=code, title=title, detail=detail, rid=context.rid, instance=context.path)
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", context.rid.encode()),
        (b"traceparent", context.traceparent.encode()),
        *context.headers,
    ]
    if status in (408, 413, 431):
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
