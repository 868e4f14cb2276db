"""``story.updated`` events: the index service's story changes, polled while someone listens.

Stories are written by the index service's embedder (docs/ai.md), not carried by a Kafka topic, so
this replica reads ``GET /stories/updates?after=`` every ``stories_poll_s`` seconds while it has at
least one subscriber (none: no request at all). Each read starts :data:`OVERLAP_S` before the last
change seen, so a story written just before a read with an earlier timestamp is not missed; events
already sent (same id and ``updated_at``) are not sent again. An event is the story's whole summary
(a snapshot): there is no resume cursor; a client that reconnects refetches ``GET /v1/stories``.
"""

import asyncio
import logging
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from newsflow_gateway.backends import Backends, Service
from newsflow_gateway.streams.events import StreamEvent
from newsflow_gateway.streams.hub import SendQueue
from newsflow_kit.errors import NewsflowError

log = logging.getLogger(__name__)
EVENT = "story.updated"
OVERLAP_S = 5.0
RECENT = 10_000


class StoryFollower:
    """This replica's story subscribers and the poll that feeds them."""

    def __init__(self, *, backends: Backends, poll_s: float) -> None:
        self.backends, self.poll_s = backends, poll_s
        self.subscribers: set[SendQueue] = set()
        self._after: datetime | None = None
        self._sent: set[tuple[str, str]] = set()
        self._order: deque[tuple[str, str]] = deque()
        self._wake = asyncio.Event()

    def add(self, send_queue: SendQueue) -> None:
        if not self.subscribers and self._after is None:
            self._after = datetime.now(UTC)  # the first listener starts at now, not at the beginning
        self.subscribers.add(send_queue)
        self._wake.set()

    def remove(self, send_queue: SendQueue) -> None:
        self.subscribers.discard(send_queue)
        if not self.subscribers:
            self._after = None

    async def run(self) -> None:
        while True:
            if not self.subscribers:
                await self._wake.wait()
                self._wake.clear()
                continue
            try:
                await self.poll()
            except NewsflowError as exc:
                log.warning("story stream cannot read the index service: %s", exc)
            await asyncio.sleep(self.poll_s)

    async def poll(self) -> None:
        """Reads the changes since the last one seen (minus the overlap) and fans them out."""
        while self.subscribers and self._after is not None:
            after = (self._after - timedelta(seconds=OVERLAP_S)).isoformat()
            page: dict[str, Any] = await self.backends.call(
                Service.INDEX, "GET", "/stories/updates", params={"after": after}
            )
            items = page.get("items", [])
            for story in items:
                self._deliver(story)
            newest = datetime.fromisoformat(page["next_after"])
            if self._after is not None and newest > self._after:
                self._after = newest
            if len(items) < 100 or newest <= datetime.fromisoformat(after):
                return

    def _deliver(self, story: dict[str, Any]) -> None:
        key = (str(story["id"]), str(story["updated_at"]))
        if key in self._sent:
            return
        self._sent.add(key)
        self._order.append(key)
        if len(self._order) > RECENT:
            self._sent.discard(self._order.popleft())
        event = StreamEvent(EVENT, story)
        for send_queue in list(self.subscribers):
            send_queue.offer((event, ""))
