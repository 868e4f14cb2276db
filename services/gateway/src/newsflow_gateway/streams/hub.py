"""Fan-out of live events to this replica's subscribers, through bounded per-connection send queues.

    Kafka thread ──call_soon_threadsafe──► Hub.publish_* ──match filter──► Subscription ──► SendQueue ──► socket

Subscribers with equal filters share one match per event. While a connection's writer is idle, an
event is written straight to its socket from here (``SendQueue.write_now``): fanning one article out
to thousands of subscribers then costs a socket write each, not a task wake-up each. Otherwise it
queues. A send_queue that fills up (a client that does not read) is closed with reason ``overflow``
and its writer is cancelled, even when it is stuck in a send: memory per subscriber stays bounded,
and the client is told where to resume.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from newsflow_gateway.metrics import STREAM_CONNECTIONS, STREAM_CUT_OFF
from newsflow_gateway.streams.events import ArticleEvent, CommentEvent, StreamEvent
from newsflow_gateway.streams.filters import ArticleFilter
from newsflow_gateway.streams.recent import RecentChanges

log = logging.getLogger(__name__)

Item = tuple[StreamEvent, str]  # the event and the subscription tag (WebSocket) it is for
OVERFLOW = "overflow"
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
RECENT_SEQS = 10_000


class SendQueue:
    """One connection's bounded queue of events to write."""

    __slots__ = ("_capacity", "_items", "_wake", "closed", "heartbeat_due", "write_now", "writer")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: deque[Item] = deque()
        self._wake = asyncio.Event()
        self.closed: str | None = None
        self.heartbeat_due = False
        self.writer: asyncio.Task[object] | None = None
        # Set by a writer while it waits idle, if it can write without awaiting: takes an event (None:
        # a heartbeat) and answers whether it was written. Unset, everything goes through the queue.
        self.write_now: Callable[[StreamEvent | None], bool] | None = None

    @property
    def capacity(self) -> int:
        return self._capacity

    def offer(self, item: Item, *, force: bool = False) -> None:
        """Queues ``item``; ``force`` (replies, a bounded replay) passes the cap."""
        if self.closed is not None:
            return
        if not self._items and self.write_now is not None and self.write_now(item[0]):
            return
        if len(self._items) >= self._capacity and not force:
            self.close(OVERFLOW)
            return
        self._items.append(item)
        self._wake.set()

    def ping(self) -> None:
        if self.closed is None and self.write_now is not None and self.write_now(None):
            return
        self.heartbeat_due = True
        self._wake.set()

    def close(self, reason: str) -> None:
        """Stops the connection; on overflow the writer is cancelled wherever it waits."""
        if self.closed is not None:
            return
        self.closed = reason
        self._items.clear()
        self._wake.set()
        if reason == OVERFLOW:
            STREAM_CUT_OFF.inc()
            if self.writer is not None and self.writer is not asyncio.current_task():
                self.writer.cancel()

    async def take(self) -> list[Item]:
        """Waits for events (or a heartbeat, or closing) and returns what is queued."""
        await self._wake.wait()
        self._wake.clear()
        items = list(self._items)
        self._items.clear()
        return items


class ArticleSubscription:
    """A filter feeding an send_queue; while ``pending`` is a list, live events wait there (resume)."""

    __slots__ = ("after", "filter", "send_queue", "pending", "seen", "tag")

    def __init__(self, flt: ArticleFilter, send_queue: SendQueue, tag: str = "", *, after: int | None = None) -> None:
        self.filter, self.send_queue, self.tag, self.after = flt, send_queue, tag, after
        self.seen: set[int] = set()
        self.pending: list[ArticleEvent] | None = [] if after is not None else None

    def deliver(self, event: ArticleEvent) -> None:
        if (self.after is not None and event.seq <= self.after) or event.seq in self.seen:
            return  # the client has it already (before its cursor, or replayed)
        if self.pending is None:
            self.send_queue.offer((event, self.tag))
        elif len(self.pending) < self.send_queue.capacity:
            self.pending.append(event)
        else:
            self.send_queue.close(OVERFLOW)

    def go_live(self) -> None:
        """After the replay: hands over the live events that came meanwhile, minus those replayed."""
        pending, self.pending = self.pending or [], None
        for event in pending:
            self.deliver(event)


class CommentSubscription:
    __slots__ = ("article_id", "send_queue", "tag")

    def __init__(self, article_id: str, send_queue: SendQueue, tag: str = "") -> None:
        self.article_id, self.send_queue, self.tag = article_id, send_queue, tag


class Hub:
    """This replica's subscribers, indexed by filter (articles) and by article id (comments)."""

    def __init__(self, *, queue_size: int, recent: int = 2000) -> None:
        self.queue_size = queue_size
        self.recent = RecentChanges(recent)  # what a resuming subscriber missed, while it is recent
        self._send_queues: set[SendQueue] = set()
        self._articles: dict[ArticleFilter, set[ArticleSubscription]] = {}
        self._comments: dict[str, set[CommentSubscription]] = {}
        # Kafka delivers at least once: a change re-sent by the relay is fanned out only once.
        self._recent: set[int] = set()
        self._recent_order: deque[int] = deque()
        self._inbox: deque[list[ArticleEvent] | list[CommentEvent]] = deque()
        self._inbox_ready = asyncio.Event()
        STREAM_CONNECTIONS.set_function(lambda: len(self._send_queues))

    @property
    def connections(self) -> int:
        return len(self._send_queues)

    def open(self) -> SendQueue:
        send_queue = SendQueue(self.queue_size)
        self._send_queues.add(send_queue)
        return send_queue

    def release(
        self, send_queue: SendQueue, subscriptions: Iterable[ArticleSubscription | CommentSubscription]
    ) -> None:
        for sub in subscriptions:
            self.remove(sub)
        self._send_queues.discard(send_queue)

    def add(self, sub: ArticleSubscription | CommentSubscription) -> None:
        if isinstance(sub, ArticleSubscription):
            self._articles.setdefault(sub.filter, set()).add(sub)
        else:
            self._comments.setdefault(sub.article_id, set()).add(sub)

    def remove(self, sub: ArticleSubscription | CommentSubscription) -> None:
        if isinstance(sub, ArticleSubscription):
            _discard(self._articles, sub.filter, sub)
        else:
            _discard(self._comments, sub.article_id, sub)

    def submit(self, events: list[ArticleEvent] | list[CommentEvent]) -> None:
        """Takes a batch from the Kafka thread (through ``call_soon_threadsafe``) for :meth:`run`."""
        self._inbox.append(events)
        self._inbox_ready.set()

    async def run(self) -> None:
        """Fans out submitted batches a slice at a time, letting writers flush between slices.

        A burst larger than the queues (a Kafka batch of hundreds) must not overflow subscribers that
        keep up: they get to write after every ``queue_size // 4`` events.
        """
        step = max(1, self.queue_size // 4)
        while True:
            await self._inbox_ready.wait()
            self._inbox_ready.clear()
            while self._inbox:
                batch = self._inbox.popleft()
                for start in range(0, len(batch), step):
                    chunk = batch[start : start + step]
                    if isinstance(chunk[0], ArticleEvent):
                        self.publish_articles(chunk)
                    else:
                        self.publish_comments(chunk)
                    await asyncio.sleep(0)

    def publish_articles(self, events: list[ArticleEvent]) -> None:
        """Delivers article events to every matching subscription."""
        for event in events:
            if not self._first_time(event.seq):
                continue
            self.recent.add(event)
            for flt, subs in list(self._articles.items()):
                if flt.matches(event.article, event.text):
                    for sub in list(subs):
                        sub.deliver(event)

    def _first_time(self, seq: int) -> bool:
        if seq in self._recent:
            return False
        self._recent.add(seq)
        self._recent_order.append(seq)
        if len(self._recent_order) > RECENT_SEQS:
            self._recent.discard(self._recent_order.popleft())
        return True

    def publish_comments(self, events: list[CommentEvent]) -> None:
        for event in events:
            for sub in list(self._comments.get(event.article_id, ())):
                sub.send_queue.offer((event, sub.tag))

    async def heartbeat(self, every: float) -> None:
        """Wakes every connection each ``every`` seconds so it writes a keep-alive."""
        while True:
            await asyncio.sleep(every)
            for send_queue in list(self._send_queues):
                send_queue.ping()


def _discard(index: dict[K, set[V]], key: K, value: V) -> None:
    subs = index.get(key)
    if subs is not None:
        subs.discard(value)
        if not subs:
            del index[key]
