"""A Server-Sent Events response fed by a send_queue (written by hand: it must be cancellable in a send).

Starts with the replayed events, then goes live. A heartbeat comment keeps proxies from closing an
idle stream; an overflow ends the stream with an ``overflow`` event carrying the resume cursor.

Served by the kit's protocol, the response writes through its ``StreamBody``: while the writer is idle
the hub writes each event to the socket itself, and the protocol reports the client leaving, so a
connection needs no task but its own. Elsewhere (the test client) a task watches ``receive()``.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import partial

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from newsflow_gateway.streams.events import StreamEvent, control
from newsflow_gateway.streams.hub import OVERFLOW, Hub, SendQueue
from newsflow_kit.protocol import StreamBody, chunk_frame, stream_body

log = logging.getLogger(__name__)
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: do not buffer the stream
]
FINAL_SEND_TIMEOUT_S = 1.0
HEARTBEAT = b": heartbeat\n\n"
HEARTBEAT_FRAME = chunk_frame(HEARTBEAT)


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        *,
        hub: Hub,
        send_queue: SendQueue,
        release: Callable[[], None],
        first: Sequence[StreamEvent] = (),
        go_live: Callable[[], None] = lambda: None,
        last_id: str | None = None,
    ) -> None:
        self.hub, self.send_queue, self.release = hub, send_queue, release
        self.first, self.go_live, self.last_id = first, go_live, last_id
        self.status_code = 200
        self.background: BackgroundTask | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        send_queue = self.send_queue
        send_queue.writer = asyncio.current_task()
        body = stream_body(scope)
        watcher: asyncio.Task[None] | None = None
        if body is not None:
            body.on_disconnect(partial(send_queue.close, "disconnect"))
        else:
            watcher = asyncio.create_task(_watch_disconnect(receive, send_queue))
        write_now = partial(self._write_now, body) if body is not None else None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            await self._write(send, b"retry: 2000\n\n" + b"".join(e.sse for e in self.first), self.first)
            self.go_live()
            while send_queue.closed is None:
                send_queue.write_now = write_now
                try:
                    items = await send_queue.take()
                finally:
                    send_queue.write_now = None
                chunk = b"".join(event.sse for event, _ in items)
                if send_queue.heartbeat_due:
                    send_queue.heartbeat_due = False
                    chunk = chunk or HEARTBEAT
                if chunk:
                    await self._write(send, chunk, [event for event, _ in items])
        except asyncio.CancelledError:
            if send_queue.closed != OVERFLOW:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            if watcher is not None:
                watcher.cancel()
            self.release()
        await self._finish(send)

    async def _write(self, send: Send, chunk: bytes, events: Sequence[StreamEvent]) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        for event in reversed(events):
            if event.id is not None:
                self.last_id = event.id
                break

    def _write_now(self, body: StreamBody, event: StreamEvent | None) -> bool:
        """Writes one event (None: a heartbeat) from the caller, if the socket takes it at once."""
        if event is None:
            return body.write(HEARTBEAT, HEARTBEAT_FRAME)
        if not body.write(event.sse, event.frame):
            return False
        if event.id is not None:
            self.last_id = event.id
        return True

    async def _finish(self, send: Send) -> None:
        """Ends the stream; after an overflow, first tells the client where to resume."""
        if self.send_queue.closed == "disconnect":
            return
        body = b""
        if self.send_queue.closed == OVERFLOW:
            log.info("stream subscriber cut off (queue full), resume from %s", self.last_id)
            body = control(
                "overflow", detail="you fell too far behind; reconnect to resume", resume_from=self.last_id
            ).sse
        with suppress(TimeoutError, OSError):
            async with asyncio.timeout(FINAL_SEND_TIMEOUT_S):
                await send({"type": "http.response.body", "body": body, "more_body": False})


async def _watch_disconnect(receive: Receive, send_queue: SendQueue) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            send_queue.close("disconnect")
            return
