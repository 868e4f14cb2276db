"""The replica's most recent article changes, kept in memory so a resuming subscriber rarely reads the store.

Every change the hub fans out passes here in ``seq`` order (the change follower hands the hub a
gap-free run). While that run is unbroken the buffer knows exactly which changes came after any
cursor from its ``floor`` on, so a client reconnecting with ``Last-Event-ID`` a few seconds later is
answered from memory. A cursor older than the floor, or a run broken because ingest could not be read,
falls back to reading ingest's change cursor (``replay.missed_since``).
"""

from collections import deque
from dataclasses import dataclass

from newsflow_gateway.streams.events import ArticleEvent
from newsflow_gateway.streams.filters import ArticleFilter


@dataclass
class Missed:
    events: list[ArticleEvent]
    complete: bool  # False: the gap is larger than the replay bound; the client must refetch


class RecentChanges:
    """A ring of the last ``capacity`` changes covering the ``seq`` range ``(floor, head]`` without a hole."""

    __slots__ = ("_events", "capacity", "floor", "head")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._events: deque[ArticleEvent] = deque()
        self.floor: int | None = None  # None: nothing known yet, every resume reads the store
        self.head: int | None = None

    def start_at(self, seq: int) -> None:
        """The follower's first position: changes after ``seq`` will all pass through here."""
        self._events.clear()
        self.floor = self.head = seq

    def add(self, event: ArticleEvent) -> None:
        if self.capacity == 0:
            return
        if self.head is None or event.seq != self.head + 1:
            self.start_at(event.seq - 1)  # a broken run: only what follows is known whole
        self._events.append(event)
        self.head = event.seq
        if len(self._events) > self.capacity:
            self.floor = self._events.popleft().seq

    def since(self, flt: ArticleFilter, cursor: int, limit: int) -> Missed | None:
        """The changes after ``cursor`` matching ``flt``, or None when the buffer does not reach back that far.

        A ring of capacity 0 keeps nothing and answers nothing, not even a client already at the head.
        """
        if self.capacity == 0 or self.floor is None or self.head is None or cursor < self.floor:
            return None
        events: list[ArticleEvent] = []
        for event in reversed(self._events):  # newest first: a resume usually missed only the tail
            if event.seq <= cursor:
                break
            if flt.matches(event.article, event.text):
                events.append(event)
        events.reverse()
        if len(events) > limit:
            return Missed(events[:limit], complete=False)
        return Missed(events, complete=True)
