"""``/v1/ws``: one WebSocket, many article subscriptions, each with the stream's filters.

Client → server::

    {"type": "subscribe", "id": "s1", "filter": {"source": "...", "tag": "...", "lang": "en", "q": "..."},
     "since": "1234"}                    # since: optional, the last event id seen (resume)
    {"type": "unsubscribe", "id": "s1"}

Server → client: ``{"type": "subscribed"|"unsubscribed", "subscription": id}``, events
``{"type": "event", "subscription": id, "event": "article.published", "id": "<seq>", "data": {...}}``,
``{"type": "reset", ...}`` (gap too large: refetch), ``{"type": "error", "detail": ...}`` and a final
``{"type": "overflow", "resume_from": {subscription: id}}`` before the server closes a slow client.
"""

import asyncio
import json
import logging
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, ValidationError

from newsflow_contracts import SEARCH_QUERY_MAX_CHARS
from newsflow_gateway.deps import Gateway, caller
from newsflow_gateway.streams.events import Reply
from newsflow_gateway.streams.filters import ArticleFilter
from newsflow_gateway.streams.hub import OVERFLOW, ArticleSubscription, SendQueue
from newsflow_gateway.streams.replay import missed_since
from newsflow_kit.errors import NewsflowError

log = logging.getLogger(__name__)
router = APIRouter(tags=["streams"])
MAX_SUBSCRIPTIONS = 20
TRY_AGAIN_LATER = 1013
POLICY_VIOLATION = 1008


class WsFilter(BaseModel):
    source: str | None = Field(default=None, max_length=100)
    tag: str | None = Field(default=None, max_length=100)
    lang: str | None = Field(default=None, max_length=100)
    q: str | None = Field(default=None, max_length=SEARCH_QUERY_MAX_CHARS)


class WsCommand(BaseModel):
    type: str = Field(pattern="^(subscribe|unsubscribe)$")
    id: str = Field(min_length=1, max_length=64)
    filter: WsFilter = WsFilter()
    since: str | None = Field(default=None, pattern=r"^[0-9]{1,19}$")


@router.websocket("/v1/ws")
async def websocket_stream(websocket: WebSocket) -> None:
    """Subscribe and unsubscribe to filtered article streams over one connection."""
    gw: Gateway = websocket.app.state.gateway
    try:
        await caller(websocket, gw)
    except NewsflowError as exc:
        await websocket.close(code=POLICY_VIOLATION, reason=exc.detail[:120])
        return
    await websocket.accept()
    session = _Session(websocket, gw)
    try:
        await session.run()
    finally:
        gw.hub.release(session.send_queue, session.subscriptions.values())


class _Session:
    def __init__(self, websocket: WebSocket, gw: Gateway) -> None:
        self.websocket, self.gw = websocket, gw
        self.send_queue: SendQueue = gw.hub.open()
        self.subscriptions: dict[str, ArticleSubscription] = {}
        self.last_ids: dict[str, str | None] = {}

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        self.send_queue.writer = writer
        reader = asyncio.create_task(self._read())
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.websocket.receive_text()
            except WebSocketDisconnect:
                self.send_queue.close("disconnect")
                return
            try:
                command = WsCommand.model_validate(json.loads(raw))
            except (ValueError, ValidationError) as exc:
                self._reply({"type": "error", "detail": f"invalid message: {str(exc)[:200]}"})
                continue
            if command.type == "subscribe":
                await self._subscribe(command)
            else:
                self._unsubscribe(command.id)

    async def _subscribe(self, command: WsCommand) -> None:
        if command.id in self.subscriptions or len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            self._reply(
                {"type": "error", "subscription": command.id, "detail": "duplicate id or too many subscriptions"}
            )
            return
        flt = ArticleFilter(**command.filter.model_dump())
        since = int(command.since) if command.since is not None else None
        sub = ArticleSubscription(flt, self.send_queue, command.id, after=since)
        self.gw.hub.add(sub)
        self.subscriptions[command.id] = sub
        self._reply({"type": "subscribed", "subscription": command.id})
        if since is None:
            return
        try:
            missed = await missed_since(
                hub=self.gw.hub, backends=self.gw.backends, flt=flt, since=since, settings=self.gw.settings.streams
            )
        except NewsflowError as exc:
            self._unsubscribe(command.id, reply=False)
            self._reply({"type": "error", "subscription": command.id, "detail": exc.detail})
            return
        for event in missed.events:
            sub.seen.add(event.seq)
            self.send_queue.offer((event, command.id), force=True)
        if not missed.complete:
            self._reply({"type": "reset", "subscription": command.id, "detail": "too many missed events: refetch"})
        sub.go_live()

    def _unsubscribe(self, sub_id: str, *, reply: bool = True) -> None:
        sub = self.subscriptions.pop(sub_id, None)
        if sub is not None:
            self.gw.hub.remove(sub)
        if reply:
            self._reply({"type": "unsubscribed", "subscription": sub_id})

    def _reply(self, message: dict[str, Any]) -> None:
        self.send_queue.offer((Reply(message), ""), force=True)

    async def _write(self) -> None:
        try:
            while self.send_queue.closed is None:
                self.send_queue.heartbeat_due = False  # WebSocket pings (uvicorn) keep the line alive
                for event, tag in await self.send_queue.take():
                    await self.websocket.send_text(event.ws(tag))
                    if event.id is not None:
                        self.last_ids[tag] = event.id
        except asyncio.CancelledError:
            if self.send_queue.closed != OVERFLOW:
                raise
            if (task := asyncio.current_task()) is not None:
                task.uncancel()
        if self.send_queue.closed == OVERFLOW:
            message = json.dumps({"type": "overflow", "detail": "too far behind; resume", "resume_from": self.last_ids})
            with suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self.websocket.send_text(message)
                    await self.websocket.close(code=TRY_AGAIN_LATER, reason="too far behind")
