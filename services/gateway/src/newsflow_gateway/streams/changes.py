"""Live article events in the order of ingest's gap-free change cursor.

Kafka only says *that* something changed: its partitions deliver in per-article order, so two
articles' changes can arrive in either order, and a resuming client whose ``Last-Event-ID`` is the
higher one would miss the lower. Here each Kafka batch (or, at the latest, every ``poll_s``) wakes
one reader per replica that fetches ``GET /articles?since=<position>`` from ingest — a gap-free
prefix in ``seq`` order — and hands those changes to the hub. Every subscriber therefore sees ids
that only grow, and a resume from any id it saw misses nothing.
"""

import asyncio
import logging
from contextlib import suppress

from newsflow_contracts import ArticleData
from newsflow_gateway.backends import Backends, Service
from newsflow_gateway.streams.events import ArticleEvent
from newsflow_gateway.streams.hub import Hub

log = logging.getLogger(__name__)
RETRY_S = 1.0


class ChangeFollower:
    """Follows ingest's change cursor from its head at start; ``wake`` is the Kafka consumer's callback."""

    def __init__(self, *, backends: Backends, hub: Hub, page: int, poll_s: float) -> None:
        self.backends, self.hub, self.page, self.poll_s = backends, hub, page, poll_s
        self.position: int | None = None
        self._wake = asyncio.Event()

    def wake(self, _events: object = None) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                if self.position is None:
                    head = await self.backends.call(Service.INGEST, "GET", "/articles/changes/head")
                    self.position = int(head["seq"])
                    log.info("stream changes followed from seq %d", self.position)
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                self._wake.clear()
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # ingest unavailable: the next round retries from the same position
                log.warning("stream changes: cannot read ingest's cursor: %s", exc)
                await asyncio.sleep(RETRY_S)

    async def catch_up(self) -> None:
        """Reads every committed change after the position and hands them to the hub, in order."""
        while self.position is not None:
            params = {"since": str(self.position), "limit": self.page}
            page = await self.backends.call(Service.INGEST, "GET", "/articles", params=params)
            events = [ArticleEvent.replayed(ArticleData.model_validate(raw)) for raw in page.get("items") or []]
            if events:
                self.hub.submit(events)
            self.position = max(self.position, int(page.get("cursor") or self.position))
            if not page.get("next_cursor"):
                return
