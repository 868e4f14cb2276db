"""``newsflow-ingest relay``: publishes article changes that stayed ``pending`` and marks them sent.

The api publishes right after its write (fast path); the relay sweeps what that missed — a crash
between the write and the flip, a broker outage. It re-sends the same version with the same
``event_id``, so a duplicate is harmless to the idempotent consumers. The role's loop is the kit's
:func:`~newsflow_kit.outbox.relay_forever` (as the comments worker's relay).
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from newsflow_ingest.events import envelope
from newsflow_ingest.metrics import RELAYED
from newsflow_ingest.store import ArticlesRepo
from newsflow_kit.kafka import AsyncPublisher

log = logging.getLogger(__name__)
BATCH = 500
PRODUCER = "ingest.relay"


def _now() -> datetime:
    return datetime.now(UTC)


class Relay:
    """One pass publishes up to ``BATCH`` pending changes (oldest first) and flips the acknowledged ones."""

    def __init__(
        self,
        articles: ArticlesRepo,
        publisher: AsyncPublisher,
        *,
        topic: str,
        grace_s: float,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.articles = articles
        self.publisher = publisher
        self.topic = topic
        self.grace = timedelta(seconds=grace_s)
        self.now = now

    async def publish_pending(self) -> list[int]:
        """Publishes one batch of pending changes; returns the ``seq`` of those Kafka acknowledged.

        Sends are queued in ``seq`` order on one idempotent producer, so one article's versions keep
        their order on its partition.
        """
        versions = await self.articles.pending(self.now() - self.grace, BATCH)
        sends = [self.publisher.publish(self.topic, v.article_id, envelope(v, producer=PRODUCER)) for v in versions]
        results = await asyncio.gather(*sends, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.warning("relay: %d sends failed (%s); they stay pending", len(failed), failed[0])
        return [
            v.seq
            for v, r in zip(versions, results, strict=True)
            if v.seq is not None and not isinstance(r, BaseException)
        ]

    async def run_once(self) -> int:
        acked = await self.publish_pending()
        await self.articles.mark_sent_many(acked)
        RELAYED.inc(len(acked))
        if acked:
            log.info("relay: published %d pending changes", len(acked))
        return len(acked)
