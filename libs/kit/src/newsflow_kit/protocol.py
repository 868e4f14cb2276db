"""uvicorn's h11 protocol with deadlines on reading a request, and problem-details answers of its own.

uvicorn bounds only the idle time between requests; a client that sends half a request line, or
announces a body and trickles it, holds the connection forever. Here every connection must deliver
a request's head within ``header_timeout_s`` of becoming idle (else 408, or a silent close when it
sent nothing) and its body within ``body_timeout_s`` of the head (the kit's middleware answers 408
while the app waits for the body; this is the backstop when the app does not read it). The 400
uvicorn writes for a malformed request is problem details with the security headers, as every
other error.

It also publishes :class:`StreamBody` in each request's ``scope["extensions"]["newsflow.stream_body"]``:
a synchronous way for a long-lived stream to write its body, and to hear that its client left, without
a task per connection waiting on it (the gateway's SSE fan-out writes one event to thousands).
"""

import asyncio
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

from newsflow_kit.context import new_traceparent
from newsflow_kit.errors import PROBLEM_JSON
from newsflow_kit.http import SECURITY_HEADER_LIST, problem_bytes

_REASONS = {400: b"Bad Request", 408: b"Request Timeout"}
_BACKSTOP_GRACE_S = 1.0  # the middleware's 408 goes first
STREAM_BODY = "newsflow.stream_body"


def chunk_frame(body: bytes) -> bytes:
    """``body`` as one HTTP/1.1 chunk: what h11 writes for it in a chunked response."""
    return b"%x\r\n%b\r\n" % (len(body), body)


class StreamBody:
    """One response's body, written without awaiting, for a server pushing the same bytes to many clients.

    :meth:`write` puts bytes on the socket at once when it can take them (the response started and
    not complete, the client there, the socket's buffer below its high-water mark); when it answers
    False the caller sends through ASGI as usual, which waits for the buffer to drain. Both paths
    write through the same h11 connection, so the framing stays one. :meth:`on_disconnect` registers
    what to call when the client leaves, in place of a task waiting on ``receive()``. Bytes written
    here pass no ASGI middleware: use it only for a body none of them transforms (Starlette's GZip
    leaves event streams alone; the gateway's stream tests read with gzip accepted).
    """

    __slots__ = ("_chunked", "_on_disconnect", "cycle")

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self.cycle = cycle
        self._chunked: bool | None = None  # learnt from h11's first write: is the body chunk-framed?
        self._on_disconnect: Callable[[], None] | None = None

    def write(self, body: bytes, frame: bytes | None = None) -> bool:
        """Writes ``body`` now, or answers False; ``frame`` is ``chunk_frame(body)`` if the caller has it."""
        cycle = self.cycle
        if not body:
            return True  # an empty chunk would end the response
        if (
            cycle.flow.write_paused
            or cycle.disconnected
            or cycle.transport.is_closing()  # closed before connection_lost has run
            or not cycle.response_started
            or cycle.response_complete
            or cycle.scope["method"] == "HEAD"
        ):
            return False
        if self._chunked:
            # h11 keeps no state for a chunk: writing the frame ourselves is what conn.send would write.
            output = frame if frame is not None else chunk_frame(body)
        else:
            output = cycle.conn.send(h11.Data(data=body))
            if self._chunked is None:
                self._chunked = output == chunk_frame(body)
        try:
            cycle.transport.write(output)
        except (RuntimeError, OSError):  # the transport went away: the caller's own send will find out
            return False
        return True

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        self._on_disconnect = callback

    def disconnected(self) -> None:
        callback, self._on_disconnect = self._on_disconnect, None
        if callback is not None:
            callback()


def stream_body(scope: MutableMapping[str, Any]) -> StreamBody | None:
    """The request's :class:`StreamBody`, or None when the server is not this protocol (a test client)."""
    body = scope.get("extensions", {}).get(STREAM_BODY)
    return body if isinstance(body, StreamBody) else None


class BoundedH11Protocol(H11Protocol):
    """Configured through :func:`bounded_protocol` (uvicorn instantiates the class itself)."""

    header_timeout_s: ClassVar[float] = 10.0
    body_timeout_s: ClassVar[float] = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: str | None = None
        self._read_timer: asyncio.TimerHandle | None = None
        self._stream_body: StreamBody | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._track()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._track()

    def handle_events(self) -> None:
        super().handle_events()
        cycle = self.cycle
        # A request was just read when its cycle is new; its app task has not run yet, so the scope
        # it gets carries the extension.
        if cycle is not None and (self._stream_body is None or self._stream_body.cycle is not cycle):
            self._stream_body = StreamBody(cycle)
            extensions: dict[str, Any] = cycle.scope.setdefault("extensions", {})
            extensions[STREAM_BODY] = self._stream_body

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)
        if self._stream_body is not None:
            self._stream_body.disconnected()

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
