"""``newsflow-comments worker``: the comments service's single background writer.

Every ``outbox_sweep_s`` it publishes queued events (:class:`~newsflow_comments.outbox.Relay`),
folds changed votes into scores (:class:`~newsflow_comments.scores.ScoreFolder`) and drops expired
claims, rate-limit hits and old history. Run one: a second would publish duplicates (harmless:
consumers dedupe on the event id) and compete for the same comments for nothing.
"""

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from newsflow_comments.context import utcnow
from newsflow_comments.outbox import Relay
from newsflow_comments.repository import Store
from newsflow_comments.scores import ScoreFolder
from newsflow_comments.settings import Settings
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.mongo import async_mongo

log = logging.getLogger(__name__)
HISTORY = timedelta(days=1)


class Worker:
    def __init__(self, store: Store, relay: Relay, folder: ScoreFolder, *, period_s: float) -> None:
        self.store, self.relay, self.folder, self.period_s = store, relay, folder, period_s

    async def run_once(self) -> None:
        await self.relay.run_once()
        await self.folder.run_once()
        now = utcnow()
        await self.store.clean_expired(now, now - HISTORY)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # a broker or database outage: keep going, the next pass retries
                log.exception("comments worker pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.period_s)


async def _main(settings: Settings) -> None:
    config = settings.comments
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    mongo = async_mongo(settings.mongo)
    publisher = AsyncPublisher(settings.kafka, client_id="comments-worker")
    try:
        store = Store(mongo, settings.database)
        await store.ensure_indexes()
        relay = Relay(
            store,
            publisher,
            topic=settings.kafka.comments_topic,
            grace_s=config.outbox_grace_s,
            margin_s=config.outbox_margin_s,
            now=utcnow,
        )
        folder = ScoreFolder(store, margin_s=config.outbox_margin_s, now=utcnow)
        log.info("comments worker: every %.1fs", config.outbox_sweep_s)
        await Worker(store, relay, folder, period_s=config.outbox_sweep_s).run(stop)
    finally:
        await publisher.close()
        await mongo.close()


def run(settings: Settings) -> None:
    """Runs until SIGTERM/SIGINT; the pass in hand finishes first."""
    asyncio.run(_main(settings))
