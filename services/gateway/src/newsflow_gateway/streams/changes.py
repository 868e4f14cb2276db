"""Live article events in the order of ingest's gap-free change cursor, without a hole.

Kafka partitions keep each article's changes in order, but two articles' changes can arrive in
either order; a client that saw ``seq`` 12 before 11 and resumed with ``Last-Event-ID: 12`` would
never get 11. So each replica hands its hub only the next position: an event from Kafka whose
``seq`` is ``position + 1`` goes straight on, one further ahead waits, and the hole is filled from
ingest's change cursor (``GET /articles?since=<position>``: a gap-free prefix, in ``seq`` order).
The same read runs every ``poll_s`` without a Kafka event, so a Kafka outage delays nothing that
ingest committed. Subscribers therefore see ids that only grow, each position once.

The position starts at ingest's head. Only when ingest cannot be read does order give way: held
events then go out in ``seq`` order rather than wait (logged), and a replica that starts while
ingest is down starts at the first event Kafka brings.
"""

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress

from newsflow_contracts import ArticleData
from newsflow_gateway.backends import Backends, Service
from newsflow_gateway.streams.events import ArticleEvent
from newsflow_gateway.streams.hub import Hub

log = logging.getLogger(__name__)
RETRY_S = 1.0
HELD_MAX = 10_000  # events waiting for a hole to fill before they go out anyway


class ChangeFollower:
    """The replica's position in the change cursor; ``offer`` is the Kafka consumer's callback."""

    def __init__(self, *, backends: Backends, hub: Hub, page: int, poll_s: float) -> None:
        self.backends, self.hub, self.page, self.poll_s = backends, hub, page, poll_s
        self.position: int | None = None
        self._held: dict[int, ArticleEvent] = {}
        self._wake = asyncio.Event()

    def offer(self, events: Sequence[ArticleEvent]) -> None:
        """Live events from Kafka: the next positions go on at once, the others wait for the hole to fill."""
        for event in events:
            if self.position is None or event.seq > self.position:
                self._held[event.seq] = event
        self._release()
        if self._held:
            if len(self._held) > HELD_MAX:
                self._flush_held("too many events waiting for a hole")
            self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                if self.position is None:
                    await self._start()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
                self._wake.clear()
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # ingest unavailable: order gives way rather than hold events back
                if self._held:
                    self._flush_held(f"ingest's change cursor unreadable ({exc})")
                else:
                    log.warning("stream changes: cannot read ingest's change cursor: %s", exc)
                await asyncio.sleep(RETRY_S)

    async def catch_up(self) -> None:
        """Hands the hub every change committed after the position, in order, then what Kafka brought on."""
        while self.position is not None:
            params = {"since": str(self.position), "limit": self.page}
            page = await self.backends.call(Service.INGEST, "GET", "/articles", params=params)
            events = [ArticleEvent.replayed(ArticleData.model_validate(raw)) for raw in page.get("items") or []]
            cursor = max(self.position, int(page.get("cursor") or self.position))
            if events:
                self.hub.submit(events)
            self.position = cursor
            for seq in [seq for seq in self._held if seq <= cursor]:
                del self._held[seq]
            self._release()
            if not page.get("next_cursor"):
                return

    async def _start(self) -> None:
        try:
            head = await self.backends.call(Service.INGEST, "GET", "/articles/changes/head")
        except Exception:
            if not self._held:
                raise
            self.position = min(self._held) - 1
            log.warning("stream changes: ingest unreadable at start; following Kafka from seq %d", self.position)
        else:
            self.position = int(head["seq"])
            self.hub.recent.start_at(self.position)
            log.info("stream changes followed from seq %d", self.position)
        for seq in [seq for seq in self._held if seq <= self.position]:
            del self._held[seq]
        self._release()

    def _release(self) -> None:
        if self.position is None:
            return
        out: list[ArticleEvent] = []
        while (event := self._held.pop(self.position + 1, None)) is not None:
            out.append(event)
            self.position = event.seq
        if out:
            self.hub.submit(out)

    def _flush_held(self, why: str) -> None:
        events = [self._held[seq] for seq in sorted(self._held)]
        self._held.clear()
        log.warning("stream changes: %s; %d events go out in seq order past a hole", why, len(events))
        self.hub.submit(events)
        self.position = max(self.position or 0, events[-1].seq)
