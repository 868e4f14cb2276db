"""Exactly one event per accepted change, without a dual-write hole.

    change ──► comment document: fields + version+1 + outbox.v<version> = the event   (one atomic write)
       └──► fast path (background task): publish, then drop outbox.v<version>; bus=sent when empty
    sweep (every outbox_sweep_s): re-publish what stayed pending longer than outbox_grace_s (crash, broker down)

``event_id`` is derived from (comment id, version), so a re-send carries the same id and consumers
dedupe on it.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from newsflow_comments.repository import Doc, Store
from newsflow_contracts import CommentData, EventType, new_event
from newsflow_kit.context import traceparent_var
from newsflow_kit.kafka import AsyncPublisher

log = logging.getLogger(__name__)

PRODUCER = "comments.api"
_NAMESPACE = uuid.UUID("6f1c8a62-6a4e-4d43-9a53-2b3c1f0f7c11")


def event_id(comment_id: str, version: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{comment_id}:{version}")


def comment_data(doc: Doc) -> CommentData:
    return CommentData(
        id=doc["_id"],
        article_id=doc["article_id"],
        parent_id=doc.get("parent_id"),
        depth=doc["depth"],
        author_name=doc["author_name"],
        body=doc["body"],
        status=doc["status"],
        version=doc["version"],
        score=doc.get("score", 0),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def entry(event_type: EventType, doc: Doc) -> Doc:
    """The outbox entry of ``doc``'s current version (``doc`` already holds the new state)."""
    return {
        "event_id": str(event_id(doc["_id"], doc["version"])),
        "event_type": event_type.value,
        "version": doc["version"],
        "occurred_at": doc["updated_at"],
        "trace": traceparent_var.get(),
        "data": comment_data(doc).model_dump(mode="json"),
    }


class Outbox:
    """Publishes queued events: right after each write, and by a periodic sweep."""

    def __init__(
        self, store: Store, publisher: AsyncPublisher, *, topic: str, grace_s: float, now: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.topic = topic
        self.grace = timedelta(seconds=grace_s)
        self.now = now
        self._tasks: set[asyncio.Task[bool]] = set()

    def dispatch(self, doc: Doc) -> None:
        """Publishes the event queued by the write that returned ``doc``, without delaying the answer."""
        pending = doc["outbox"][f"v{doc['version']}"]
        last = len(doc["outbox"]) == 1
        task = asyncio.create_task(self._send(doc["_id"], doc["article_id"], pending, last=last))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, comment_id: str, article_id: str, pending: Doc, *, last: bool = False) -> bool:
        try:
            event = new_event(
                EventType(pending["event_type"]),
                CommentData.model_validate(pending["data"]),
                producer=PRODUCER,
                event_id=uuid.UUID(pending["event_id"]),
                occurred_at=pending["occurred_at"],
                trace=pending.get("trace"),
            )
            await self.publisher.publish(self.topic, article_id, event)
            await self.store.sent(comment_id, int(pending["version"]), last=last)
            return True
        except Exception as exc:  # the sweep retries; the request already succeeded
            log.warning("event of comment %s v%s left pending: %s", comment_id, pending["version"], exc)
            return False

    async def sweep(self, limit: int = 500) -> int:
        """Re-publishes events older than the grace period, in version order; returns how many."""
        sent = 0
        async for doc in self.store.pending_events(self.now() - self.grace, limit):
            queued: dict[str, Any] = doc.get("outbox") or {}
            for pending in sorted(queued.values(), key=lambda e: int(e["version"])):
                if not await self._send(doc["_id"], doc["article_id"], pending):
                    break  # keep the order: later versions wait for this one
                sent += 1
            if not queued:
                await self.store.sent(doc["_id"], 0, last=False)
        if sent:
            log.info("outbox sweep re-published %d events", sent)
        return sent

    async def drain(self) -> None:
        """Waits for fast-path sends in flight (shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
