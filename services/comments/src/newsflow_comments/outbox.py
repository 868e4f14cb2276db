"""Exactly one event per accepted change, published by the worker role, never by the API.

    post    ──► the comment document carries its comment.posted event (``posted``)       one insert
    change  ──► the revision record <comment>:<version> carries the event of that change  one insert
    worker  ──► scans both by time (from 1 s before its saved position, plus the next slice of the
                ``outbox_margin_s`` before that, for writes that committed late: checkpoint.py), skips
                events with a ``published`` marker, publishes the rest in version order per comment,
                then inserts their markers

Passes read again before their position, so most events a pass reads went out in an earlier one: the
relay remembers the ids it published or found published (for as long as a scan can return them), and
asks the store only about the others written before it started (a later one it has not published,
no one has: one worker runs). Without that memory a pass cost one marker lookup per event read (on
FerretDB, one command each: about 1,000 a pass at 50 comments/s, which saturated the store;
docs/benchmarks.md). The markers stay the truth: a restarted relay looks up what it reads.

``event_id`` is derived from (comment id, version), so a re-send (a crash between publishing and the
marker) carries the same id and consumers dedupe on it. A revision whose writer died before writing
the comment is rolled forward here once it is older than ``outbox_grace_s``: its record holds the
fields, and no one else can write that comment meanwhile (they all collide on the same version).
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsflow_comments.checkpoint import Checkpoint
from newsflow_comments.records import QueuedEvent, StoredComment
from newsflow_comments.store import Store
from newsflow_contracts import CommentData, Envelope, EventType, new_event
from newsflow_kit.context import traceparent_var
from newsflow_kit.kafka import AsyncPublisher

log = logging.getLogger(__name__)

PRODUCER = "comments.worker"
BATCH = 1000
_NAMESPACE = uuid.UUID("6f1c8a62-6a4e-4d43-9a53-2b3c1f0f7c11")


def event_id(comment_id: str, version: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{comment_id}:{version}")


def entry(event_type: EventType, comment: StoredComment) -> QueuedEvent:
    """The queued event of the comment's current version (``comment`` already holds the new state)."""
    return QueuedEvent(
        event_id=str(event_id(comment.id, comment.version)),
        event_type=event_type,
        version=comment.version,
        occurred_at=comment.updated_at,
        trace=traceparent_var.get(),
        data=comment.data(),
    )


@dataclass(frozen=True)
class Queued:
    at: datetime
    entry: QueuedEvent

    @property
    def comment_id(self) -> str:
        return self.entry.data.id

    @property
    def article_id(self) -> str:
        return self.entry.data.article_id

    @property
    def event_id(self) -> str:
        return self.entry.event_id

    @property
    def version(self) -> int:
        return self.entry.version


class Relay:
    """One pass publishes what is queued and not yet published; the worker calls it in a loop."""

    POSITION = "relay"

    def __init__(
        self,
        store: Store,
        publisher: AsyncPublisher,
        *,
        topic: str,
        grace_s: float,
        margin_s: float,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.topic = topic
        self.grace = timedelta(seconds=grace_s)
        self.checkpoint = Checkpoint(store, self.POSITION, margin_s=margin_s)
        self.now = now
        self._published: dict[str, datetime] = {}  # event id → when its record was written (see above)
        self._started = now()  # an event written since, this relay would have published (see above)
        self.behind = False  # the last pass read a full batch: more is waiting

    async def run_once(self) -> int:
        """Publishes one batch; returns how many events went out."""
        now = self.now()
        since, scan = await self.checkpoint.start()
        posted = await self.store.posted_since(since, BATCH, now=now, scan=scan)
        revisions = await self.store.revisions_since(since, BATCH, now=now, scan=scan)
        keep: list[datetime] = [now]  # the next position: not beyond anything left unresolved
        self.behind = len(posted) >= BATCH or len(revisions) >= BATCH
        if len(posted) >= BATCH:
            keep.append(posted[-1][0])
        if len(revisions) >= BATCH:
            keep.append(revisions[-1].at)
        if (older := self.checkpoint.older) is not None:  # this pass's slice of the margin (checkpoint.py)
            start, until = older
            posted += await self.store.posted_since(start, BATCH, now=now, until=until)
            revisions += await self.store.revisions_since(start, BATCH, now=now, until=until)
        queued = [Queued(at, event) for at, event in posted if event is not None]
        versions = await self.store.versions(r.comment_id for r in revisions)
        for revision in revisions:
            current = versions.get(revision.comment_id, 0)
            if current < revision.version:
                if current == revision.version - 1 and revision.at < now - self.grace:
                    log.warning("rolling forward %s (its writer did not finish)", revision.id)
                    await self.store.apply_revision(revision)
                else:
                    keep.append(revision.at)
                    continue
            if revision.event is not None:
                queued.append(Queued(revision.at, revision.event))
        done = await self._published_of(queued)
        chains: dict[str, list[Queued]] = {}
        for q in sorted(queued, key=lambda q: (q.comment_id, q.version)):
            if q.event_id not in done:
                chains.setdefault(q.comment_id, []).append(q)
        results = await asyncio.gather(*(self._publish_chain(chain) for chain in chains.values()))
        sent = [q.event_id for chain in results for q in chain]
        await self.store.mark_published(sent, now)
        self._published.update((q.event_id, q.at) for chain in results for q in chain)
        for chain, published in zip(chains.values(), results, strict=True):
            if len(published) < len(chain):
                keep.append(chain[len(published)].at)
        await self.checkpoint.save(min(keep))
        if sent:
            log.info("published %d comment events", len(sent))
        return len(sent)

    async def _published_of(self, queued: list[Queued]) -> set[str]:
        """The queued events already published: remembered, or else looked up in the store."""
        oldest = self.checkpoint.oldest  # what no scan returns any more is forgotten
        self._published = {e: at for e, at in self._published.items() if at >= oldest}
        unknown = [q for q in queued if q.event_id not in self._published and q.at < self._started]
        found = await self.store.published_of([q.event_id for q in unknown])
        self._published.update((q.event_id, q.at) for q in unknown if q.event_id in found)
        return {q.event_id for q in queued if q.event_id in self._published}

    async def _publish_chain(self, chain: list[Queued]) -> list[Queued]:
        """One comment's events in version order; stops at the first failure (the next pass retries)."""
        published = []
        for q in chain:
            try:
                await self.publisher.publish(self.topic, q.article_id, _event(q.entry))
            except Exception as exc:  # broker down: the next pass retries from here
                log.warning("event %s of comment %s left pending: %s", q.version, q.comment_id, exc)
                break
            published.append(q)
        return published


def _event(queued: QueuedEvent) -> Envelope[CommentData]:
    return new_event(
        queued.event_type,
        queued.data,
        producer=PRODUCER,
        event_id=uuid.UUID(queued.event_id),
        occurred_at=queued.occurred_at,
        trace=queued.trace,
    )
