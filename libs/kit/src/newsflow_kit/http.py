"""ASGI middleware every service runs: request id, trace context, access log, metrics, body cap."""

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsflow_kit.context import new_traceparent, parse_traceparent, request_id_var, traceparent_var
from newsflow_kit.errors import PROBLEM_BASE, PROBLEM_JSON
from newsflow_kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("newsflow.http")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET = {"/healthz", "/readyz", "/metrics"}


class RequestContextMiddleware:
    """Tags each request with ids, logs and measures it, and refuses bodies over ``max_body_bytes``.

    Pure ASGI (not BaseHTTPMiddleware) so streaming responses (SSE) pass through untouched.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = 1 << 20, extra_headers: dict[str, str] | None = None):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.extra_headers = [(k.lower().encode(), v.encode()) for k, v in (extra_headers or {}).items()]

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
        try:
            if scope["type"] == "http":
                too_big, receive = await self._cap_body(scope, headers, receive)
                if too_big:
                    await _send_problem(
                        send,
                        rid,
                        413,
                        "payload-too-large",
                        "Payload too large",
                        f"request body over {self.max_body_bytes} bytes",
                    )
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
                await _send_problem(
                    send, rid, 500, "internal-error", "Internal error", "The server could not complete the request."
                )
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
            return (not length.isdigit() or int(length) > self.max_body_bytes), receive
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


async def _send_problem(send: Send, rid: str, status: int, code: str, title: str, detail: str) -> None:
    body = json.dumps(
        {"type": PROBLEM_BASE + code, "title": title, "status": status, "detail": detail, "request_id": rid}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", rid.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
