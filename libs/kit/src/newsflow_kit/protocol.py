"""uvicorn's h11 protocol with deadlines on reading a request, and problem-details answers of its own.

uvicorn bounds only the idle time between requests; a client that sends half a request line, or
announces a body and trickles it, holds the connection forever. Here every connection must deliver
a request's head within ``header_timeout_s`` of becoming idle (else 408, or a silent close when it
sent nothing) and its body within ``body_timeout_s`` of the head (the kit's middleware answers 408
while the app waits for the body; this is the backstop when the app does not read it). The 400
uvicorn writes for a malformed request is problem details with the security headers, as every
other error.
"""

import asyncio
import uuid
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from newsflow_kit.context import new_traceparent
from newsflow_kit.errors import PROBLEM_JSON
from newsflow_kit.http import SECURITY_HEADER_LIST, problem_bytes

_REASONS = {400: b"Bad Request", 408: b"Request Timeout"}
_BACKSTOP_GRACE_S = 1.0  # the middleware's 408 goes first


class BoundedH11Protocol(H11Protocol):
    """Configured through :func:`bounded_protocol` (uvicorn instantiates the class itself)."""

    header_timeout_s: ClassVar[float] = 10.0
    body_timeout_s: ClassVar[float] = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: str | None = None
        self._read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._track()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._cancel()
        self._write_problem(400, "bad-request", "Bad request", "The request could not be read as HTTP/1.1.")

    def _track(self) -> None:
        """Arms the deadline of the part of a request the client is sending now (head or body)."""
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase is not None and not self.transport.is_closing():
            delay = self.header_timeout_s if phase == "head" else self.body_timeout_s + _BACKSTOP_GRACE_S
            self._read_timer = self.loop.call_later(delay, self._expired, phase)

    def _cancel(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        self._phase = None

    def _expired(self, phase: str) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        idle = self.cycle is None or self.cycle.response_complete
        pending, _ = self.conn.trailing_data
        if phase == "head" and idle and pending:
            detail = f"the request head was not received within {self.header_timeout_s:g} s"
            self._write_problem(408, "request-timeout", "Request timeout", detail)
            return
        self.transport.close()  # nothing sent yet, or a body the app never read: just close

    def _write_problem(self, status: int, code: str, title: str, detail: str) -> None:
        """Writes a problem straight to the socket (below h11, which may be in an error state), then closes."""
        rid = uuid.uuid4().hex
        body = problem_bytes(status=status, code=code, title=title, detail=detail, rid=rid, instance=None)
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"x-request-id", rid.encode()),
            (b"traceparent", new_traceparent(None).encode()),
            *SECURITY_HEADER_LIST,
        ]
        head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
        head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(head + b"\r\n" + body)
        self.transport.close()


def bounded_protocol(*, header_timeout_s: float, body_timeout_s: float) -> type[BoundedH11Protocol]:
    """The protocol class uvicorn gets as ``http=``, with these deadlines."""
    attrs = {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s}
    return type("BoundedH11Protocol", (BoundedH11Protocol,), attrs)
